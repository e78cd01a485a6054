{{/*
Monitoring helpers (alerts and dashboard). The histogram buckets below are those of
dapr_guard_admission_review_duration_seconds in src/server/metrics.ts.
*/}}

{{/* The largest histogram bucket at or below half of a webhook timeout (in seconds), as its le value. */}}
{{- define "dapr-guard.monitoring.latencyBucket" -}}
{{- $half := divf . 2 -}}
{{- $pick := "0.0005" -}}
{{- range list "0.0005" "0.001" "0.0025" "0.005" "0.01" "0.025" "0.05" "0.1" "0.25" "0.5" "1" -}}
{{- if le (float64 .) $half -}}{{- $pick = . -}}{{- end -}}
{{- end -}}
{{- $pick -}}
{{- end -}}

{{/*
A label matcher for an le value: Prometheus 3 writes whole numbers of classic histograms as "1.0",
Prometheus 2 keeps prom-client's "1".
*/}}
{{- define "dapr-guard.monitoring.leMatcher" -}}
{{- if contains "." . -}}le="{{ . }}"{{- else -}}le=~"{{ . }}(\\.0)?"{{- end -}}
{{- end -}}

{{/* Fails the render when an alert or dashboard is asked for without metrics. */}}
{{- define "dapr-guard.monitoring.needsMetrics" -}}
{{- if not .root.Values.metrics.enabled -}}
{{- fail (printf "%s=true needs metrics.enabled=true: it reads dapr-guard's metrics" .value) -}}
{{- end -}}
{{- end -}}
