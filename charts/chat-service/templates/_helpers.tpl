{{/* Names and labels: the shared definitions of chatbot-lib, under this chart's name. */}}
{{- define "chat-service.name" -}}{{ include "chatbot-lib.name" . }}{{- end }}
{{- define "chat-service.fullname" -}}{{ include "chatbot-lib.fullname" . }}{{- end }}
{{- define "chat-service.labels" -}}{{ include "chatbot-lib.labels" . }}{{- end }}
{{- define "chat-service.selectorLabels" -}}{{ include "chatbot-lib.selectorLabels" . }}{{- end }}

{{/* SHARE_PUBLIC_LINKS: auth.sharePublicLinks, or global.auth.sharePublicLinks where set. */}}
{{- define "chat-service.sharePublicLinks" -}}
{{- $global := ((.Values.global | default dict).auth | default dict).sharePublicLinks }}
{{- toJson (dict "value" (ternary .Values.auth.sharePublicLinks $global (kindIs "invalid" $global))) }}
{{- end }}

{{- define "chat-service.config" -}}
{{- include "chatbot-lib.httpConfig" . }}
LLM_SERVICE_URL: {{ tpl .Values.llmServiceUrl . | quote }}
HISTORY_SERVICE_URL: {{ tpl .Values.historyServiceUrl . | quote }}
ALLOWED_ORIGINS: {{ tpl .Values.allowedOrigins . | quote }}
{{- include "chatbot-lib.configEntries" (list
  (list "PUBLIC_URL" (include "chatbot-lib.publicUrl" .))
  (list "NAMESPACE_CONNECT_TIMEOUT_SECONDS" .Values.namespaceConnectTimeoutSeconds)
  (list "MODELS_CACHE_SECONDS" .Values.modelsCacheSeconds)
  (list "MAX_ACK_BYTES" .Values.limits.maxAckBytes)
  (list "GUEST_MESSAGES_PER_DAY" .Values.rateLimits.guestMessagesPerDay)
  (list "GUEST_TOKENS_PER_DAY" .Values.rateLimits.guestTokensPerDay)
) }}
{{- include "chatbot-lib.authConfig" . }}
{{- include "chatbot-lib.configEntries" (list
  (list "TAKEOVER_MODE" .Values.takeoverMode)
  (list "ANSWER_LEASE_SECONDS" .Values.answerLeaseSeconds)
  (list "REDIS_OP_TIMEOUT_MS" .Values.redis.opTimeoutMs)
  (list "REDIS_RECONNECT_MAX_MS" .Values.redis.reconnectMaxMs)
  (list "CHECKPOINT_SECONDS" .Values.checkpointSeconds)
  (list "CHECKPOINT_MAX_SECONDS" .Values.checkpointMaxSeconds)
  (list "DELTA_INTERVAL_MS" .Values.deltaIntervalMs)
  (list "DELTA_INTERVAL_MAX_MS" .Values.deltaIntervalMaxMs)
  (list "MAX_ACTIVE_ANSWERS" .Values.admission.maxActiveAnswers)
  (list "ADMISSION_MAX_LAG_MS" .Values.admission.maxLagMs)
  (list "ADMISSION_LAG_WINDOW_MS" .Values.admission.lagWindowMs)
  (list "ADMISSION_LAG_MIN_ANSWERS" .Values.admission.lagMinAnswers)
  (list "ADMISSION_BURST_GAP_MS" .Values.admission.burstGapMs)
  (list "ADMISSION_BURST_QUIET_MS" .Values.admission.burstQuietMs)
  (list "ADMISSION_BURST_HOLD_MS" .Values.admission.burstHoldMs)
  (list "ANSWER_RETRY_AFTER_SECONDS" .Values.admission.retryAfterSeconds)
  (list "DEFAULT_MODEL" .Values.defaultModel)
  (list "CONTEXT_MESSAGES" .Values.contextMessages)
  (list "RATE_EVENTS_PER_SECOND" .Values.rateLimits.eventsPerSecond)
  (list "RATE_MESSAGES_PER_MINUTE" .Values.rateLimits.messagesPerMinute)
  (list "RATE_MESSAGES_WINDOW_SECONDS" .Values.rateLimits.messagesWindowSeconds)
  (list "RATE_TOKENS_PER_DAY" .Values.rateLimits.tokensPerDay)
  (list "RATE_TOKENS_WINDOW_SECONDS" .Values.rateLimits.tokensWindowSeconds)
  (list "MAX_CONNECTIONS_PER_USER" .Values.rateLimits.connectionsPerUser)
  (list "MAX_CONTENT_CHARS" .Values.limits.maxContentChars)
  (list "MAX_TITLE_CHARS" .Values.limits.maxTitleChars)
  (list "MAX_SYSTEM_PROMPT_CHARS" .Values.limits.maxSystemPromptChars)
  (list "MAX_PAYLOAD_BYTES" .Values.limits.maxPayloadBytes)
  (list "MAX_FEEDBACK_CHARS" .Values.limits.maxFeedbackChars)
  (list "SHARE_PUBLIC_LINKS" (include "chat-service.sharePublicLinks" . | fromJson).value)
  (list "MAX_FILE_BYTES" .Values.limits.maxFileBytes)
  (list "MAX_FILES_PER_MESSAGE" .Values.limits.maxFilesPerMessage)
  (list "MAX_IMPORT_BYTES" .Values.limits.maxImportBytes)
  (list "LLM_MAX_TOKENS_CAP" .Values.sampling.maxTokensCap)
  (list "LLM_TEMPERATURE_MAX" .Values.sampling.temperatureMax)
  (list "LLM_TOP_P_MIN" .Values.sampling.topPMin)
  (list "LLM_CONNECT_TIMEOUT_SECONDS" .Values.llmClient.connectTimeoutSeconds)
  (list "LLM_READ_TIMEOUT_SECONDS" .Values.llmClient.readTimeoutSeconds)
  (list "LLM_MAX_CONNECTIONS" .Values.llmClient.maxConnections)
  (list "HISTORY_TIMEOUT_SECONDS" .Values.historyClient.timeoutSeconds)
  (list "HISTORY_MAX_CONNECTIONS" .Values.historyClient.maxConnections)
) }}
{{- end }}

{{- define "chat-service.generatedSecretKeys" -}}
[AUTH_SECRET, CHAT_INTERNAL_TOKEN]
{{- end }}

{{- define "chat-service.secretEnv" -}}
{{- $secret := include "chatbot-lib.secretName" . }}
{{ include "chatbot-lib.secretEnvVar" (dict "name" "AUTH_SECRET" "secret" $secret "key" "AUTH_SECRET") }}
{{ include "chatbot-lib.secretEnvVar" (dict "name" "CHAT_INTERNAL_TOKEN" "secret" $secret "key" "CHAT_INTERNAL_TOKEN") }}
{{- if .Values.redis.existingSecret }}
{{ include "chatbot-lib.secretEnvVar" (dict "name" "REDIS_URL" "secret" (tpl .Values.redis.existingSecret .) "key" .Values.redis.urlKey) }}
{{- else if or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled }}
{{- fail "chat-service: more than one replica shares rooms through Redis: set redis.existingSecret" }}
{{- end }}
{{- end }}
