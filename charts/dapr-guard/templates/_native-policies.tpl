{{/*
Native admission policies (nativePolicies): the rules CEL can express, evaluated by the API server
itself. A policy is rendered when nativePolicies.enabled, the rule is enabled, its choice
(nativePolicies.rules.<id>) is not "webhook", and the cluster serves the kind
(.Capabilities.APIVersions). Where it is not rendered the webhook keeps the rule whatever the choice.
*/}}

{{/* The rules that have a native policy, and the kind each needs. */}}
{{- define "dapr-guard.nativePolicyKinds" -}}
sidecar-resources: admissionregistration.k8s.io/v1/MutatingAdmissionPolicy
sidecar-resource-values: admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy
component-plaintext-secrets: admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy
control-plane-namespace: admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy
mtls-enabled: admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy
{{- end -}}

{{/* "true" when the policy of rule .id is rendered. Argument: dict "root" $ "id" rule-id. */}}
{{- define "dapr-guard.nativePolicyRendered" -}}
{{- $root := .root -}}
{{- $kind := get (include "dapr-guard.nativePolicyKinds" $root | fromYaml) .id -}}
{{- $rule := get (default dict $root.Values.rules) .id | default dict -}}
{{- $choice := get (default dict $root.Values.nativePolicies.rules) .id | default "both" -}}
{{- if and $root.Values.nativePolicies.enabled $kind (ne $choice "webhook") (ne (toString (get $rule "enabled")) "false") ($root.Capabilities.APIVersions.Has $kind) -}}true{{- end -}}
{{- end -}}

{{/* "true" when rule .id runs as a native policy only: the server's configuration turns the rule off. */}}
{{- define "dapr-guard.nativePolicyOnly" -}}
{{- if and (include "dapr-guard.nativePolicyRendered" .) (eq (get (default dict .root.Values.nativePolicies.rules) .id | default "both") "policies") -}}true{{- end -}}
{{- end -}}

{{/* The less strict of two modes (audit < warn < enforce), as src/admission/mode.ts leastStrict. */}}
{{- define "dapr-guard.leastStrict" -}}
{{- $rank := dict "audit" 0 "warn" 1 "enforce" 2 -}}
{{- if lt (get $rank (index . 0)) (get $rank (index . 1)) -}}{{ index . 0 }}{{- else -}}{{ index . 1 }}{{- end -}}
{{- end -}}

{{/*
The mode of rule .id in a namespace labelled dapr-guard.io/mode=.namespaceMode (empty: no label, or a
cluster-scoped object), capped at .maxMode: src/policy/resolve-mode.ts. Every rule with a native policy
defaults to enforce.
*/}}
{{- define "dapr-guard.nativeRuleMode" -}}
{{- $root := .root -}}
{{- $configured := get (get (default dict $root.Values.rules) .id | default dict) "mode" | default "" -}}
{{- $ruleMode := default "enforce" $configured -}}
{{- $mode := "" -}}
{{- if .namespaceMode -}}
{{- $mode = include "dapr-guard.leastStrict" (list .namespaceMode $ruleMode) -}}
{{- else if $configured -}}
{{- $mode = $configured -}}
{{- else -}}
{{- $mode = include "dapr-guard.leastStrict" (list $root.Values.mode $ruleMode) -}}
{{- end -}}
{{- include "dapr-guard.leastStrict" (list $mode (default "enforce" .maxMode)) -}}
{{- end -}}

{{/* Name of a native policy: <configuration name>-<suffix> (cluster-scoped names may be 253 characters long; the configuration name is at most 63). */}}
{{- define "dapr-guard.nativePolicyName" -}}
{{- printf "%s-%s" (include "dapr-guard.webhookConfigurationName" .root) .suffix -}}
{{- end -}}

{{/* The parameter ConfigMap of the native policies (release namespace; a ConfigMap name may be 253 characters long). */}}
{{- define "dapr-guard.nativePolicyParamsName" -}}
{{- printf "%s-native-policies" (include "dapr-guard.fullname" .) -}}
{{- end -}}

{{/*
The bindings of one policy, one per mode that occurs: with namespace labels, one for namespaces
without a valid dapr-guard.io/mode label (and cluster-scoped objects, which namespaceSelector does not
filter) and one per label value, limited to namespaced objects.
Argument: dict "root" $ "policy" name "id" rule-id "maxMode" mode-or-"" "kind" "Validating"|"Mutating"
"only" (namespace names, or nil).
*/}}
{{- define "dapr-guard.nativePolicyBindings" -}}
{{- $root := .root -}}
{{- $modes := list "enforce" "warn" "audit" -}}
{{- $cases := list (dict "suffix" "" "namespaceMode" "" "labels" (list (dict "key" "dapr-guard.io/mode" "operator" "NotIn" "values" $modes))) -}}
{{- if eq $root.Values.namespaceModes.source "off" -}}
{{- $cases = list (dict "suffix" "" "namespaceMode" "" "labels" list) -}}
{{- else -}}
{{- range $modes -}}
{{- $cases = append $cases (dict "suffix" (printf "-ns-%s" .) "namespaceMode" . "labels" (list (dict "key" "dapr-guard.io/mode" "operator" "In" "values" (list .)))) -}}
{{- end -}}
{{- end -}}
{{- $ctx := . -}}
{{- range $cases }}
{{- $mode := include "dapr-guard.nativeRuleMode" (dict "root" $root "id" $ctx.id "namespaceMode" .namespaceMode "maxMode" $ctx.maxMode) -}}
{{- if or (eq $ctx.kind "Validating") (ne $mode "audit") }}
---
apiVersion: admissionregistration.k8s.io/v1
kind: {{ $ctx.kind }}AdmissionPolicyBinding
metadata:
  name: {{ printf "%s%s" $ctx.policy .suffix }}
  labels:
    {{- include "dapr-guard.labels" $root | nindent 4 }}
    dapr-guard.io/rule: {{ $ctx.id }}
spec:
  policyName: {{ $ctx.policy }}
  paramRef:
    name: {{ include "dapr-guard.nativePolicyParamsName" $root }}
    namespace: {{ $root.Release.Namespace }}
    parameterNotFoundAction: Deny
  {{- if eq $ctx.kind "Validating" }}
  validationActions:
    - {{ get (dict "enforce" "Deny" "warn" "Warn" "audit" "Audit") $mode }}
  {{- end }}
  matchResources:
    namespaceSelector:
      {{- $selector := include "dapr-guard.namespaceSelector" (dict "root" $root "only" $ctx.only) | fromYaml }}
      {{- $_ := set $selector "matchExpressions" (concat $selector.matchExpressions .labels) }}
      {{- toYaml $selector | nindent 6 }}
    {{- include "dapr-guard.objectSelector" $root | nindent 4 }}
    {{- if .namespaceMode }}
    resourceRules:
      - apiGroups: ["*"]
        apiVersions: ["*"]
        resources: ["*"]
        operations: ["CREATE", "UPDATE"]
        scope: Namespaced
    {{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
CEL: the object's dapr-guard.io/exempt annotation exempts it from rule .id, as src/policy/exemptions.ts
reads it: exemptions on and counting in the namespace, the rule listed, a non-empty reason, and set by
an allowed user, carried unchanged by an UPDATE, or copied by a kube-controller-manager controller into
an object it owns. Argument: dict "root" $ "id" rule-id.
*/}}
{{- define "dapr-guard.celExempt" -}}
{{- $root := .root -}}
{{- if not $root.Values.exemptions.enabled -}}
false
{{- else -}}
{{- $a := "object.metadata.annotations" -}}
{{- $o := "oldObject.metadata.annotations" -}}
{{- $parts := list -}}
{{- with $root.Values.exemptions.namespaces -}}
{{- $parts = append $parts (printf "has(request.namespace) && request.namespace in %s" (toJson .)) -}}
{{- end -}}
{{- $parts = append $parts (printf "has(%s) && 'dapr-guard.io/exempt' in %s && %s['dapr-guard.io/exempt'].split(',').exists(id, id.trim() == '%s')" $a $a $a .id) -}}
{{- $parts = append $parts (printf "'dapr-guard.io/exempt-reason' in %s && %s['dapr-guard.io/exempt-reason'].trim() != ''" $a $a) -}}
{{- $same := list -}}
{{- range list "dapr-guard.io/exempt" "dapr-guard.io/exempt-reason" -}}
{{- $same = append $same (printf "(('%s' in %s) == (has(%s) && '%s' in %s)) && (!('%s' in %s) || %s['%s'] == %s['%s'])" . $a $o . $o . $a $a . $o .) -}}
{{- end -}}
{{- $unchanged := printf "(request.operation == 'UPDATE' && oldObject != null && %s)" (join " && " $same) -}}
{{- $controller := "((request.userInfo.username == 'system:kube-controller-manager' || request.userInfo.username.startsWith('system:serviceaccount:kube-system:')) && has(object.metadata.ownerReferences) && object.metadata.ownerReferences.exists(owner, has(owner.controller) && owner.controller))" -}}
{{- $parts = append $parts (printf "(%s || %s || %s)" $unchanged (include "dapr-guard.allowedGroupsMember" $root) $controller) -}}
({{ join ") && (" $parts }})
{{- end -}}
{{- end -}}

{{/* matchConditions entry that skips objects exempt from rule .id. Argument: dict "root" $ "id" rule-id. */}}
{{- define "dapr-guard.nativeNotExempt" -}}
- name: not-exempt
  expression: {{ printf "!(%s)" (include "dapr-guard.celExempt" .) | quote }}
{{- end -}}

{{/* A CEL string literal of .: single quotes, backslash and quote escaped. */}}
{{- define "dapr-guard.celString" -}}
'{{ . | replace "\\" "\\\\" | replace "'" "\\'" }}'
{{- end -}}

{{/*
CEL: the text .text (a CEL expression) clipped to .limit characters, as clipText in
src/rules/support/messages.ts for text that needs no escaping (names, quantities).
*/}}
{{- define "dapr-guard.celClip" -}}
({{ .text }}.size() > {{ .limit }} ? {{ .text }}.substring(0, {{ sub .limit 1 }}) + '…' : {{ .text }})
{{- end -}}

{{/*
CEL: a message built by template .template (given dict "limit" L plus .args) at the first clip limit
of src/rules/support/messages.ts fitMessage whose text fits .budget, else the last one cut to it.
*/}}
{{- define "dapr-guard.celFitMessage" -}}
{{- $ctx := . -}}
{{- $candidates := list -}}
{{- range list 64 48 40 32 24 16 8 -}}
{{- $candidates = append $candidates (include $ctx.template (merge (dict "limit" .) $ctx.args)) -}}
{{- end -}}
{{- $last := include $ctx.template (merge (dict "limit" 8) $ctx.args) -}}
[{{ join ", " $candidates }}, {{ include "dapr-guard.celClip" (dict "text" (printf "(%s)" $last) "limit" .budget) }}].filter(m, m.size() <= {{ .budget }})[0]
{{- end -}}

{{/* CEL: the object's name for messages, as contextObjectName in src/rules/support/objects.ts. */}}
{{- define "dapr-guard.celObjectName" -}}
(has(object.metadata.name) && object.metadata.name != '' ? object.metadata.name : (has(request.name) && request.name != '' ? request.name : (has(object.metadata.generateName) && object.metadata.generateName != '' ? object.metadata.generateName + '…' : '(unnamed)')))
{{- end -}}

{{/*
CEL: the annotations of the pod metadata of a Pod or workload (src/rules/support/workloads.ts), an
empty map when there are none. has() guards every step.
*/}}
{{- define "dapr-guard.celPodAnnotations" -}}
{{- include "dapr-guard.celPodAnnotationsOf" "object" -}}
{{- end -}}

{{/* As dapr-guard.celPodAnnotations, of the object named . ("object" or "oldObject"). */}}
{{- define "dapr-guard.celPodAnnotationsOf" -}}
{{- $o := . -}}
request.kind.kind == 'Pod' ? (has({{ $o }}.metadata.annotations) ? {{ $o }}.metadata.annotations : {}) : (request.kind.kind == 'CronJob' ? (has({{ $o }}.spec) && has({{ $o }}.spec.jobTemplate) && has({{ $o }}.spec.jobTemplate.spec) && has({{ $o }}.spec.jobTemplate.spec.template) && has({{ $o }}.spec.jobTemplate.spec.template.metadata) && has({{ $o }}.spec.jobTemplate.spec.template.metadata.annotations) ? {{ $o }}.spec.jobTemplate.spec.template.metadata.annotations : {}) : (has({{ $o }}.spec) && has({{ $o }}.spec.template) && has({{ $o }}.spec.template.metadata) && has({{ $o }}.spec.template.metadata.annotations) ? {{ $o }}.spec.template.metadata.annotations : {}))
{{- end -}}

{{/* CEL: Dapr's injector gives the Pod a sidecar (dapr.io/enabled is "true", any case). */}}
{{- define "dapr-guard.celDaprEnabled" -}}
'dapr.io/enabled' in variables.annotations && variables.annotations['dapr.io/enabled'].lowerAscii() == 'true'
{{- end -}}

{{/* matchConstraints resourceRules of the Pod-creating kinds (the webhook's workloads entries). */}}
{{- define "dapr-guard.nativeWorkloadRules" -}}
{{- include "dapr-guard.workloadRules" . -}}
{{- end -}}

{{/* CEL: the mtls-enabled message (src/rules/mtls-enabled.ts) with names clipped to .limit. */}}
{{- define "dapr-guard.celMtlsMessage" -}}
'Configuration "' + {{ include "dapr-guard.celClip" (dict "text" "variables.name" "limit" .limit) }} + '" sets spec.mtls.enabled: false (' + (variables.name == 'daprsystem' ? 'in the control-plane namespace this turns off mTLS for every Dapr sidecar' : 'only daprsystem in the control-plane namespace takes effect, but disabled mTLS is refused everywhere') + ') — set spec.mtls.enabled to true'
{{- end -}}

{{/*
CEL: the value . (a CEL string) in double quotes as quoted() in src/rules/support/objects.ts renders
it, for printable ASCII (`"` and `\` escaped, at most 40 characters when it has them); anything else
is not shown.
*/}}
{{- define "dapr-guard.celQuotedValue" -}}
{{- $escaped := printf "%s.replace('\\\\', '\\\\\\\\').replace('\"', '\\\\\"')" . -}}
({{ . }}.matches('^[ -~]*$') ? ({{ . }}.matches('^[^\"\\\\]*$') ? '"' + {{ include "dapr-guard.celClip" (dict "text" . "limit" 40) }} + '"' : ({{ $escaped }}.size() <= 40 ? '"' + {{ $escaped }} + '"' : '(a value with characters that need escaping)')) : '(a value with characters that need escaping)')
{{- end -}}

{{/*
CEL: whether a Component metadata name (. , a CEL string) is sensitive for the Component's type:
declared so (variables.declared), or the name heuristic (isCredentialName in
src/rules/support/credentials.ts, its word lists from the parameter ConfigMap) unless the type lists it
as no secret.
*/}}
{{- define "dapr-guard.celSensitive" -}}
({{ . }}.lowerAscii() in variables.declared) || ({{ include "dapr-guard.celCredentialName" . }} && !({{ . }}.lowerAscii() in variables.notSecret))
{{- end -}}

{{/* CEL: isCredentialName (src/rules/support/credentials.ts) of the string . , word lists from variables. */}}
{{- define "dapr-guard.celCredentialName" -}}
{{- $l := printf "%s.trim().lowerAscii()" . -}}
{{- $bare := printf "(%s.startsWith(params.data.headerPrefix) ? %s.substring(params.data.headerPrefix.size()) : %s)" $l $l $l -}}
{{- $excluded := printf "(%s in variables.notCredentialNames || %s.startsWith('keyprefix') || variables.notCredentialSuffixes.exists(suffix, %s.endsWith(suffix)) || variables.notCredentialParts.exists(part, %s.contains(part)))" $l $l $l $l -}}
({{ $bare }} in variables.credentialNames || (variables.credentialTerms.exists(term, {{ $l }}.contains(term)) && !{{ $excluded }}))
{{- end -}}

{{/*
CEL: the value . holds a URL with a password (`scheme://user:password@host`): userinfoHasPassword in
src/rules/support/credentials.ts as one RE2 expression (linear), for string values.
*/}}
{{- define "dapr-guard.celUrlCredential" -}}
(type({{ . }}) == string && string({{ . }}).matches('\\S://[^\\s/?#:]*:[^\\s/?#]+@'))
{{- end -}}

{{/*
CEL: the value . holds a connection-string pair whose key names a credential (`Password=…`):
hasCredentialPair in src/rules/support/credentials.ts over the value split at `;` and whitespace.
*/}}
{{- define "dapr-guard.celConnectionStringCredential" -}}
{{- $eq := "pair.indexOf('=')" -}}
{{- $key := printf "pair.substring(0, %s).trim()" $eq -}}
(type({{ . }}) == string && string({{ . }}).replace('\t', ';').replace('\n', ';').replace('\r', ';').replace(' ', ';').split(';').exists(pair, {{ $eq }} > 0 && {{ $eq }} <= 192 && pair.substring({{ $eq }} + 1).trim() != '' && {{ $key }}.matches('^[a-zA-Z][A-Za-z0-9_.-]*$') && {{ include "dapr-guard.celCredentialName" $key }}))
{{- end -}}

{{/*
CEL: the component-plaintext-secrets message (src/rules/component-plaintext-secrets.ts renderMessage)
for item .index of spec.metadata, problem .problem ("plaintext" or "empty"), text clipped to .limit.
*/}}
{{- define "dapr-guard.celComponentMessage" -}}
{{- $field := printf "variables.items[%s].name" .index -}}
{{- $quotable := printf "(%s.size() > 0 && %s.size() <= 64 && %s.matches('^(header:)?[A-Za-z0-9_./-]+$'))" $field $field $field -}}
{{- $where := printf "(%s ? 'spec.metadata ' + %s : 'spec.metadata[' + string(%s) + ']')" $quotable (include "dapr-guard.celClip" (dict "text" $field "limit" .limit)) .index -}}
{{- $key := printf "(%s ? %s : '<key>')" $quotable (include "dapr-guard.celClip" (dict "text" (printf "%s.replace(':', '-').replace('/', '-')" $field) "limit" .limit)) -}}
{{- $reference := printf "'secretKeyRef: {name: <secret>, key: ' + %s + '}'" $key -}}
{{- $subject := printf "'Component \"' + %s + '\": ' + %s" (include "dapr-guard.celClip" (dict "text" "variables.name" "limit" .limit)) $where -}}
{{- if eq .problem "empty" -}}
{{ $subject }} + ' is empty — remove it, or use ' + {{ $reference }} + ' if a secret is needed'
{{- else -}}
{{ $subject }} + variables.problem + ' — use ' + {{ $reference }} + (variables.store != '' ? ' from secret store ' + {{ include "dapr-guard.celClip" (dict "text" "variables.store" "limit" .limit) }} : ' (Kubernetes Secret or auth.secretStore)')
{{- end -}}
{{- end -}}

{{/*
CEL: the JSON Patch of the sidecar-resources policy: one add per missing annotation (variables.missing
entries [setting, annotation, other half, "request"|"limit"]), the value from the parameter ConfigMap,
or the user's other half when the default would contradict it (defaultConsistentWithUser in
src/rules/sidecar-resources.ts).
*/}}
{{- define "dapr-guard.celSidecarPatch" -}}
{{- $default := "params.data[s[0]]" -}}
{{- $user := "variables.annotations[s[2]]" -}}
{{- $usable := printf "(s[2] in variables.annotations && %s.size() <= 64 && %s && sign(quantity(%s)) >= 0 && isQuantity(%s))" $user (include "dapr-guard.celIsQuantity" $user) $user $default -}}
{{- $contradicts := printf "(s[3] == 'request' ? quantity(%s).isGreaterThan(quantity(%s)) : quantity(%s).isLessThan(quantity(%s)))" $default $user $default $user -}}
!variables.daprEnabled ? [] : variables.missing.map(s, JSONPatch{op: 'add', path: variables.path + jsonpatch.escapeKey(s[1]), value: {{ $usable }} && {{ $contradicts }} ? {{ $user }} : {{ $default }}})
{{- end -}}

{{/*
CEL: the object named .o ("object" or "oldObject") is a Dapr control-plane object placed in namespace
default (problemOf in src/rules/control-plane-namespace.ts; the names from src/rules/support/control-plane.ts
through files/native-policy-data.json). Argument: dict "o" name "cp" the data's controlPlane.
*/}}
{{- define "dapr-guard.celControlPlaneProblem" -}}
{{- $o := .o -}}
{{- $cp := .cp -}}
{{- $gk := "(request.kind.group + '/' + request.kind.kind)" -}}
{{- $name := printf "(has(%s.metadata.name) ? %s.metadata.name : '')" $o $o -}}
{{- $labels := printf "(has(%s.metadata.labels) ? %s.metadata.labels : {})" $o $o -}}
{{- $app := printf "('app' in %s ? %s['app'] : '')" $labels $labels -}}
{{- $podKinds := list "/Pod" "apps/Deployment" "apps/StatefulSet" "apps/DaemonSet" "apps/ReplicaSet" "batch/Job" "batch/CronJob" -}}
{{- $pod := printf "(%s in %s ? (%s) : {})" $gk (toJson $podKinds) (include "dapr-guard.celPodAnnotationsOf" $o) -}}
{{- $services := list -}}
{{- $workloads := list -}}
{{- $apps := list -}}
{{- range $cp.workloads -}}
{{- $services = append $services (index . 0) -}}
{{- $workloads = append $workloads (list (index . 1) (index . 2)) -}}
{{- $apps = append $apps (index . 2) -}}
{{- end -}}
{{- $service := printf "(('%s' in %s && %s['%s'] in %s) || (request.kind.group == 'apps' && %s.exists(w, w[0] == request.kind.kind && (w[1] == %s || w[1] == %s))))" $cp.annotation $pod $pod $cp.annotation (toJson $services) (toJson $workloads) $name $app -}}
{{- $appService := printf "(%s == '/Service' && '%s' in %s)" $gk $cp.appServiceLabel $labels -}}
{{- $named := printf "(%s in %s && %s in %s[%s])" $gk (toJson $cp.namespacedObjectNames) $name (toJson $cp.namespacedObjectNames) $gk -}}
{{- $appLabelled := printf "(%s in %s && %s in %s)" $gk (toJson $cp.appLabelledKinds) $app (toJson $apps) -}}
{{- $namespaced := printf "(has(request.namespace) && request.namespace == 'default' && (%s || (!%s && (%s || %s))))" $service $appService $named $appLabelled -}}
{{- $binding := printf "(!has(request.namespace) && %s == 'rbac.authorization.k8s.io/ClusterRoleBinding' && %s in %s && has(%s.subjects) && %s.subjects.exists(s, s.kind == 'ServiceAccount' && has(s.namespace) && s.namespace == 'default'))" $gk $name (toJson $cp.clusterRoleBindingNames) $o $o -}}
{{- $injectorApp := "" -}}
{{- range $cp.workloads -}}{{- if eq (index . 0) "injector" -}}{{- $injectorApp = index . 2 -}}{{- end -}}{{- end -}}
{{- $injector := printf "(!has(request.namespace) && %s == 'admissionregistration.k8s.io/MutatingWebhookConfiguration' && (%s == '%s' || %s == '%s') && has(%s.webhooks) && %s.webhooks.exists(w, has(w.clientConfig) && has(w.clientConfig.service) && has(w.clientConfig.service.namespace) && w.clientConfig.service.namespace == 'default'))" $gk $name $cp.injectorWebhookConfiguration $app $injectorApp $o $o -}}
({{ $namespaced }} || {{ $binding }} || {{ $injector }})
{{- end -}}

{{/* CEL: the control-plane-namespace message for the object under review (src/rules/control-plane-namespace.ts). */}}
{{- define "dapr-guard.celControlPlaneMessage" -}}
{{- $name := "(has(object.metadata.name) && object.metadata.name != '' ? object.metadata.name : (has(object.metadata.generateName) && object.metadata.generateName != '' ? object.metadata.generateName + '…' : ''))" -}}
{{- $described := printf "(request.kind.kind + (%s != '' ? ' \"' + %s + '\"' : ''))" $name (include "dapr-guard.celClip" (dict "text" $name "limit" 40)) -}}
{{- $fix := "install Dapr in its own namespace: helm install dapr dapr/dapr --namespace dapr-system --create-namespace" -}}
{{- $subject := "object.subjects.filter(s, s.kind == 'ServiceAccount' && has(s.namespace) && s.namespace == 'default')[0].name" -}}
'[control-plane-namespace] ' + (has(request.namespace) ? 'Dapr control-plane ' + {{ $described }} + ' must not be in namespace \"default\"' : request.kind.kind == 'MutatingWebhookConfiguration' ? 'Dapr ' + {{ $described }} + ' calls a Service in namespace \"default\"' : 'Dapr ' + {{ $described }} + ' grants cluster rights to ServiceAccount \"' + {{ include "dapr-guard.celClip" (dict "text" (printf "('default/' + %s)" $subject) "limit" 28) }} + '\"') + ' — {{ $fix }}'
{{- end -}}

{{/*
CEL: the indexes of the spec.metadata items with a finding of kind . ("plaintext": a plaintext secret
or credentials in the value, denied; "empty": a sensitive field with an empty value, advice), as
itemFindings/valueFindings in src/rules/component-plaintext-secrets.ts. An item whose name itself holds
credentials is the webhook's alone (it refers to the field by position only).
*/}}
{{- define "dapr-guard.celComponentFindings" -}}
{{- $empty := "(m.value == null || m.value == '' || (type(m.value) == list && size(m.value) == 0) || (type(m.value) == map && size(m.value) == 0))" -}}
{{- $nameCredential := printf "(%s || %s)" (include "dapr-guard.celUrlCredential" "m.name") (include "dapr-guard.celConnectionStringCredential" "m.name") -}}
{{- $sensitive := include "dapr-guard.celSensitive" "m.name" -}}
{{- if eq . "empty" -}}
variables.items.transformList(i, m, has(m.name) && !{{ $nameCredential }} && has(m.value) && {{ $empty }} && ({{ $sensitive }}), i)
{{- else -}}
variables.items.transformList(i, m, has(m.name) && !{{ $nameCredential }} && has(m.value) && !{{ $empty }} && ({{ include "dapr-guard.celUrlCredential" "m.value" }} || {{ include "dapr-guard.celConnectionStringCredential" "m.value" }} || ({{ $sensitive }})), i)
{{- end -}}
{{- end -}}

{{/*
CEL: the string . is a quantity in dapr-guard's grammar (src/rules/support/quantity.ts): the API
server's isQuantity, which also lets through digitless strings such as "." and "+", and a digit.
*/}}
{{- define "dapr-guard.celIsQuantity" -}}
(isQuantity({{ . }}) && {{ . }}.matches('[0-9]'))
{{- end -}}
