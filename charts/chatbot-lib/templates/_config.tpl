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
umbrella sets global.auth once for both). Fails when an issuer comes without its audience
and JWKS URL (the service would refuse to start).
*/}}
{{- define "chatbot-lib.authConfig" -}}
{{- $auth := deepCopy (.Values.auth | default dict) }}
{{- $oidc := deepCopy ($auth.oidc | default dict) }}
{{- $global := (.Values.global | default dict).auth | default dict }}
{{- if not (kindIs "invalid" $global.guestAccess) }}
{{- $_ := set $auth "guestAccess" $global.guestAccess }}
{{- end }}
{{- range $key, $value := ($global.oidc | default dict) }}
{{- if $value }}
{{- $_ := set $oidc $key $value }}
{{- end }}
{{- end }}
{{- if and $oidc.issuer (not (and $oidc.audience $oidc.jwksUrl)) }}
{{- fail (printf "%s: auth.oidc.issuer needs auth.oidc.audience and auth.oidc.jwksUrl" .Chart.Name) }}
{{- end }}
{{- include "chatbot-lib.configEntries" (list
  (list "GUEST_ACCESS" $auth.guestAccess)
  (list "OIDC_ISSUER" $oidc.issuer)
  (list "OIDC_AUDIENCE" $oidc.audience)
  (list "OIDC_JWKS_URL" $oidc.jwksUrl)
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
