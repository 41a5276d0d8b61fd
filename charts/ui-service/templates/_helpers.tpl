{{/* Names and labels: the shared definitions of chatbot-lib, under this chart's name. */}}
{{- define "ui-service.name" -}}{{ include "chatbot-lib.name" . }}{{- end }}
{{- define "ui-service.fullname" -}}{{ include "chatbot-lib.fullname" . }}{{- end }}
{{- define "ui-service.labels" -}}{{ include "chatbot-lib.labels" . }}{{- end }}
{{- define "ui-service.selectorLabels" -}}{{ include "chatbot-lib.selectorLabels" . }}{{- end }}

{{/* Non-secret settings (ConfigMap). */}}
{{/* SHARE_PUBLIC_LINKS: auth.sharePublicLinks, or global.auth.sharePublicLinks where set. */}}
{{- define "ui-service.sharePublicLinks" -}}
{{- $global := ((.Values.global | default dict).auth | default dict).sharePublicLinks }}
{{- toJson (dict "value" (ternary .Values.auth.sharePublicLinks $global (kindIs "invalid" $global))) }}
{{- end }}

{{- define "ui-service.config" -}}
{{- include "chatbot-lib.httpConfig" . }}
CHAT_PUBLIC_URL: {{ tpl .Values.chatPublicUrl . | quote }}
{{- include "chatbot-lib.configEntries" (list
  (list "PUBLIC_URL" (include "chatbot-lib.publicUrl" .))
  (list "GUEST_MINTS_PER_MINUTE" .Values.tokens.guestMintsPerMinute)
) }}
LLM_SERVICE_URL: {{ tpl .Values.llmServiceUrl . | quote }}
{{- include "chatbot-lib.authConfig" . }}
{{- include "chatbot-lib.configEntries" (list
  (list "TOKEN_TTL_SECONDS" .Values.tokens.ttlSeconds)
  (list "TOKEN_RENEW_WINDOW_SECONDS" .Values.tokens.renewWindowSeconds)
  (list "SHARE_PUBLIC_LINKS" (include "ui-service.sharePublicLinks" . | fromJson).value)
) }}
{{- end }}

{{- define "ui-service.generatedSecretKeys" -}}
[AUTH_SECRET, UI_INTERNAL_TOKEN]
{{- end }}

{{- define "ui-service.secretEnv" -}}
{{- $secret := include "chatbot-lib.secretName" . }}
{{ include "chatbot-lib.secretEnvVar" (dict "name" "AUTH_SECRET" "secret" $secret "key" "AUTH_SECRET") }}
{{ include "chatbot-lib.secretEnvVar" (dict "name" "UI_INTERNAL_TOKEN" "secret" $secret "key" "UI_INTERNAL_TOKEN") }}
{{- include "chatbot-lib.oidcSecretEnv" . }}
{{- end }}
