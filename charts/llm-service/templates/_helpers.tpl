{{/* Names and labels: the shared definitions of chatbot-lib, under this chart's name. */}}
{{- define "llm-service.name" -}}{{ include "chatbot-lib.name" . }}{{- end }}
{{- define "llm-service.fullname" -}}{{ include "chatbot-lib.fullname" . }}{{- end }}
{{- define "llm-service.labels" -}}{{ include "chatbot-lib.labels" . }}{{- end }}
{{- define "llm-service.selectorLabels" -}}{{ include "chatbot-lib.selectorLabels" . }}{{- end }}

{{- define "llm-service.config" -}}
{{- include "chatbot-lib.httpConfig" . }}
LLM_BASE_URL: {{ .Values.upstream.baseUrl | quote }}
LLM_MODEL: {{ .Values.upstream.model | quote }}
{{- include "chatbot-lib.configEntries" (list (list "LLM_MODELS" .Values.upstream.models)
  (list "LLM_VISION_MODELS" .Values.upstream.visionModels)) }}
LLM_MODEL_CACHE_DIR: {{ printf "%s/models" .Values.stateDir | quote }}
{{- with .Values.upstream }}
{{- include "chatbot-lib.configEntries" (list
  (list "LLM_CONNECT_TIMEOUT" .timeouts.connectSeconds)
  (list "LLM_FIRST_TOKEN_TIMEOUT" .timeouts.firstTokenSeconds)
  (list "LLM_IDLE_TIMEOUT" .timeouts.idleSeconds)
  (list "LLM_MAX_RETRIES" .retries.maxRetries)
  (list "LLM_RETRY_BASE_DELAY" .retries.baseDelaySeconds)
  (list "LLM_RETRY_MAX_DELAY" .retries.maxDelaySeconds)
  (list "LLM_BREAKER_FAILURES" .circuitBreaker.failures)
  (list "LLM_BREAKER_RESET_SECONDS" .circuitBreaker.resetSeconds)
  (list "LLM_UPSTREAM_MAX_CONNECTIONS" .maxConnections)
) }}
{{- end }}
{{- include "chatbot-lib.configEntries" (list
  (list "LLM_CONTEXT_TOKENS" .Values.contextTokens)
  (list "LLM_MAX_TOKENS" .Values.maxTokens)
  (list "LLM_DEFAULT_SYSTEM_PROMPT" .Values.systemPrompt)
  (list "STREAM_READ_INTERVAL_MS" .Values.streamReadIntervalMs)
  (list "LLM_LOCAL_MODEL" .Values.localModel.name)
  (list "LLM_LOCAL_THREADS" .Values.localModel.threads)
) }}
{{- end }}

{{- define "llm-service.generatedSecretKeys" -}}
[CHAT_INTERNAL_TOKEN, UI_INTERNAL_TOKEN]
{{- end }}

{{/*
LLM_API_KEY from upstream.existingSecret (default <fullname>-upstream), optional: with no
such Secret and the default base URL the built-in local model answers.
*/}}
{{- define "llm-service.secretEnv" -}}
{{- $secret := include "chatbot-lib.secretName" . }}
{{ include "chatbot-lib.secretEnvVar" (dict "name" "CHAT_INTERNAL_TOKEN" "secret" $secret "key" "CHAT_INTERNAL_TOKEN") }}
{{ include "chatbot-lib.secretEnvVar" (dict "name" "UI_INTERNAL_TOKEN" "secret" $secret "key" "UI_INTERNAL_TOKEN") }}
{{- $upstream := .Values.upstream.existingSecret | default (printf "%s-upstream" (include "chatbot-lib.fullname" .)) }}
{{ include "chatbot-lib.secretEnvVar" (dict "name" "LLM_API_KEY" "secret" (tpl $upstream .) "key" .Values.upstream.apiKeyKey "optional" true) }}
{{- include "llm-service.fallbacksEnv" . }}
{{- end }}

{{/*
LLM_FALLBACKS as JSON, built from .Values.fallbacks. A fallback's key comes from its Secret
as LLM_FALLBACK_<i>_API_KEY, which Kubernetes substitutes into the JSON ($(VAR) expansion of
env values), so the key never appears in the chart's objects. The key must not contain '"'
or '\' (it is placed in the JSON as is).
*/}}
{{- define "llm-service.fallbacksEnv" -}}
{{- $entries := list }}
{{- range $i, $fallback := .Values.fallbacks }}
{{- if not (and $fallback.baseUrl $fallback.model) }}
{{- fail (printf "llm-service: fallbacks[%d] needs baseUrl and model" $i) }}
{{- end }}
{{- $entry := dict "base_url" $fallback.baseUrl "model" $fallback.model }}
{{- with $fallback.name }}{{ $_ := set $entry "name" . }}{{ end }}
{{- with $fallback.existingSecret }}
{{- $var := printf "LLM_FALLBACK_%d_API_KEY" $i }}
{{ include "chatbot-lib.secretEnvVar" (dict "name" $var "secret" (tpl . $) "key" ($fallback.apiKeyKey | default "LLM_API_KEY")) }}
{{- $_ := set $entry "api_key" (printf "$(%s)" $var) }}
{{- end }}
{{- $entries = append $entries $entry }}
{{- end }}
{{- if $entries }}
- name: LLM_FALLBACKS
  value: {{ $entries | toJson | quote }}
{{- end }}
{{- end }}
