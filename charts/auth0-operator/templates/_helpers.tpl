{{/*
Chart name, truncated to the 63 characters a label value may have.
*/}}
{{- define "auth0-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified name: <release>-<chart>, or <release> when it already contains the chart name.
*/}}
{{- define "auth0-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "auth0-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object.
*/}}
{{- define "auth0-operator.labels" -}}
helm.sh/chart: {{ include "auth0-operator.chart" . }}
{{ include "auth0-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: auth0-operator
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Selector labels (immutable on the Deployment: keep them stable).
*/}}
{{- define "auth0-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "auth0-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end }}

{{/*
ServiceAccount name.
*/}}
{{- define "auth0-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "auth0-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Image reference: repository@digest, or repository:tag (tag defaults to the appVersion).
*/}}
{{- define "auth0-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Whether the operator's default Auth0 tenant is configured ("true" when auth0.domain is set).
Without it the pod gets no tenant settings and no credentials; values that only mean something
for a tenant then fail, with a message naming auth0.domain.
*/}}
{{- define "auth0-operator.defaultTenant" -}}
{{- $a := .Values.auth0 }}
{{- if $a.domain }}true
{{- else }}
{{- range $key := list "clientId" "clientSecret" "baseUrl" "audience" }}
{{- if index $a $key }}
{{- fail (printf "auth0.%s is set but auth0.domain is empty: set auth0.domain (the default tenant) as well" $key) }}
{{- end }}
{{- end }}
{{- if $a.existingSecret.name }}
{{- fail "auth0.existingSecret.name is set but auth0.domain is empty: set auth0.domain (the default tenant) as well" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Whether the chart creates the credentials Secret (inline clientId + clientSecret). Fails on
contradictory settings, with a message naming the values to fix.
*/}}
{{- define "auth0-operator.createCredentialsSecret" -}}
{{- $a := .Values.auth0 }}
{{- $_ := include "auth0-operator.defaultTenant" . }}
{{- $inline := or $a.clientId $a.clientSecret }}
{{- if and $inline (not (and $a.clientId $a.clientSecret)) }}
{{- fail "auth0.clientId and auth0.clientSecret must be set together (or use auth0.existingSecret.name)" }}
{{- end }}
{{- if and $inline $a.existingSecret.name }}
{{- fail "set either auth0.existingSecret.name or auth0.clientId/auth0.clientSecret, not both" }}
{{- end }}
{{- if $inline }}true{{ end }}
{{- end }}

{{/*
Name of the Secret holding the operator's own Auth0 credentials.
*/}}
{{- define "auth0-operator.credentialsSecretName" -}}
{{- if .Values.auth0.existingSecret.name }}
{{- .Values.auth0.existingSecret.name }}
{{- else }}
{{- printf "%s-credentials" (include "auth0-operator.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/*
Keys in the credentials Secret: the chart-created one always uses the defaults.
*/}}
{{- define "auth0-operator.clientIdKey" -}}
{{- if .Values.auth0.existingSecret.name }}{{ .Values.auth0.existingSecret.clientIdKey }}{{ else }}AUTH0_CLIENT_ID{{ end }}
{{- end }}
{{- define "auth0-operator.clientSecretKey" -}}
{{- if .Values.auth0.existingSecret.name }}{{ .Values.auth0.existingSecret.clientSecretKey }}{{ else }}AUTH0_CLIENT_SECRET{{ end }}
{{- end }}

{{/*
Leader election: on when forced or when more than one replica runs.
*/}}
{{- define "auth0-operator.leaderElect" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicas) 1) }}true{{ end }}
{{- end }}

{{- define "auth0-operator.leaseName" -}}
{{- default (include "auth0-operator.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{/*
apiVersion of the PodDisruptionBudget: policy/v1 where served (Kubernetes 1.21+), else
policy/v1beta1 (1.20). Checked by group/version: Helm's offline defaults (`helm template`,
`helm lint`) list group/versions only, and include policy/v1.
*/}}
{{- define "auth0-operator.pdbApiVersion" -}}
{{- if .Capabilities.APIVersions.Has "policy/v1" }}policy/v1{{ else }}policy/v1beta1{{ end }}
{{- end }}
