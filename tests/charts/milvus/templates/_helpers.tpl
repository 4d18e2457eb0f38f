{{/*
Fixture chart for milvusops.cluster tests. Written from the project's facts
(../../../../shared/facts/milvus-chart.md at authoring time), not from the real chart.
*/}}

{{/* Chart name, or nameOverride. */}}
{{- define "milvus.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Fullname: fullnameOverride if set; the release name when it already contains the
chart name; otherwise "<release>-<name>".
*/}}
{{- define "milvus.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "milvus.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "milvus.selectorLabels" -}}
app.kubernetes.io/name: {{ include "milvus.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "milvus.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "milvus.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "milvus.image" -}}
{{- printf "%s:%s" .Values.image.all.repository (toString .Values.image.all.tag) -}}
{{- end -}}

{{/* Name of the ConfigMap the pods mount. */}}
{{- define "milvus.configMapName" -}}
{{- if .Values.customConfigMap -}}
{{- .Values.customConfigMap -}}
{{- else -}}
{{- include "milvus.fullname" . -}}
{{- end -}}
{{- end -}}

{{/*
Component table of cluster mode. key = the values key holding enabled/replicas/resources;
port = the component's own gRPC port (0: metrics port only); coord = coordinator-like
(strategy Recreate unless activeStandby.enabled).
*/}}
{{- define "milvus.components" -}}
proxy: {key: proxy, port: 19530, portName: milvus, coord: false}
mixcoord: {key: mixCoordinator, port: 0, portName: "", coord: true}
rootcoord: {key: rootCoordinator, port: 53100, portName: rootcoord, coord: true}
querycoord: {key: queryCoordinator, port: 19531, portName: querycoord, coord: true}
datacoord: {key: dataCoordinator, port: 13333, portName: datacoord, coord: true}
indexcoord: {key: indexCoordinator, port: 31000, portName: indexcoord, coord: true}
querynode: {key: queryNode, port: 21123, portName: querynode, coord: false}
datanode: {key: dataNode, port: 21124, portName: datanode, coord: false}
indexnode: {key: indexNode, port: 21121, portName: indexnode, coord: false}
streamingnode: {key: streamingNode, port: 22222, portName: streamingnode, coord: false}
{{- end -}}

{{/* "true" when the component (a key of milvus.components) is rendered. */}}
{{- define "milvus.componentEnabled" -}}
{{- $root := index . 0 -}}
{{- $component := index . 1 -}}
{{- $c := index (include "milvus.components" $root | fromYaml) $component -}}
{{- if $root.Values.cluster.enabled -}}
{{- if eq $component "streamingnode" -}}
{{- if $root.Values.streaming.enabled }}true{{ end -}}
{{- else if (index $root.Values $c.key).enabled -}}
true
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Message queue of the first chain (Pulsar family / woodpecker): one branch wins.
Returns external-pulsar, pulsar, woodpecker, pulsarv3 or "".
*/}}
{{- define "milvus.mqFirstChain" -}}
{{- $woodpecker := false -}}
{{- if semverCompare ">=4.2.42-0" .Chart.Version -}}
{{- /* read unconditionally: values of a chart without the key fail here (nil pointer) */ -}}
{{- $woodpecker = .Values.woodpecker.enabled -}}
{{- end -}}
{{- if .Values.externalPulsar.enabled -}}
external-pulsar
{{- else if .Values.pulsar.enabled -}}
pulsar
{{- else -}}
{{- $found := "" -}}
{{- if $woodpecker -}}{{- $found = "woodpecker" -}}{{- end -}}
{{- if and (not $found) (semverCompare ">=4.2.21-0" .Chart.Version) -}}
{{- if .Values.pulsarv3.enabled -}}{{- $found = "pulsarv3" -}}{{- end -}}
{{- end -}}
{{- $found -}}
{{- end -}}
{{- end -}}

{{/* Second, independent chain (Kafka family). Returns external-kafka, kafka or "". */}}
{{- define "milvus.mqSecondChain" -}}
{{- if .Values.externalKafka.enabled -}}
external-kafka
{{- else if .Values.kafka.enabled -}}
kafka
{{- end -}}
{{- end -}}
