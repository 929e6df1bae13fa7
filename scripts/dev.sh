#!/usr/bin/env bash
# The local loop in one command: provisions etcd + kube-apiserver if needed (cached, see
# scripts/envtest-assets.sh), then runs `auth0-operator dev`: a local control plane, the Auth0
# simulator (or your tenant when AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET are set),
# the CRDs, the operator and the manifests in examples/, until Ctrl-C.
# Extra arguments go to `auth0-operator dev` (e.g. --examples DIR, --once).
# Builds into the shared cache (scripts/cache-env.sh), showing cargo's progress. The operator's log
# goes to a file (the report says where; RUST_LOG sets its level, default info).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/cache-env.sh
. scripts/cache-env.sh
if [ -z "${KUBEBUILDER_ASSETS:-}" ]; then
    KUBEBUILDER_ASSETS="$(scripts/envtest-assets.sh)"
    export KUBEBUILDER_ASSETS
fi
if [ -x "$CARGO_TARGET_DIR/debug/auth0-operator" ]; then
    echo "dev.sh: building auth0-operator in $CARGO_TARGET_DIR (only what changed)" >&2
else
    echo "dev.sh: building auth0-operator in $CARGO_TARGET_DIR: the first build compiles a few hundred crates and takes several minutes; later runs rebuild only what changed" >&2
fi
exec cargo run --features sim,envtest --bin auth0-operator -- dev "$@"
