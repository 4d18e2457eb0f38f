{{/* One Bitnami-style workload: StatefulSet + client Service + headless Service. */}}
{{- define "kafka.workload" -}}
{{- $root := .root -}}
{{- $full := printf "%s-%s" $root.Release.Name .name -}}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $full }}-headless
  labels:
{{ include "kafka.labels" . | indent 4 }}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  ports:
    - name: {{ .portName }}
      port: {{ .port }}
  selector:
{{ include "kafka.selector" . | indent 4 }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $full }}
  labels:
{{ include "kafka.labels" . | indent 4 }}
spec:
  type: ClusterIP
  ports:
    - name: {{ .portName }}
      port: {{ .port }}
  selector:
{{ include "kafka.selector" . | indent 4 }}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ $full }}
  labels:
{{ include "kafka.labels" . | indent 4 }}
spec:
  serviceName: {{ $full }}-headless
  replicas: {{ .replicas }}
  podManagementPolicy: Parallel
  updateStrategy:
    type: RollingUpdate
  selector:
    matchLabels:
{{ include "kafka.selector" . | indent 6 }}
  template:
    metadata:
      labels:
{{ include "kafka.labels" . | indent 8 }}
    spec:
{{- if eq .name "kafka" }}
      serviceAccountName: {{ $full }}
{{- end }}
      containers:
        - name: {{ .name }}
          image: {{ printf "%s/%s:%s" .image.registry .image.repository (toString .image.tag) | quote }}
          ports:
            - name: {{ .portName }}
              containerPort: {{ .port }}
          volumeMounts:
            - name: data
              mountPath: /bitnami/{{ .name }}
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        accessModes: ["ReadWriteOnce"]
        resources:
          requests:
            storage: {{ .size | quote }}
{{- end -}}

{{- define "kafka.selector" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "kafka.labels" -}}
{{ include "kafka.selector" . }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}
