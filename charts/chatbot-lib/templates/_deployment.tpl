{{/*
The Deployment of one service. The calling chart defines:
  <chart>.secretEnv   env entries read from Secrets (list, may be empty)
and its values follow the common layout (image, service, probes, resources, securityContext…).
Non-secret settings come from the chart's ConfigMap (chatbot-lib.configmap).
*/}}
{{- define "chatbot-lib.deployment" -}}
{{- $persistence := .Values.persistence | default dict }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "chatbot-lib.fullname" . }}
  labels:
    {{- include "chatbot-lib.labels" . | nindent 4 }}
spec:
  {{- if not (and .Values.autoscaling .Values.autoscaling.enabled) }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  {{- if $persistence.enabled }}
  strategy:
    type: Recreate
  {{- else if .Values.strategy }}
  strategy:
    {{- toYaml .Values.strategy | nindent 4 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "chatbot-lib.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      annotations:
        checksum/config: {{ include "chatbot-lib.configmap" . | sha256sum }}
        {{- with include "chatbot-lib.secretChecksum" . }}
        checksum/secret: {{ . }}
        {{- end }}
        {{- with .Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      labels:
        {{- include "chatbot-lib.labels" . | nindent 8 }}
        {{- with .Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "chatbot-lib.serviceAccountName" . }}
      automountServiceAccountToken: {{ .Values.serviceAccount.automount }}
      {{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml .Values.podSecurityContext | nindent 8 }}
      terminationGracePeriodSeconds: {{ include "chatbot-lib.terminationGracePeriodSeconds" . }}
      containers:
        - name: {{ .Chart.Name }}
          image: {{ include "chatbot-lib.image" . | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          {{- with .Values.args }}
          args:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          securityContext:
            {{- toYaml .Values.securityContext | nindent 12 }}
          ports:
            - name: http
              containerPort: {{ .Values.service.port }}
              protocol: TCP
          envFrom:
            - configMapRef:
                name: {{ include "chatbot-lib.fullname" . }}
          env:
            {{- include (printf "%s.secretEnv" .Chart.Name) . | nindent 12 }}
            {{- with .Values.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          {{- if .Values.preStopSleepSeconds }}
          lifecycle:
            preStop:
              exec:
                # Stay in the endpoints until the load balancers have seen the pod go.
                command: ["sleep", {{ .Values.preStopSleepSeconds | quote }}]
          {{- end }}
          livenessProbe:
            {{- toYaml .Values.livenessProbe | nindent 12 }}
          readinessProbe:
            {{- toYaml .Values.readinessProbe | nindent 12 }}
          {{- with .Values.startupProbe }}
          startupProbe:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          volumeMounts:
            - name: state
              mountPath: {{ .Values.stateDir }}
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: state
          {{- if $persistence.enabled }}
          persistentVolumeClaim:
            claimName: {{ $persistence.existingClaim | default (include "chatbot-lib.fullname" .) }}
          {{- else }}
          emptyDir:
            sizeLimit: {{ .Values.stateSizeLimit }}
          {{- end }}
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- tpl (toYaml .) $ | nindent 8 }}
      {{- end }}
{{- end }}

{{/*
Grace period = preStop sleep + the service's own drain (SHUTDOWN_GRACE_SECONDS) + 5 s for the
process to exit, so Kubernetes never kills a pod that is still draining as configured.
*/}}
{{- define "chatbot-lib.terminationGracePeriodSeconds" -}}
{{- add (int .Values.preStopSleepSeconds) (int .Values.shutdownGraceSeconds) 5 }}
{{- end }}

{{/* Settings every service reads, plus the chart's own (<chart>.config, a YAML map). */}}
{{- define "chatbot-lib.configmap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "chatbot-lib.fullname" . }}
  labels:
    {{- include "chatbot-lib.labels" . | nindent 4 }}
data:
  HOST: "0.0.0.0"
  PORT: {{ .Values.service.port | quote }}
  LOG_LEVEL: {{ .Values.logLevel | quote }}
  STATE_DIR: {{ .Values.stateDir | quote }}
  SHUTDOWN_GRACE_SECONDS: {{ .Values.shutdownGraceSeconds | quote }}
  {{- include (printf "%s.config" .Chart.Name) . | nindent 2 }}
{{- end }}

{{/* A secretKeyRef env entry: (dict "name" ENV "secret" NAME "key" KEY "optional" BOOL) */}}
{{- define "chatbot-lib.secretEnvVar" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end }}
