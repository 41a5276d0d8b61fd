{{/* Names and labels: the shared definitions of chatbot-lib, under this chart's name. */}}
{{- define "redis.name" -}}{{ include "chatbot-lib.name" . }}{{- end }}
{{- define "redis.fullname" -}}{{ include "chatbot-lib.fullname" . }}{{- end }}
{{- define "redis.labels" -}}{{ include "chatbot-lib.labels" . }}{{- end }}
{{- define "redis.selectorLabels" -}}{{ include "chatbot-lib.selectorLabels" . }}{{- end }}

{{/* The keys of the Redis Secret (chatbot-lib.persistentSecrets). */}}
{{- define "redis.secretKeys" -}}
- {key: password, random: 32}
- key: url
  format: {{ printf "redis://:{password}@%s.%s.svc:%d/0" (include "redis.fullname" .) .Release.Namespace (int .Values.service.port) | quote }}
{{- end }}
