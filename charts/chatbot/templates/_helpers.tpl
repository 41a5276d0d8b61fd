{{/* Names and labels: the shared definitions of chatbot-lib, under this chart's name. */}}
{{- define "chatbot.name" -}}{{ include "chatbot-lib.name" . }}{{- end }}
{{- define "chatbot.fullname" -}}{{ include "chatbot-lib.fullname" . }}{{- end }}
{{- define "chatbot.labels" -}}{{ include "chatbot-lib.labels" . }}{{- end }}
{{- define "chatbot.selectorLabels" -}}{{ include "chatbot-lib.selectorLabels" . }}{{- end }}

{{/* The Service name of a subchart: (dict "ctx" $ "chart" "chat-service") */}}
{{- define "chatbot.serviceName" -}}
{{- $values := index .ctx.Values .chart }}
{{- $values.fullnameOverride | default (printf "%s-%s" .ctx.Release.Name ($values.nameOverride | default .chart)) | trunc 63 | trimSuffix "-" }}
{{- end }}
