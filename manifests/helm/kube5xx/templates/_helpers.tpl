{{/* Names, as in manifests/base when fullnameOverride is empty. */}}
{{- define "kube5xx.prefix" -}}
{{- .Values.fullnameOverride | default "kube5xx" | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- define "kube5xx.name" -}}{{ include "kube5xx.prefix" . }}-webhook{{- end -}}
{{- define "kube5xx.tlsSecret" -}}
{{- if eq .Values.certificates.source "existing-secret" -}}
{{- required "certificates.existingSecret.name is required with certificates.source=existing-secret" .Values.certificates.existingSecret.name -}}
{{- else -}}
{{ include "kube5xx.name" . }}-tls
{{- end -}}
{{- end -}}
{{- define "kube5xx.serviceAccountUser" -}}
system:serviceaccount:{{ .Release.Namespace }}:{{ include "kube5xx.name" . }}
{{- end -}}

{{/* The selector: the one label manifests/base selects on. */}}
{{- define "kube5xx.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kube5xx.name" . }}
{{- end -}}
{{- define "kube5xx.labels" -}}
{{ include "kube5xx.selectorLabels" . }}
app.kubernetes.io/part-of: kube5xx
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Exempted namespaces: the values' plus the release namespace, without repeats. */}}
{{- define "kube5xx.exemptNamespaces" -}}
{{- append .Values.exemptions.namespaces .Release.Namespace | uniq | toJson -}}
{{- end -}}

{{/* The enforcing entry fails closed only when it can deny. */}}
{{- define "kube5xx.enforceFailurePolicy" -}}
{{- if eq .Values.mode "enforce" }}Fail{{ else }}Ignore{{ end -}}
{{- end -}}

{{/*
The resources the webhook admits: generated from the kind table's K5_KF_WEBHOOK kinds
(rules/include/kube5xx/k5_kinds.def) by scripts/gen-manifests.sh, like manifests/base's;
e2e_manifests_sync fails when they disagree. Subresources (deployments/scale, the status
subresources) are not listed, so `kubectl scale` and status updates never reach the webhook.
*/}}
{{- define "kube5xx.admissionRules" -}}
# kube5xx:generated:vwc:begin
- apiGroups: ["apps"]
  apiVersions: ["v1"]
  operations: ["CREATE", "UPDATE"]
  resources: [deployments, statefulsets, daemonsets]
  scope: Namespaced
- apiGroups: [""]
  apiVersions: ["v1"]
  operations: ["CREATE", "UPDATE"]
  resources: [services]
  scope: Namespaced
- apiGroups: ["networking.k8s.io"]
  apiVersions: ["v1"]
  operations: ["CREATE", "UPDATE"]
  resources: [ingresses, networkpolicies]
  scope: Namespaced
- apiGroups: ["policy"]
  apiVersions: ["v1"]
  operations: ["CREATE", "UPDATE"]
  resources: [poddisruptionbudgets]
  scope: Namespaced
- apiGroups: ["autoscaling"]
  apiVersions: ["v2"]
  operations: ["CREATE", "UPDATE"]
  resources: [horizontalpodautoscalers]
  scope: Namespaced
- apiGroups: ["gateway.networking.k8s.io"]
  apiVersions: ["v1", "v1beta1"]
  operations: ["CREATE", "UPDATE"]
  resources: [httproutes]
  scope: Namespaced
- apiGroups: ["gateway.networking.k8s.io"]
  apiVersions: ["v1"]
  operations: ["CREATE", "UPDATE"]
  resources: [grpcroutes]
  scope: Namespaced
- apiGroups: ["networking.istio.io"]
  apiVersions: ["v1", "v1beta1", "v1alpha3"]
  operations: ["CREATE", "UPDATE"]
  resources: [virtualservices]
  scope: Namespaced
- apiGroups: ["cloud.google.com"]
  apiVersions: ["v1"]
  operations: ["CREATE", "UPDATE"]
  resources: [backendconfigs]
  scope: Namespaced
# kube5xx:generated:vwc:end
{{- end -}}

{{/*
Identities the API server never sends (matchConditions, GA in Kubernetes 1.30): the webhook's
own service account, exemptions.usernames, and each group of exemptions.groups. CEL string
literals are single-quoted; values.schema.json keeps quotes and backslashes out of the names.
*/}}
{{- define "kube5xx.matchConditions" -}}
- name: not-kube5xx-service-account
  expression: "request.userInfo.username != '{{ include "kube5xx.serviceAccountUser" . }}'"
{{- with .Values.exemptions.usernames }}
- name: not-exempt-usernames
  expression: "!(request.userInfo.username in [{{ range $i, $u := . }}{{ if $i }}, {{ end }}'{{ $u }}'{{ end }}])"
{{- end }}
{{- range .Values.exemptions.groups }}
- name: {{ printf "not-%s" (regexReplaceAll "[^a-z0-9.-]+" (lower (trimPrefix "system:" .)) "-") | trunc 63 | trimSuffix "-" }}
  expression: "!('{{ . }}' in request.userInfo.groups)"
{{- end }}
{{- end -}}
