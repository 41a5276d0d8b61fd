{{/* Names and labels: the shared definitions of chatbot-lib, under this chart's name. */}}
{{- define "history-service.name" -}}{{ include "chatbot-lib.name" . }}{{- end }}
{{- define "history-service.fullname" -}}{{ include "chatbot-lib.fullname" . }}{{- end }}
{{- define "history-service.labels" -}}{{ include "chatbot-lib.labels" . }}{{- end }}
{{- define "history-service.selectorLabels" -}}{{ include "chatbot-lib.selectorLabels" . }}{{- end }}

{{- define "history-service.config" -}}
{{- include "chatbot-lib.httpConfig" . }}
{{- with .Values.mongodb }}
{{- include "chatbot-lib.configEntries" (list
  (list "MONGODB_DATABASE" .database)
  (list "MONGODB_WRITE_CONCERN" .writeConcern)
  (list "MONGODB_JOURNAL" .journal)
  (list "MONGODB_READ_CONCERN" .readConcern)
  (list "MONGODB_RETRY_WRITES" .retryWrites)
  (list "MONGODB_MAX_POOL_SIZE" .maxPoolSize)
  (list "MONGODB_MIN_POOL_SIZE" .minPoolSize)
  (list "MONGODB_SERVER_SELECTION_TIMEOUT_MS" .serverSelectionTimeoutMs)
  (list "MONGODB_CONNECT_TIMEOUT_MS" .connectTimeoutMs)
  (list "MONGODB_SOCKET_TIMEOUT_MS" .socketTimeoutMs)
) }}
{{- end }}
{{- include "chatbot-lib.configEntries" (list
  (list "STORE_RETRY_ATTEMPTS" .Values.storeRetry.attempts)
  (list "STORE_RETRY_BASE_DELAY" .Values.storeRetry.baseDelaySeconds)
  (list "STORE_RETRY_MAX_DELAY" .Values.storeRetry.maxDelaySeconds)
  (list "MAX_FEEDBACK_CHARS" .Values.limits.maxFeedbackChars)
  (list "MAX_SHARE_MESSAGES" .Values.limits.maxShareMessages)
  (list "MAX_SHARES_PER_CONVERSATION" .Values.limits.maxSharesPerConversation)
  (list "MAX_FILE_BYTES" .Values.files.maxFileBytes)
  (list "MAX_USER_FILE_BYTES" .Values.files.maxUserFileBytes)
  (list "MAX_FILE_TEXT_CHARS" .Values.files.maxFileTextChars)
  (list "MAX_IMPORT_BYTES" .Values.files.maxImportBytes)
) }}
{{- end }}

{{- define "history-service.generatedSecretKeys" -}}
[CHAT_INTERNAL_TOKEN]
{{- end }}

{{/* MONGODB_URI from mongodb.existingSecret; none = the embedded SQLite store in STATE_DIR. */}}
{{- define "history-service.secretEnv" -}}
{{- $secret := include "chatbot-lib.secretName" . }}
{{ include "chatbot-lib.secretEnvVar" (dict "name" "CHAT_INTERNAL_TOKEN" "secret" $secret "key" "CHAT_INTERNAL_TOKEN") }}
{{- if .Values.mongodb.existingSecret }}
{{ include "chatbot-lib.secretEnvVar" (dict "name" "MONGODB_URI" "secret" (tpl .Values.mongodb.existingSecret .) "key" .Values.mongodb.uriKey) }}
{{- end }}
{{- end }}
