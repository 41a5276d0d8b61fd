{{/*
Secrets that must keep their values across renders and upgrades (passwords MongoDB stores,
the token signing key). Nothing here uses lookup or a random function at render time, so
`helm template` (Tilt, Argo CD, Flux) renders the same objects every time.

A secret is described by (dict "name" NAME "keys" KEYS "fixed" FIXED):
  KEYS   a list of {key, random: LENGTH} | {key, value} | {key, format: "..{other key}.."}
  FIXED  a map of key -> value for the random keys (development values only), or empty.

chatbot-lib.persistentSecrets (dict "ctx" $ "jobName" NAME "secrets" LIST "image" REF
"pullPolicy" POLICY) renders each secret with FIXED values as a plain Secret, and one
pre-install/pre-upgrade hook Job (with its ServiceAccount, Role and RoleBinding) that creates
each of the others when it does not exist yet. An existing Secret is never changed: upgrades
keep the credentials MongoDB and Redis were started with; helm uninstall leaves them (delete
them yourself to start afresh).
*/}}
{{- define "chatbot-lib.persistentSecrets" -}}
{{- $generated := list }}
{{- range .secrets }}
{{- if .fixed }}
---
{{ include "chatbot-lib.fixedSecret" (dict "ctx" $.ctx "secret" .) }}
{{- else }}
{{- $generated = append $generated . }}
{{- end }}
{{- end }}
{{- if $generated }}
{{- include "chatbot-lib.secretJob" (merge (dict "secrets" $generated) .) }}
{{- end }}
{{- end }}

{{/* The values of a secret with fixed values: (dict "ctx" $ "secret" SECRET) -> a YAML map. */}}
{{- define "chatbot-lib.fixedSecretData" -}}
{{- $secret := .secret }}
{{- $values := dict }}
{{- range $secret.keys }}
{{- if hasKey . "value" }}
{{- $_ := set $values .key (toString .value) }}
{{- else if hasKey . "random" }}
{{- $value := index $secret.fixed .key | default "" | toString }}
{{- if not $value }}
{{- fail (printf "%s: the fixed values of Secret %s lack %s" $.ctx.Chart.Name $secret.name .key) }}
{{- end }}
{{- $_ := set $values .key $value }}
{{- end }}
{{- end }}
{{- range $secret.keys }}
{{- if hasKey . "format" }}
{{- $text := .format }}
{{- range $k, $v := $values }}
{{- $text = replace (printf "{%s}" $k) $v $text }}
{{- end }}
{{- $_ := set $values .key $text }}
{{- end }}
{{- end }}
{{- toYaml $values }}
{{- end }}

{{- define "chatbot-lib.fixedSecret" -}}
apiVersion: v1
kind: Secret
metadata:
  name: {{ .secret.name }}
  labels:
    {{- include "chatbot-lib.labels" .ctx | nindent 4 }}
type: Opaque
data:
  {{- range $key, $value := include "chatbot-lib.fixedSecretData" . | fromYaml }}
  {{ $key }}: {{ $value | b64enc | quote }}
  {{- end }}
{{- end }}

{{/*
The hook Job that creates the missing Secrets (Python's standard library against the
Kubernetes API with its ServiceAccount token; any image with python3 will do: the charts use
the project's own service image). Runs before install and before every upgrade; idempotent.
*/}}
{{- define "chatbot-lib.secretJob" -}}
{{- $ctx := .ctx }}
{{- $name := printf "%s-secrets" .jobName | trunc 63 | trimSuffix "-" }}
{{- $names := list }}
{{- $specs := list }}
{{- range .secrets }}
{{- $names = append $names .name }}
{{- $specs = append $specs (dict "name" .name "keys" .keys) }}
{{- end }}
{{- $hook := dict "helm.sh/hook" "pre-install,pre-upgrade" "helm.sh/hook-delete-policy" "before-hook-creation,hook-succeeded" }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $name }}
  labels:
    {{- include "chatbot-lib.secretJobLabels" $ctx | nindent 4 }}
  annotations:
    {{- toYaml (merge (dict "helm.sh/hook-weight" "-10") $hook) | nindent 4 }}
automountServiceAccountToken: false
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ $name }}
  labels:
    {{- include "chatbot-lib.secretJobLabels" $ctx | nindent 4 }}
  annotations:
    {{- toYaml (merge (dict "helm.sh/hook-weight" "-10") $hook) | nindent 4 }}
rules:
  - apiGroups: [""]
    resources: [secrets]
    resourceNames: {{ toJson $names }}
    verbs: [get]
  - apiGroups: [""]
    resources: [secrets]
    verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ $name }}
  labels:
    {{- include "chatbot-lib.secretJobLabels" $ctx | nindent 4 }}
  annotations:
    {{- toYaml (merge (dict "helm.sh/hook-weight" "-10") $hook) | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ $name }}
subjects:
  - kind: ServiceAccount
    name: {{ $name }}
    namespace: {{ $ctx.Release.Namespace }}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ $name }}
  labels:
    {{- include "chatbot-lib.secretJobLabels" $ctx | nindent 4 }}
  annotations:
    {{- toYaml (merge (dict "helm.sh/hook-weight" "-5") $hook) | nindent 4 }}
spec:
  backoffLimit: 4
  activeDeadlineSeconds: 300
  template:
    metadata:
      labels:
        {{- include "chatbot-lib.secretJobLabels" $ctx | nindent 8 }}
    spec:
      serviceAccountName: {{ $name }}
      # The Job alone talks to the API (to read and create its Secrets): token mounted here only.
      automountServiceAccountToken: true
      restartPolicy: Never
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        runAsGroup: 10001
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: create-secrets
          image: {{ .image | quote }}
          imagePullPolicy: {{ .pullPolicy | default "IfNotPresent" }}
          securityContext:
            runAsNonRoot: true
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: [ALL]
            seccompProfile:
              type: RuntimeDefault
          env:
            - name: SECRETS
              value: {{ toJson $specs | quote }}
            - name: LABELS
              value: {{ include "chatbot-lib.labels" $ctx | fromYaml | toJson | quote }}
          command:
            - python3
            - -c
            - |
              {{- include "chatbot-lib.createSecretsScript" . | nindent 14 }}
          resources:
            requests: {cpu: 10m, memory: 32Mi}
            limits: {memory: 64Mi}
{{- end }}

{{- define "chatbot-lib.secretJobLabels" -}}
helm.sh/chart: {{ include "chatbot-lib.chart" . }}
app.kubernetes.io/name: {{ include "chatbot-lib.name" . }}-secrets
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: secrets
app.kubernetes.io/part-of: chatbot
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The Job's program: create each Secret of $SECRETS that does not exist; never change one. */}}
{{- define "chatbot-lib.createSecretsScript" -}}
import base64, json, os, secrets, ssl, string, urllib.error, urllib.request
SA = "/var/run/secrets/kubernetes.io/serviceaccount"
with open(SA + "/namespace") as f:
    NS = f.read().strip()
with open(SA + "/token") as f:
    TOKEN = f.read().strip()
API = "https://%s:%s/api/v1/namespaces/%s/secrets" % (
    os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"], NS)
TLS = ssl.create_default_context(cafile=SA + "/ca.crt")
ALPHABET = string.ascii_letters + string.digits


def call(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, context=TLS, timeout=30) as response:
        return response.status


for spec in json.loads(os.environ["SECRETS"]):
    try:
        call("GET", API + "/" + spec["name"])
        print("kept", spec["name"])
        continue
    except urllib.error.HTTPError as e:
        if e.code != 404:
            raise
    values = {}
    for k in spec["keys"]:
        if "random" in k:
            values[k["key"]] = "".join(secrets.choice(ALPHABET) for _ in range(int(k["random"])))
        elif "value" in k:
            values[k["key"]] = str(k["value"])
    for k in spec["keys"]:
        if "format" in k:
            text = k["format"]
            for name, value in values.items():
                text = text.replace("{%s}" % name, value)
            values[k["key"]] = text
    body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": spec["name"], "labels": json.loads(os.environ["LABELS"])},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}}
    try:
        call("POST", API, body)
        print("created", spec["name"])
    except urllib.error.HTTPError as e:
        if e.code != 409:  # created meanwhile by another run: theirs stays
            raise
        print("kept", spec["name"])
{{- end }}

{{/*
A service chart's own Secret (when no existingSecret is given): the keys its
<chart>.generatedSecretKeys names (a YAML list), each 48 random characters, created once by
the hook Job, or taken from .Values.secretValues (development values).
*/}}
{{- define "chatbot-lib.serviceSecretKeys" -}}
{{- range include (printf "%s.generatedSecretKeys" .Chart.Name) . | fromYamlArray }}
- {key: {{ . }}, random: 48}
{{- end }}
{{- end }}

{{- define "chatbot-lib.secret" -}}
{{- if not .Values.existingSecret }}
{{- $secret := dict "name" (include "chatbot-lib.fullname" .) "fixed" .Values.secretValues "keys" (include "chatbot-lib.serviceSecretKeys" . | fromYamlArray) }}
{{- include "chatbot-lib.persistentSecrets" (dict "ctx" . "jobName" (include "chatbot-lib.fullname" .) "secrets" (list $secret) "image" (include "chatbot-lib.image" .) "pullPolicy" .Values.image.pullPolicy) }}
{{- end }}
{{- end }}

{{/* checksum/secret of a chart whose Secret has fixed values (none when the Job makes it). */}}
{{- define "chatbot-lib.secretChecksum" -}}
{{- if and (not .Values.existingSecret) .Values.secretValues }}
{{- $secret := dict "name" (include "chatbot-lib.fullname" .) "fixed" .Values.secretValues "keys" (include "chatbot-lib.serviceSecretKeys" . | fromYamlArray) }}
{{- include "chatbot-lib.fixedSecretData" (dict "ctx" . "secret" $secret) | sha256sum }}
{{- end }}
{{- end }}
