{{/*
ConfigMap entries from a list of (list NAME value) pairs. A nil or "" value is left out, so
the service keeps its own default. Numbers render as written (never 1e+06), booleans as
true/false, strings quoted.
*/}}
{{- define "chatbot-lib.configEntries" -}}
{{- range . }}
{{- $value := index . 1 }}
{{- if not (or (kindIs "invalid" $value) (and (kindIs "string" $value) (eq $value ""))) }}
{{ index . 0 }}: {{ if kindIs "string" $value }}{{ $value | quote }}{{ else }}{{ $value | toJson | quote }}{{ end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Who may use the services that issue or verify user tokens (UI, chat): GUEST_ACCESS and
OIDC_*. The chart's own auth.* values, overridden by global.auth.* where that is set (the
umbrella sets global.auth once for both). Fails when an issuer comes without its client id
(the service would refuse to start). The client secret is no ConfigMap entry: see
chatbot-lib.oidcSecretEnv.
*/}}
{{- define "chatbot-lib.auth" -}}
{{- $auth := deepCopy (.Values.auth | default dict) }}
{{- $oidc := deepCopy ($auth.oidc | default dict) }}
{{- $global := (.Values.global | default dict).auth | default dict }}
{{- if not (kindIs "invalid" $global.guestAccess) }}
{{- $_ := set $auth "guestAccess" $global.guestAccess }}
{{- end }}
{{- range $key, $value := ($global.oidc | default dict) }}
{{- if and $value (ne $key "clientSecret") }}
{{- $_ := set $oidc $key $value }}
{{- end }}
{{- end }}
{{- $secret := deepCopy ($oidc.clientSecret | default dict) }}
{{- range $key, $value := (($global.oidc | default dict).clientSecret | default dict) }}
{{- if $value }}
{{- $_ := set $secret $key $value }}
{{- end }}
{{- end }}
{{- $_ := set $oidc "clientSecret" $secret }}
{{- $_ := set $auth "oidc" $oidc }}
{{- toJson $auth }}
{{- end }}

{{- define "chatbot-lib.authConfig" -}}
{{- $auth := include "chatbot-lib.auth" . | fromJson }}
{{- $oidc := $auth.oidc }}
{{- if and $oidc.issuer (not $oidc.clientId) }}
{{- fail (printf "%s: auth.oidc.issuer needs auth.oidc.clientId" .Chart.Name) }}
{{- end }}
{{- include "chatbot-lib.configEntries" (list
  (list "GUEST_ACCESS" $auth.guestAccess)
  (list "OIDC_ISSUER" $oidc.issuer)
  (list "OIDC_CLIENT_ID" $oidc.clientId)
  (list "OIDC_ROLES_CLAIM" $oidc.rolesClaim)
  (list "OIDC_ADMIN_ROLE" $oidc.adminRole)
  (list "OIDC_SCOPES" $oidc.scopes)
  (list "OIDC_ALGORITHMS" $oidc.algorithms)
) }}
{{- end }}

{{/*
Limits of the HTTP server of every service (MAX_REQUEST_BYTES, MAX_OPEN_CONNECTIONS,
HEADER_TIMEOUT_SECONDS, MAX_HEADER_BYTES, TRUSTED_PROXIES, API_DOCS) from the chart's `http.*`
values; see docs/security.md.
*/}}
{{- define "chatbot-lib.httpConfig" -}}
{{- $http := .Values.http | default dict }}
{{- include "chatbot-lib.configEntries" (list
  (list "MAX_REQUEST_BYTES" $http.maxRequestBytes)
  (list "MAX_OPEN_CONNECTIONS" $http.maxOpenConnections)
  (list "HEADER_TIMEOUT_SECONDS" $http.headerTimeoutSeconds)
  (list "MAX_HEADER_BYTES" $http.maxHeaderBytes)
  (list "TRUSTED_PROXIES" $http.trustedProxies)
  (list "API_DOCS" $http.apiDocs)
) }}
{{- end }}

{{/* PUBLIC_URL: the chart's publicUrl, else global.publicUrl (the umbrella's); "" = unset. */}}
{{- define "chatbot-lib.publicUrl" -}}
{{- .Values.publicUrl | default ((.Values.global | default dict).publicUrl) | default "" }}
{{- end }}

{{/*
OIDC_CLIENT_SECRET (a confidential client; the UI service exchanges the code): from
auth.oidc.clientSecret.existingSecret (key auth.oidc.clientSecret.key), or from the Secret
<fullname>-oidc the chart makes of auth.oidc.clientSecret.value. Nothing when neither is set.
*/}}
{{- define "chatbot-lib.oidcSecretName" -}}
{{- $secret := (include "chatbot-lib.auth" . | fromJson).oidc.clientSecret }}
{{- if $secret.existingSecret }}
{{- tpl $secret.existingSecret . }}
{{- else if $secret.value }}
{{- printf "%s-oidc" (include "chatbot-lib.fullname" .) }}
{{- end }}
{{- end }}

{{- define "chatbot-lib.oidcSecretEnv" -}}
{{- $name := include "chatbot-lib.oidcSecretName" . }}
{{- if $name }}
{{- $secret := (include "chatbot-lib.auth" . | fromJson).oidc.clientSecret }}
{{ include "chatbot-lib.secretEnvVar" (dict "name" "OIDC_CLIENT_SECRET" "secret" $name "key" ($secret.key | default "OIDC_CLIENT_SECRET")) }}
{{- end }}
{{- end }}

{{- define "chatbot-lib.oidcSecret" -}}
{{- $secret := (include "chatbot-lib.auth" . | fromJson).oidc.clientSecret }}
{{- if and $secret.value (not $secret.existingSecret) }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "chatbot-lib.oidcSecretName" . }}
  labels:
    {{- include "chatbot-lib.labels" . | nindent 4 }}
type: Opaque
stringData:
  {{ $secret.key | default "OIDC_CLIENT_SECRET" }}: {{ $secret.value | quote }}
{{- end }}
{{- end }}
