{{/* vim: set filetype=mustache: */}}

{{/* Chart name, overridable with nameOverride. */}}
{{- define "dapr-guard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Prefix of object names: fullnameOverride, the release name when it contains the chart name, else <release>-<chart>. */}}
{{- define "dapr-guard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "dapr-guard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "dapr-guard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dapr-guard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "dapr-guard.labels" -}}
helm.sh/chart: {{ include "dapr-guard.chart" . }}
{{ include "dapr-guard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: dapr-guard
{{- end -}}

{{- define "dapr-guard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "dapr-guard.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* repository[:tag][@digest]; the tag defaults to the chart's appVersion. */}}
{{- define "dapr-guard.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "dapr-guard.replicas" -}}
{{- if .Values.ha.enabled -}}{{ .Values.ha.replicaCount }}{{- else -}}{{ .Values.replicaCount }}{{- end -}}
{{- end -}}

{{/*
Name of the MutatingWebhookConfiguration and of the ValidatingWebhookConfiguration (different kinds,
so they can share it). The API server calls mutating webhooks sorted by configuration name, and
dapr-guard must run before Dapr's injector (MutatingWebhookConfiguration "dapr-sidecar-injector",
a name hard-coded in the Dapr chart) so that the sidecar annotations it sets are read by the
injector. Every default name starts with "dapr-guard", which sorts before it; an override that does
not fails rendering. Go templates compare strings byte-wise, as the API server's sort does.
*/}}
{{- define "dapr-guard.webhookConfigurationName" -}}
{{- $default := ternary "dapr-guard" (printf "dapr-guard-%s" .Release.Name) (eq .Release.Name "dapr-guard") -}}
{{- $name := default $default .Values.webhooks.configurationName | trunc 63 | trimSuffix "-" -}}
{{- if not (lt $name "dapr-sidecar-injector") -}}
{{- fail (printf "webhooks.configurationName %q must sort before \"dapr-sidecar-injector\" (the API server calls mutating webhooks in name order and dapr-guard must run before Dapr's injector); use a name that starts with \"dapr-guard\", such as this release's default \"%s\"" $name $default) -}}
{{- end -}}
{{- $name -}}
{{- end -}}

{{/* Secret holding the serving certificate for tls.mode generate and certManager. */}}
{{- define "dapr-guard.tlsSecretName" -}}
{{- if eq .Values.tls.mode "existingSecret" -}}
{{- required "tls.existingSecret.name is required when tls.mode is existingSecret" .Values.tls.existingSecret.name -}}
{{- else -}}
{{- printf "%s-tls" (include "dapr-guard.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* cert-manager Certificate of the serving certificate (tls.mode certManager). */}}
{{- define "dapr-guard.servingCertificateName" -}}
{{- printf "%s-serving" (include "dapr-guard.fullname" .) -}}
{{- end -}}

{{/* Secret the server itself maintains for tls.mode selfManaged (not created by the chart). */}}
{{- define "dapr-guard.selfManagedSecretName" -}}
{{- default (printf "%s-server-tls" (include "dapr-guard.fullname" .)) .Values.tls.selfManaged.secretName -}}
{{- end -}}

{{/* "true" when the server calls the Kubernetes API: namespace labels or self-managed TLS. */}}
{{- define "dapr-guard.talksToApi" -}}
{{- if or (ne .Values.namespaceModes.source "off") (eq .Values.tls.mode "selfManaged") -}}true{{- end -}}
{{- end -}}

{{/* Where the certificate files are: the mounted Secret (modes 1-3) or an emptyDir (selfManaged). */}}
{{- define "dapr-guard.tlsDir" -}}/var/run/dapr-guard/tls{{- end -}}
{{- define "dapr-guard.configDir" -}}/etc/dapr-guard{{- end -}}
{{/* Where the ConfigMap <fullname>-client-ca (tls.clientCA) is mounted: ca.crt. */}}
{{- define "dapr-guard.clientCADir" -}}/var/run/dapr-guard/client-ca{{- end -}}

{{/* failurePolicy of the entry for Dapr's own resources: Fail in enforce, Ignore in warn/audit, unless set. */}}
{{- define "dapr-guard.daprResourcesFailurePolicy" -}}
{{- if .Values.webhooks.daprResources.failurePolicy -}}
{{- .Values.webhooks.daprResources.failurePolicy -}}
{{- else -}}
{{- ternary "Fail" "Ignore" (eq .Values.mode "enforce") -}}
{{- end -}}
{{- end -}}

{{/* matchConditions are served from Kubernetes 1.28 (beta, on by default; GA in 1.30). */}}
{{- define "dapr-guard.matchConditionsSupported" -}}
{{- if semverCompare ">=1.28-0" .Capabilities.KubeVersion.Version -}}true{{- end -}}
{{- end -}}

{{/*
namespaceSelector shared by every namespaced entry. kubernetes.io/metadata.name is set by the API
server on every namespace from Kubernetes 1.21 and cannot be changed. Excluding the release
namespace keeps dapr-guard from ever reviewing its own pods and Secrets.
Argument: dict "root" $ "only" (list of namespace names to select, or nil for all).
*/}}
{{- define "dapr-guard.namespaceSelector" -}}
{{- $root := .root -}}
{{- $excluded := concat (list "kube-system" $root.Release.Namespace) $root.Values.webhooks.namespaceSelector.excludeNamespaces | uniq -}}
matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values:
      {{- toYaml $excluded | nindent 6 }}
  - key: dapr-guard.io/ignore
    operator: DoesNotExist
  {{- with .only }}
  - key: kubernetes.io/metadata.name
    operator: In
    values:
      {{- toYaml . | nindent 6 }}
  {{- end }}
  {{- with $root.Values.webhooks.namespaceSelector.matchExpressions }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/* objectSelector of every entry (empty: all objects). */}}
{{- define "dapr-guard.objectSelector" -}}
{{- with .Values.webhooks.objectSelector -}}
objectSelector:
  {{- toYaml . | nindent 2 }}
{{- end -}}
{{- end -}}

{{/*
matchConditions block of one entry, or nothing below Kubernetes 1.28.
Argument: dict "root" $ "daprObjectsOnly" bool "extra" (list of {name, expression}).
The dapr-objects-only condition lets a Pod or workload through when the object, its pod template
(spec.template) or a CronJob's pod template (spec.jobTemplate.spec.template) has an annotation in
the dapr.io/ prefix. has() guards every step: a missing field is false, never an evaluation error
(an error would apply the entry's failurePolicy).
*/}}
{{- define "dapr-guard.matchConditions" -}}
{{- $root := .root -}}
{{- if include "dapr-guard.matchConditionsSupported" $root -}}
{{- $conditions := list -}}
{{- if and .daprObjectsOnly $root.Values.webhooks.daprObjectsOnly -}}
{{- $expression := list
  "(has(object.metadata.annotations) && object.metadata.annotations.exists(k, k.startsWith('dapr.io/')))"
  "(has(object.spec) && has(object.spec.template) && has(object.spec.template.metadata) && has(object.spec.template.metadata.annotations) && object.spec.template.metadata.annotations.exists(k, k.startsWith('dapr.io/')))"
  "(has(object.spec) && has(object.spec.jobTemplate) && has(object.spec.jobTemplate.spec) && has(object.spec.jobTemplate.spec.template) && has(object.spec.jobTemplate.spec.template.metadata) && has(object.spec.jobTemplate.spec.template.metadata.annotations) && object.spec.jobTemplate.spec.template.metadata.annotations.exists(k, k.startsWith('dapr.io/')))"
  | join " || " -}}
{{- $conditions = append $conditions (dict "name" "dapr-objects-only" "expression" $expression) -}}
{{- end -}}
{{- $conditions = concat $conditions (default (list) .extra) -}}
{{- with $conditions -}}
matchConditions:
  {{- toYaml . | nindent 2 }}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The chart-generated CA and serving certificate (tls.mode generate), computed once per render and
shared by the Secret and both webhook configurations (genCA is random, so computing it twice would
give the API server a CA that did not sign the certificate the pods serve).
On `helm upgrade` the existing Secret is looked up and reused as is: regenerating the CA on every
upgrade would break admission until the new caBundle and the new certificate reach the API server
and every replica at the same moment. With tls.generate.regenerate the pair is replaced and the
caBundle holds the new and the previous CA until the next upgrade.
`helm template` and client-side dry runs have no cluster: lookup returns nothing and a new pair is
generated on every render.
Result (YAML): caCert, cert, key (PEM) and caBundle (PEM, one or two CAs).
*/}}
{{- define "dapr-guard.generatedTls" -}}
{{- if not (hasKey .Values "__daprGuardGeneratedTls") -}}
{{- $secretName := include "dapr-guard.tlsSecretName" . -}}
{{- $existing := (lookup "v1" "Secret" .Release.Namespace $secretName) | default dict -}}
{{- $data := get $existing "data" | default dict -}}
{{- $result := dict -}}
{{- if and (not .Values.tls.generate.regenerate) (get $data "ca.crt") (get $data "tls.crt") (get $data "tls.key") -}}
{{- $caCert := get $data "ca.crt" | b64dec -}}
{{- $result = dict "caCert" $caCert "cert" (get $data "tls.crt" | b64dec) "key" (get $data "tls.key" | b64dec) "caBundle" $caCert "reused" true -}}
{{- else -}}
{{- $service := include "dapr-guard.fullname" . -}}
{{- $namespace := .Release.Namespace -}}
{{- $altNames := list $service (printf "%s.%s" $service $namespace) (printf "%s.%s.svc" $service $namespace) (printf "%s.%s.svc.cluster.local" $service $namespace) -}}
{{- $ca := genCA (printf "%s-ca" $service) (int .Values.tls.generate.caValidityDays) -}}
{{- $cert := genSignedCert (printf "%s.%s.svc" $service $namespace) nil $altNames (int .Values.tls.generate.certValidityDays) $ca -}}
{{- $bundle := $ca.Cert -}}
{{- with get $data "ca.crt" -}}
{{- $bundle = printf "%s\n%s" (trimSuffix "\n" $ca.Cert) (b64dec .) -}}
{{- end -}}
{{- $result = dict "caCert" $ca.Cert "cert" $cert.Cert "key" $cert.Key "caBundle" $bundle "reused" false -}}
{{- end -}}
{{- $_ := set .Values "__daprGuardGeneratedTls" $result -}}
{{- end -}}
{{- toYaml (get .Values "__daprGuardGeneratedTls") -}}
{{- end -}}

{{/*
clientConfig of one entry. Argument: dict "root" $ "path" "/mutate" or "/validate".
caBundle: generate → the generated CA; existingSecret → tls.existingSecret.caBundle; certManager →
filled by cert-manager's cainjector (annotation on the configuration); selfManaged → patched by the
server before it reports ready.
*/}}
{{- define "dapr-guard.clientConfig" -}}
{{- $root := .root -}}
service:
  name: {{ include "dapr-guard.fullname" $root }}
  namespace: {{ $root.Release.Namespace }}
  path: {{ .path }}
  port: 443
{{- if eq $root.Values.tls.mode "generate" }}
caBundle: {{ (include "dapr-guard.generatedTls" $root | fromYaml).caBundle | b64enc }}
{{- else if eq $root.Values.tls.mode "existingSecret" }}
caBundle: {{ required "tls.existingSecret.caBundle (PEM of the CA that signed the Secret's certificate) is required when tls.mode is existingSecret" $root.Values.tls.existingSecret.caBundle | b64enc }}
{{- end }}
{{- end -}}

{{/* Annotations of both webhook configurations. */}}
{{- define "dapr-guard.webhookAnnotations" -}}
{{- if eq .Values.tls.mode "certManager" -}}
annotations:
  cert-manager.io/inject-ca-from: {{ printf "%s/%s" .Release.Namespace (include "dapr-guard.servingCertificateName" .) }}
{{- end -}}
{{- end -}}

{{/* Kinds whose Pods Dapr injects: the rules for the mutating and the workloads entries. */}}
{{- define "dapr-guard.workloadRules" -}}
- apiGroups: [""]
  apiVersions: ["v1"]
  resources: ["pods"]
  operations: ["CREATE", "UPDATE"]
  scope: Namespaced
- apiGroups: ["apps"]
  apiVersions: ["v1"]
  resources: ["deployments", "statefulsets", "daemonsets", "replicasets"]
  operations: ["CREATE", "UPDATE"]
  scope: Namespaced
- apiGroups: ["batch"]
  apiVersions: ["v1"]
  resources: ["jobs", "cronjobs"]
  operations: ["CREATE", "UPDATE"]
  scope: Namespaced
{{- end -}}

{{/* Checks that cannot be expressed in values.schema.json; included from the Deployment. */}}
{{- define "dapr-guard.validate" -}}
{{- $shutdown := add (int .Values.server.shutdownDelaySeconds) (int .Values.server.shutdownGracePeriodSeconds) -}}
{{- if ge (int $shutdown) (int .Values.terminationGracePeriodSeconds) -}}
{{- fail (printf "server.shutdownDelaySeconds + server.shutdownGracePeriodSeconds (%d) must be less than terminationGracePeriodSeconds (%d), or the kubelet kills the pod before in-flight reviews finish" (int $shutdown) (int .Values.terminationGracePeriodSeconds)) -}}
{{- end -}}
{{- if and (eq .Values.tls.mode "selfManaged") (ge (int .Values.tls.selfManaged.renewBeforeDays) (int .Values.tls.selfManaged.validityDays)) -}}
{{- fail "tls.selfManaged.renewBeforeDays must be less than tls.selfManaged.validityDays" -}}
{{- end -}}
{{- if and (eq .Values.tls.mode "selfManaged") (not .Values.metrics.enabled) -}}
{{- fail "tls.mode selfManaged needs metrics.enabled: the HTTPS port has no certificate until the Secret is readable, so the kubelet probes /healthz and /readyz on the plain metrics port" -}}
{{- end -}}
{{- if and .Values.tls.clientCA (not .Values.metrics.enabled) -}}
{{- fail "tls.clientCA needs metrics.enabled: the HTTPS port then requires client certificates, so the kubelet probes /healthz and /readyz on the plain metrics port" -}}
{{- end -}}
{{- if lt (int .Values.server.maxInflightBodyBytes) (int .Values.server.bodyLimitBytes) -}}
{{- fail (printf "server.maxInflightBodyBytes (%d) must be at least server.bodyLimitBytes (%d): a review of the largest size could never be read" (int .Values.server.maxInflightBodyBytes) (int .Values.server.bodyLimitBytes)) -}}
{{- end -}}
{{- if gt (int .Values.server.headersTimeoutSeconds) (int .Values.server.requestTimeoutSeconds) -}}
{{- fail (printf "server.headersTimeoutSeconds (%d) must not be above server.requestTimeoutSeconds (%d)" (int .Values.server.headersTimeoutSeconds) (int .Values.server.requestTimeoutSeconds)) -}}
{{- end -}}
{{- $issuerRef := .Values.tls.certManager.issuerRef -}}
{{- if and (eq .Values.tls.mode "certManager") $issuerRef (not $issuerRef.name) -}}
{{- fail (printf "tls.certManager.issuerRef needs a name (got %s): cert-manager refuses a Certificate whose issuerRef has none; leave issuerRef empty for the chart's own CA" (toJson $issuerRef)) -}}
{{- end -}}
{{- include "dapr-guard.validateSidecarDefaults" . -}}
{{- end -}}

{{/*
The four sidecar defaults as the server computes them: the figures of `guidelines`
(src/rules/support/dapr-annotations.ts), each overridden by rules.sidecar-resources.defaults.<key>.
YAML of cpuRequest, cpuLimit, memoryRequest, memoryLimit (strings). Used by the render-time check and
the native policies' parameters.
*/}}
{{- define "dapr-guard.sidecarResourceDefaults" -}}
{{- $defaults := dict "cpuRequest" "100m" "cpuLimit" "4" "memoryRequest" "250Mi" "memoryLimit" "4000Mi" -}}
{{- if eq .Values.guidelines "dapr-1.13" -}}
{{- $defaults = dict "cpuRequest" "100m" "cpuLimit" "300m" "memoryRequest" "250Mi" "memoryLimit" "1000Mi" -}}
{{- end -}}
{{- with (index .Values.rules "sidecar-resources") -}}
{{- with .defaults -}}
{{- range $key, $value := . -}}
{{- if and (hasKey $defaults $key) (not (kindIs "invalid" $value)) -}}
{{- $_ := set $defaults $key (toString $value) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toYaml $defaults -}}
{{- end -}}

{{/*
rules.sidecar-resources.defaults: no request above its limit, with the server's startup message
(src/rules/sidecar-resources.ts). The schema has already checked the grammar.
*/}}
{{- define "dapr-guard.validateSidecarDefaults" -}}
{{- $defaults := include "dapr-guard.sidecarResourceDefaults" . | fromYaml -}}
{{- range $pair := list (list "cpuRequest" "cpuLimit") (list "memoryRequest" "memoryLimit") -}}
{{- $request := index $defaults (index $pair 0) -}}
{{- $limit := index $defaults (index $pair 1) -}}
{{- $requestValue := include "dapr-guard.quantityValue" $request -}}
{{- $limitValue := include "dapr-guard.quantityValue" $limit -}}
{{- if and $requestValue $limitValue (gt (float64 $requestValue) (float64 $limitValue)) -}}
{{- fail (printf "rules.sidecar-resources.defaults.%s (%s) must not be above %s (%s)" (index $pair 0) $request (index $pair 1) $limit) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
A quantity without an exponent as a float in base units (cores, bytes), printed so that float64 reads
it back exactly; n, u, m divide and k…E, Ki…Ei multiply, as parseQuantity in
src/rules/support/quantity.ts does. Empty for what it cannot compare (an exponent such as 1e3): the
server still checks those at startup.
*/}}
{{- define "dapr-guard.quantityValue" -}}
{{- $grammar := "^\\+?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([KMGTPE]i|[numkMGTPE])?$" -}}
{{- if regexMatch $grammar . -}}
{{- $number := float64 (regexReplaceAll $grammar . "${1}") -}}
{{- $suffix := regexReplaceAll $grammar . "${3}" -}}
{{- $divisors := dict "n" 1e9 "u" 1e6 "m" 1e3 -}}
{{- $multipliers := dict "" 1.0 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "P" 1e15 "E" 1e18 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 -}}
{{- if hasKey $divisors $suffix -}}
{{- printf "%v" (divf $number (index $divisors $suffix)) -}}
{{- else -}}
{{- printf "%v" (mulf $number (index $multipliers $suffix)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
CEL: the Namespace under review keeps dapr-guard.io/ignore and dapr-guard.io/mode as they were
(oldObject is null on CREATE, so any such label there is a change). Presence and value are compared
separately, so no expression mixes a string with null; has() guards the labels map.
*/}}
{{- define "dapr-guard.namespaceLabelsUnchanged" -}}
{{- $checks := list -}}
{{- range list "dapr-guard.io/ignore" "dapr-guard.io/mode" -}}
{{- $inNew := printf "(has(object.metadata.labels) && '%s' in object.metadata.labels)" . -}}
{{- $inOld := printf "(oldObject != null && has(oldObject.metadata.labels) && '%s' in oldObject.metadata.labels)" . -}}
{{- $checks = append $checks (printf "(%s == %s && (!%s || object.metadata.labels['%s'] == oldObject.metadata.labels['%s']))" $inNew $inOld $inNew . .) -}}
{{- end -}}
{{- join " && " $checks -}}
{{- end -}}

{{/* CEL: the requesting user is in exemptions.allowedGroups. */}}
{{- define "dapr-guard.allowedGroupsMember" -}}
request.userInfo.groups.exists(group, group in {{ .Values.exemptions.allowedGroups | toJson }})
{{- end -}}

{{/* The API server evaluates ValidatingAdmissionPolicies itself from Kubernetes 1.30 (GA). */}}
{{- define "dapr-guard.admissionPolicySupported" -}}
{{- if .Capabilities.APIVersions.Has "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy" -}}true{{- end -}}
{{- end -}}

{{/* What the namespace label guard says, from the webhook and the ValidatingAdmissionPolicy alike. */}}
{{- define "dapr-guard.namespaceLabelsMessage" -}}
[namespace-labels] adding, changing or removing the dapr-guard.io/ignore and dapr-guard.io/mode labels of a Namespace is reserved to cluster operators (exemptions.allowedGroups) — undo the change, or ask a cluster operator to make it
{{- end -}}
