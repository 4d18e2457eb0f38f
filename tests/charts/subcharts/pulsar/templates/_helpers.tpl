{{/* Fixture Pulsar subchart helpers. Chart.Name is the alias: pulsar or pulsarv3. */}}
{{- define "pulsar.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pulsar.selector" -}}
app: {{ .Chart.Name }}
release: {{ .Release.Name }}
{{- end -}}

{{- define "pulsar.labels" -}}
{{ include "pulsar.selector" . }}
chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
heritage: {{ .Release.Service }}
cluster: {{ include "pulsar.fullname" . }}
{{- end -}}

{{- define "pulsar.image" -}}
{{- printf "%s:%s" .Values.images.repository (toString .Values.images.tag) -}}
{{- end -}}

{{/* component name -> (values switch, port, extra args) */}}
{{- define "pulsar.components" -}}
zookeeper: {switch: zookeeper, port: 2181, portName: client, headless: true, cmd: "bin/pulsar zookeeper"}
bookie: {switch: bookkeeper, port: 3181, portName: bookie, headless: true, cmd: "bin/pulsar bookie"}
broker: {switch: broker, port: 6650, portName: pulsar, headless: true, cmd: "bin/pulsar broker"}
proxy: {switch: proxy, port: 6650, portName: pulsar, headless: false, cmd: "bin/pulsar proxy"}
recovery: {switch: autorecovery, port: 8000, portName: http, headless: true, cmd: "bin/bookkeeper autorecovery"}
{{- end -}}
