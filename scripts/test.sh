#!/usr/bin/env bash
# Run the whole test suite: unit tests, the Auth0 client against the simulator, simulator
# conformance against recorded Auth0 traffic, and the integration suite against a real
# kube-apiserver + etcd.
#
# Provisions the envtest assets first (built once per machine and cached, see
# scripts/envtest-assets.sh) unless KUBEBUILDER_ASSETS already points at a directory holding
# `etcd` and `kube-apiserver` (for example one made by `setup-envtest`).
set -euo pipefail
cd "$(dirname "$0")/.."
# The build cache shared with scripts/dev.sh and .ci/run (CARGO_TARGET_DIR, yours wins).
# shellcheck source=scripts/cache-env.sh
. scripts/cache-env.sh

if [ -z "${KUBEBUILDER_ASSETS:-}" ]; then
    KUBEBUILDER_ASSETS="$(scripts/envtest-assets.sh)"
    export KUBEBUILDER_ASSETS
fi
echo "test.sh: KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS" >&2

# helm, kubectl and kubernetes-validate for tests/chart.rs (cached; see scripts/tools.sh).
PATH="$(scripts/tools.sh):$PATH"
export PATH

if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --lib --bins --tests --no-fail-fast "$@"
    # nextest does not run doctests.
    cargo test --doc
else
    cargo test --lib --bins --tests --no-fail-fast "$@"
    cargo test --doc
fi
