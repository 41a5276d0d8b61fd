{{/* Names and labels: the shared definitions of chatbot-lib, under this chart's name. */}}
{{- define "mongodb.name" -}}{{ include "chatbot-lib.name" . }}{{- end }}
{{- define "mongodb.fullname" -}}{{ include "chatbot-lib.fullname" . }}{{- end }}
{{- define "mongodb.labels" -}}{{ include "chatbot-lib.labels" . }}{{- end }}
{{- define "mongodb.selectorLabels" -}}{{ include "chatbot-lib.selectorLabels" . }}{{- end }}

{{- define "mongodb.headless" -}}{{ include "mongodb.fullname" . }}-headless{{- end }}

{{/* The member hosts: <sts>-<i>.<headless>.<ns>.svc:<port>, comma-separated. */}}
{{- define "mongodb.hosts" -}}
{{- $hosts := list }}
{{- range $i := until (int .Values.replicaSet.members) }}
{{- $hosts = append $hosts (printf "%s-%d.%s.%s.svc:%d" (include "mongodb.fullname" $) $i (include "mongodb.headless" $) $.Release.Namespace (int $.Values.service.port)) }}
{{- end }}
{{- join "," $hosts }}
{{- end }}

{{/*
The hosts the application connects to. A replica set: its members (the driver follows the
primary among them). One member: the ClusterIP Service, whose address never changes; a member's
own name would keep resolving to the IP of a replaced pod for as long as DNS caches it (30 s
with CoreDNS's usual `cache 30`), so the store would stay away that long after every restart.
*/}}
{{- define "mongodb.clientHosts" -}}
{{- if .Values.replicaSet.enabled }}
{{- include "mongodb.hosts" . }}
{{- else }}
{{- printf "%s.%s.svc:%d" (include "mongodb.fullname" .) .Release.Namespace (int .Values.service.port) }}
{{- end }}
{{- end }}

{{/*
The keys of the MongoDB Secret (chatbot-lib.persistentSecrets): the root user (the official
image creates it on first start; administration only), the keyfile of a replica set, and the
application's user, readWrite on its database only, whose URI the history service gets.
*/}}
{{- define "mongodb.secretKeys" -}}
{{- $options := ternary (printf "?authSource=admin&replicaSet=%s" .Values.replicaSet.name) "?authSource=admin" .Values.replicaSet.enabled }}
- {key: username, value: root}
- {key: password, random: 32}
- {key: keyfile, random: 256}
- {key: appUsername, value: {{ .Values.appUsername | quote }}}
- {key: appPassword, random: 32}
- key: uri
  format: {{ printf "mongodb://{appUsername}:{appPassword}@%s/%s%s" (include "mongodb.clientHosts" .) .Values.database $options | quote }}
{{- end }}
