{{- define "chatbot-lib.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "chatbot-lib.fullname" . }}
  labels:
    {{- include "chatbot-lib.labels" . | nindent 4 }}
  {{- with .Values.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ .Values.service.type }}
  {{- with .Values.service.sessionAffinity }}
  sessionAffinity: {{ . }}
  {{- if eq . "ClientIP" }}
  sessionAffinityConfig:
    clientIP:
      timeoutSeconds: {{ $.Values.service.sessionAffinityTimeoutSeconds }}
  {{- end }}
  {{- end }}
  ports:
    - name: http
      port: {{ .Values.service.port }}
      targetPort: http
      protocol: TCP
      {{- if .Values.service.appProtocol }}
      appProtocol: {{ .Values.service.appProtocol }}
      {{- end }}
  selector:
    {{- include "chatbot-lib.selectorLabels" . | nindent 4 }}
{{- end }}

{{- define "chatbot-lib.serviceAccount" -}}
{{- if .Values.serviceAccount.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "chatbot-lib.serviceAccountName" . }}
  labels:
    {{- include "chatbot-lib.labels" . | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: {{ .Values.serviceAccount.automount }}
{{- end }}
{{- end }}

{{- define "chatbot-lib.hpa" -}}
{{- if and .Values.autoscaling .Values.autoscaling.enabled }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "chatbot-lib.fullname" . }}
  labels:
    {{- include "chatbot-lib.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "chatbot-lib.fullname" . }}
  minReplicas: {{ .Values.autoscaling.minReplicas }}
  maxReplicas: {{ .Values.autoscaling.maxReplicas }}
  metrics:
    {{- with .Values.autoscaling.targetCPUUtilizationPercentage }}
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ . }}
    {{- end }}
    {{- with .Values.autoscaling.targetMemoryUtilizationPercentage }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ . }}
    {{- end }}
  {{- with .Values.autoscaling.behavior }}
  behavior:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}

{{- define "chatbot-lib.pdb" -}}
{{- if and .Values.podDisruptionBudget .Values.podDisruptionBudget.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "chatbot-lib.fullname" . }}
  labels:
    {{- include "chatbot-lib.labels" . | nindent 4 }}
spec:
  {{- if .Values.podDisruptionBudget.minAvailable }}
  minAvailable: {{ .Values.podDisruptionBudget.minAvailable }}
  {{- else }}
  maxUnavailable: {{ .Values.podDisruptionBudget.maxUnavailable | default 1 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "chatbot-lib.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end }}

{{/*
Ingress to the service port only from the pods whose labels are listed in
networkPolicy.allowFrom (each a map of labels; app.kubernetes.io/instance is added, so only
pods of the same release match), and from the namespaces in networkPolicy.allowNamespaces
(e.g. the ingress controller's or Prometheus'). An empty allowFrom and allowNamespaces with
allowAll false admits nobody.
With networkPolicy.egress.enabled, outgoing connections are limited too: DNS (UDP and TCP
egress.dnsPort to any address), the pods of egress.toPods ({labels, port}: the services this
one calls, same release), the address blocks of egress.toCidrs ({cidr, except, ports}: e.g.
the LLM upstream) and the raw rules of egress.extra.
*/}}
{{- define "chatbot-lib.networkPolicy" -}}
{{- if .Values.networkPolicy.enabled }}
{{- $egress := .Values.networkPolicy.egress | default dict }}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "chatbot-lib.fullname" . }}
  labels:
    {{- include "chatbot-lib.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "chatbot-lib.selectorLabels" . | nindent 6 }}
  policyTypes: {{ ternary (list "Ingress" "Egress") (list "Ingress") (and $egress.enabled true) | toJson }}
  ingress:
    {{- if .Values.networkPolicy.allowAll }}
    - ports:
        - port: {{ dig "port" "http" .Values.networkPolicy }}
          protocol: TCP
    {{- else }}
    {{- $from := list }}
    {{- range .Values.networkPolicy.allowFrom }}
    {{- $from = append $from (dict "podSelector" (dict "matchLabels" (merge (dict "app.kubernetes.io/instance" $.Release.Name) .))) }}
    {{- end }}
    {{- range .Values.networkPolicy.allowNamespaces }}
    {{- $from = append $from (dict "namespaceSelector" (dict "matchLabels" .)) }}
    {{- end }}
    {{- if $from }}
    - from:
        {{- toYaml $from | nindent 8 }}
      ports:
        - port: {{ dig "port" "http" .Values.networkPolicy }}
          protocol: TCP
    {{- end }}
    {{- end }}
  {{- if and $egress.enabled (not (or $egress.dnsPort $egress.toPods $egress.toCidrs $egress.extra)) }}
  egress: []
  {{- else if $egress.enabled }}
  egress:
    {{- with $egress.dnsPort }}
    - ports:
        - {port: {{ . }}, protocol: UDP}
        - {port: {{ . }}, protocol: TCP}
    {{- end }}
    {{- range $egress.toPods }}
    - to:
        - podSelector:
            matchLabels:
              {{- toYaml (merge (dict "app.kubernetes.io/instance" $.Release.Name) .labels) | nindent 14 }}
      ports:
        - {port: {{ .port }}, protocol: TCP}
    {{- end }}
    {{- range $egress.toCidrs }}
    - to:
        - ipBlock:
            cidr: {{ .cidr }}
            {{- with .except }}
            except: {{ toJson . }}
            {{- end }}
      ports:
        {{- range .ports }}
        - {port: {{ . }}, protocol: TCP}
        {{- end }}
    {{- end }}
    {{- with $egress.extra }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
{{- end }}
{{- end }}

{{- define "chatbot-lib.serviceMonitor" -}}
{{- if .Values.metrics.serviceMonitor.enabled }}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "chatbot-lib.fullname" . }}
  labels:
    {{- include "chatbot-lib.labels" . | nindent 4 }}
    {{- with .Values.metrics.serviceMonitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "chatbot-lib.selectorLabels" . | nindent 6 }}
  namespaceSelector:
    matchNames:
      - {{ .Release.Namespace }}
  endpoints:
    - port: http
      path: /metrics
      interval: {{ .Values.metrics.serviceMonitor.interval }}
      scrapeTimeout: {{ .Values.metrics.serviceMonitor.scrapeTimeout }}
      {{- with .Values.metrics.serviceMonitor.jobName }}
      {{- /* the alerts and dashboard select jobs chatbot-<service>, whatever the release name */}}
      relabelings:
        - action: replace
          targetLabel: job
          replacement: {{ . | quote }}
      {{- end }}
{{- end }}
{{- end }}

{{/*
helm test: from the service's own image (it has Python, no curl), GET /healthz and /readyz
through the Service and fail unless both answer 200.
*/}}
{{- define "chatbot-lib.testPod" -}}
{{- if .Values.tests.enabled }}
apiVersion: v1
kind: Pod
metadata:
  name: {{ include "chatbot-lib.fullname" . }}-test
  labels:
    {{- /* not the selector labels: the Service must not route to this pod */}}
    helm.sh/chart: {{ include "chatbot-lib.chart" . }}
    app.kubernetes.io/name: {{ include "chatbot-lib.name" . }}-test
    app.kubernetes.io/instance: {{ .Release.Name }}
    app.kubernetes.io/component: test
    app.kubernetes.io/part-of: chatbot
    app.kubernetes.io/managed-by: {{ .Release.Service }}
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: probe
      image: {{ include "chatbot-lib.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      command:
        - python
        - -c
        - |
          import sys, urllib.request
          base = "http://{{ include "chatbot-lib.fullname" . }}:{{ .Values.service.port }}"
          for path in ("/healthz", "/readyz"):
              with urllib.request.urlopen(base + path, timeout=10) as r:
                  print(path, r.status)
                  if r.status != 200:
                      sys.exit(1)
      resources:
        requests: {cpu: 10m, memory: 32Mi}
        limits: {memory: 64Mi}
{{- end }}
{{- end }}
