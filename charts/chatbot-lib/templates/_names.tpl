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

{{/*
The registry of the chatbot's own images when neither image.registry nor
global.imageRegistry names one: the namespace the release workflow
(.github/workflows/release.yml) pushes to, ghcr.io/<owner>/chatbot/<service>. This is the one
place it is written; a fork publishing elsewhere sets global.imageRegistry.
*/}}
{{- define "chatbot-lib.defaultRegistry" -}}ghcr.io/chatbot-platform{{- end }}

{{/*
An image reference from (dict "image" IMAGE "global" GLOBAL "appVersion" VERSION):
registry/repository:tag[@digest]. The registry: image.registry, else global.imageRegistry,
else chatbot-lib.defaultRegistry. The tag defaults to the appVersion and is never "latest";
with a digest the image is pulled by digest (the tag stays as a readable label).
*/}}
{{- define "chatbot-lib.imageRef" -}}
{{- $image := .image }}
{{- $tag := $image.tag | default .appVersion | toString }}
{{- if eq $tag "latest" }}
{{- fail "image.tag must name a version, not \"latest\"" }}
{{- end }}
{{- $registry := $image.registry | default ((.global | default dict).imageRegistry) | default (include "chatbot-lib.defaultRegistry" .) }}
{{- $ref := printf "%s/%s:%s" $registry $image.repository $tag }}
{{- if $image.digest }}
{{- if not (regexMatch "^sha256:[0-9a-f]{64}$" $image.digest) }}
{{- fail (printf "image.digest must be sha256:<64 hex digits>, not %q" $image.digest) }}
{{- end }}
{{- $ref = printf "%s@%s" $ref $image.digest }}
{{- end }}
{{- $ref }}
{{- end }}

{{/* The chart's own image (.Values.image), see chatbot-lib.imageRef. */}}
{{- define "chatbot-lib.image" -}}
{{- include "chatbot-lib.imageRef" (dict "image" .Values.image "global" .Values.global "appVersion" .Chart.AppVersion) }}
{{- end }}

{{/* The name of the chart's own generated Secret, or the existing one it is told to use. */}}
{{- define "chatbot-lib.secretName" -}}
{{- if .Values.existingSecret }}
{{- tpl .Values.existingSecret . }}
{{- else }}
{{- include "chatbot-lib.fullname" . }}
{{- end }}
{{- end }}
