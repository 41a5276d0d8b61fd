{{/* Names and labels: the shared definitions of chatbot-lib, under this chart's name. */}}
{{- define "llm-service.name" -}}{{ include "chatbot-lib.name" . }}{{- end }}
{{- define "llm-service.fullname" -}}{{ include "chatbot-lib.fullname" . }}{{- end }}
{{- define "llm-service.labels" -}}{{ include "chatbot-lib.labels" . }}{{- end }}
{{- define "llm-service.selectorLabels" -}}{{ include "chatbot-lib.selectorLabels" . }}{{- end }}

{{- define "llm-service.config" -}}
LLM_BASE_URL: {{ .Values.upstream.baseUrl | quote }}
LLM_MODEL: {{ .Values.upstream.model | quote }}
LLM_MODEL_CACHE_DIR: {{ printf "%s/models" .Values.stateDir | quote }}
{{- end }}

{{- define "llm-service.generatedSecretKeys" -}}
[INTERNAL_TOKEN]
{{- end }}

{{/*
LLM_API_KEY from upstream.existingSecret (default <fullname>-upstream), optional: with no
such Secret and the default base URL the built-in local model answers.
*/}}
{{- define "llm-service.secretEnv" -}}
{{- $secret := include "chatbot-lib.secretName" . }}
{{ include "chatbot-lib.secretEnvVar" (dict "name" "INTERNAL_TOKEN" "secret" $secret "key" "INTERNAL_TOKEN") }}
{{- $upstream := .Values.upstream.existingSecret | default (printf "%s-upstream" (include "chatbot-lib.fullname" .)) }}
{{ include "chatbot-lib.secretEnvVar" (dict "name" "LLM_API_KEY" "secret" (tpl $upstream .) "key" .Values.upstream.apiKeyKey "optional" true) }}
{{- end }}
