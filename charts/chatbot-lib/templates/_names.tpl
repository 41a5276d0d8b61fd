{{/*
Names and labels. Every chart of the system defines <chart>.name/.fullname/.labels/
.selectorLabels by calling these, so all of them name and label things the same way.
*/}}

{{- define "chatbot-lib.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
<release>-<name>, always: predictable Service names for the other charts (no "release name
contains chart name" shortcut, which would turn release "chatbot" + "chat" into "chatbot").
*/}}
{{- define "chatbot-lib.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "chatbot-lib.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "chatbot-lib.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "chatbot-lib.selectorLabels" -}}
app.kubernetes.io/name: {{ include "chatbot-lib.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "chatbot-lib.labels" -}}
helm.sh/chart: {{ include "chatbot-lib.chart" . }}
{{ include "chatbot-lib.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/component: {{ .Values.component | default (include "chatbot-lib.name" .) }}
app.kubernetes.io/part-of: chatbot
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "chatbot-lib.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "chatbot-lib.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository:tag, the tag defaulting to the chart's appVersion (never "latest"). */}}
{{- define "chatbot-lib.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion | toString }}
{{- if eq $tag "latest" }}
{{- fail "image.tag must name a version, not \"latest\"" }}
{{- end }}
{{- if .Values.image.registry }}
{{- printf "%s/%s:%s" .Values.image.registry .Values.image.repository $tag }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* The name of the chart's own generated Secret, or the existing one it is told to use. */}}
{{- define "chatbot-lib.secretName" -}}
{{- if .Values.existingSecret }}
{{- tpl .Values.existingSecret . }}
{{- else }}
{{- include "chatbot-lib.fullname" . }}
{{- end }}
{{- end }}
