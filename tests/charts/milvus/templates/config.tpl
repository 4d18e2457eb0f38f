{{/*
The "default.yaml" the fixture chart generates. Only what the upgrade tooling reads is
realistic: etcd/minio endpoints, coordinator addresses and the message-queue block(s).
*/}}
{{- define "milvus.defaultConfig" -}}
{{- $fullname := include "milvus.fullname" . -}}
etcd:
  endpoints:
{{- if .Values.externalEtcd.enabled }}
{{- range .Values.externalEtcd.endpoints }}
    - {{ . }}
{{- end }}
{{- else }}
    - {{ .Release.Name }}-etcd:2379
{{- end }}
  rootPath: {{ .Values.metadata.rootPath }}
metastore:
  type: etcd
minio:
{{- if .Values.externalS3.enabled }}
  address: {{ .Values.externalS3.host }}
  port: {{ .Values.externalS3.port }}
  bucketName: {{ .Values.externalS3.bucketName }}
{{- else }}
  address: {{ .Release.Name }}-minio
  port: 9000
  bucketName: milvus-bucket
{{- end }}
  rootPath: file
  useSSL: false
common:
  storageType: remote
{{- range $component, $c := include "milvus.components" . | fromYaml }}
{{- if and $c.port $c.coord (include "milvus.componentEnabled" (list $ $component)) }}
{{ $c.key | replace "Coordinator" "Coord" }}:
  address: {{ $fullname }}-{{ $component }}
  port: {{ $c.port }}
{{- end }}
{{- end }}
{{- if include "milvus.componentEnabled" (list . "mixcoord") }}
mixCoord:
  enableActiveStandby: {{ .Values.mixCoordinator.activeStandby.enabled }}
{{- end }}
proxy:
  port: 19530
  internalPort: 19529
{{- if .Values.cluster.enabled }}
streaming:
  enabled: {{ .Values.streaming.enabled }}
{{- end }}
{{- $first := include "milvus.mqFirstChain" . }}
{{- if eq $first "external-pulsar" }}
pulsar:
  address: {{ .Values.externalPulsar.host }}
  port: {{ .Values.externalPulsar.port }}
  maxMessageSize: {{ .Values.externalPulsar.maxMessageSize }}
  tenant: {{ .Values.externalPulsar.tenant }}
  namespace: {{ .Values.externalPulsar.namespace }}
mq:
  type: pulsar
{{- else if eq $first "pulsar" }}
pulsar:
  address: {{ .Release.Name }}-pulsar-proxy
  port: 6650
  maxMessageSize: 5242880
mq:
  type: pulsar
{{- else if eq $first "woodpecker" }}
woodpecker:
  storage:
    type: minio
mq:
  type: woodpecker
{{- else if eq $first "pulsarv3" }}
pulsar:
  address: {{ .Release.Name }}-pulsarv3-proxy
  port: 6650
  maxMessageSize: 5242880
mq:
  type: pulsar
{{- end }}
{{- $second := include "milvus.mqSecondChain" . }}
{{- if eq $second "external-kafka" }}
kafka:
  brokerList: {{ .Values.externalKafka.brokerList }}
  securityProtocol: {{ .Values.externalKafka.securityProtocol }}
mq:
  type: kafka
{{- else if eq $second "kafka" }}
kafka:
  brokerList: {{ .Release.Name }}-kafka:9092
mq:
  type: kafka
{{- end }}
{{- end -}}
