#!/usr/bin/env bash
# The local loop in one command: provisions etcd + kube-apiserver if needed (cached, see
# scripts/envtest-assets.sh), then runs `auth0-operator dev`: a local control plane, the Auth0
# simulator (or your tenant when AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET are set),
# the CRDs, the operator and the manifests in examples/, until Ctrl-C.
# Extra arguments go to `auth0-operator dev` (e.g. --examples DIR, --once).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${KUBEBUILDER_ASSETS:-}" ]; then
    KUBEBUILDER_ASSETS="$(scripts/envtest-assets.sh)"
    export KUBEBUILDER_ASSETS
fi
exec cargo run --quiet --features sim,envtest --bin auth0-operator -- dev "$@"
