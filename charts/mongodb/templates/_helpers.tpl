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
