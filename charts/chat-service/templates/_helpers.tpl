{{/* Names and labels: the shared definitions of chatbot-lib, under this chart's name. */}}
{{- define "chat-service.name" -}}{{ include "chatbot-lib.name" . }}{{- end }}
{{- define "chat-service.fullname" -}}{{ include "chatbot-lib.fullname" . }}{{- end }}
{{- define "chat-service.labels" -}}{{ include "chatbot-lib.labels" . }}{{- end }}
{{- define "chat-service.selectorLabels" -}}{{ include "chatbot-lib.selectorLabels" . }}{{- end }}

{{- define "chat-service.config" -}}
LLM_SERVICE_URL: {{ tpl .Values.llmServiceUrl . | quote }}
HISTORY_SERVICE_URL: {{ tpl .Values.historyServiceUrl . | quote }}
ALLOWED_ORIGINS: {{ tpl .Values.allowedOrigins . | quote }}
{{- end }}

{{- define "chat-service.generatedSecretKeys" -}}
[AUTH_SECRET, INTERNAL_TOKEN]
{{- end }}

{{- define "chat-service.secretEnv" -}}
{{- $secret := include "chatbot-lib.secretName" . }}
{{ include "chatbot-lib.secretEnvVar" (dict "name" "AUTH_SECRET" "secret" $secret "key" "AUTH_SECRET") }}
{{ include "chatbot-lib.secretEnvVar" (dict "name" "INTERNAL_TOKEN" "secret" $secret "key" "INTERNAL_TOKEN") }}
{{- if .Values.redis.existingSecret }}
{{ include "chatbot-lib.secretEnvVar" (dict "name" "REDIS_URL" "secret" (tpl .Values.redis.existingSecret .) "key" .Values.redis.urlKey) }}
{{- else if or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled }}
{{- fail "chat-service: more than one replica shares rooms through Redis: set redis.existingSecret" }}
{{- end }}
{{- end }}
