{{/* Names and labels: the shared definitions of chatbot-lib, under this chart's name. */}}
{{- define "redis.name" -}}{{ include "chatbot-lib.name" . }}{{- end }}
{{- define "redis.fullname" -}}{{ include "chatbot-lib.fullname" . }}{{- end }}
{{- define "redis.labels" -}}{{ include "chatbot-lib.labels" . }}{{- end }}
{{- define "redis.selectorLabels" -}}{{ include "chatbot-lib.selectorLabels" . }}{{- end }}
