{{/* Names and labels: the shared definitions of chatbot-lib, under this chart's name. */}}
{{- define "history-service.name" -}}{{ include "chatbot-lib.name" . }}{{- end }}
{{- define "history-service.fullname" -}}{{ include "chatbot-lib.fullname" . }}{{- end }}
{{- define "history-service.labels" -}}{{ include "chatbot-lib.labels" . }}{{- end }}
{{- define "history-service.selectorLabels" -}}{{ include "chatbot-lib.selectorLabels" . }}{{- end }}

{{- define "history-service.config" -}}
{{- end }}

{{- define "history-service.generatedSecretKeys" -}}
[INTERNAL_TOKEN]
{{- end }}

{{/* MONGODB_URI from mongodb.existingSecret; none = the embedded SQLite store in STATE_DIR. */}}
{{- define "history-service.secretEnv" -}}
{{- $secret := include "chatbot-lib.secretName" . }}
{{ include "chatbot-lib.secretEnvVar" (dict "name" "INTERNAL_TOKEN" "secret" $secret "key" "INTERNAL_TOKEN") }}
{{- if .Values.mongodb.existingSecret }}
{{ include "chatbot-lib.secretEnvVar" (dict "name" "MONGODB_URI" "secret" (tpl .Values.mongodb.existingSecret .) "key" .Values.mongodb.uriKey) }}
{{- end }}
{{- end }}
