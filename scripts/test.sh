#!/usr/bin/env bash
# Run the whole test suite: unit tests, the Auth0 client against the simulator, simulator
# conformance against recorded Auth0 traffic, and the integration suite against a real
# kube-apiserver + etcd.
#
# Which control plane(s):
# - KUBEBUILDER_ASSETS set (a directory holding `etcd` and `kube-apiserver`, for example one made
#   by `setup-envtest use 1.33 -p path`): the whole suite runs once, against that version.
# - Unset: the integration suite runs against the newest and the oldest supported control plane:
#   kube-apiserver 1.32.6 from ../shared/envtest (when that folder is beside the checkout; CI
#   requires it), then 1.20.2, built once from Debian's source and cached
#   (scripts/envtest-assets.sh). Unit and simulator tests run once, in the first pass.
#
# Extra arguments go to `cargo nextest run` (or `cargo test`), e.g. a test name filter.
set -euo pipefail
cd "$(dirname "$0")/.."
# The build cache shared with scripts/dev.sh and .ci/run (CARGO_TARGET_DIR, yours wins).
# shellcheck source=scripts/cache-env.sh
. scripts/cache-env.sh

SHARED_ENVTEST="../shared/envtest/install.sh"
NEWEST=1.32.6

# Control planes, newest first: "version-label:directory".
planes=()
if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
    planes+=("KUBEBUILDER_ASSETS:$KUBEBUILDER_ASSETS")
else
    if [ -f "$SHARED_ENVTEST" ]; then
        # (run through bash: a read-only copy of ../shared may have lost its execute bits)
        planes+=("$NEWEST:$(bash "$SHARED_ENVTEST" "$NEWEST")")
    elif [ "${CI:-}" = "true" ]; then
        echo "test.sh: CI runs the integration suite on kube-apiserver $NEWEST, but $SHARED_ENVTEST is missing" >&2
        exit 1
    else
        echo "test.sh: no current control plane ($SHARED_ENVTEST is missing): the integration suite runs on 1.20.2 only." >&2
        echo "test.sh: to test on another version, point KUBEBUILDER_ASSETS at it, e.g." >&2
        echo "test.sh:   KUBEBUILDER_ASSETS=\"\$(setup-envtest use 1.32 -p path)\" scripts/test.sh" >&2
    fi
    planes+=("1.20.2:$(scripts/envtest-assets.sh)")
fi

# helm, kubectl and kubernetes-validate for tests/chart.rs (cached; see scripts/tools.sh).
PATH="$(scripts/tools.sh):$PATH"
export PATH

# The integration test binaries: those that start a control plane (through tests/common's
# world(), envtest's start_or_skip/assets_or_skip, or TestEnv). Later passes run only these.
integration=$(grep -lE 'world\(|start_or_skip|assets_or_skip|TestEnv' tests/*.rs |
    xargs -n1 basename | sed 's/\.rs$//' | sort)

status=0
first=1
for plane in "${planes[@]}"; do
    label="${plane%%:*}"
    KUBEBUILDER_ASSETS="${plane#*:}"
    export KUBEBUILDER_ASSETS
    version=$("$KUBEBUILDER_ASSETS/kube-apiserver" --version 2>/dev/null || echo "kube-apiserver (version unknown)")
    if [ "$first" = 1 ]; then
        echo "test.sh: the whole suite on $version ($label, KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS)" >&2
        if cargo nextest --version >/dev/null 2>&1; then
            cargo nextest run --lib --bins --tests --no-fail-fast "$@" || status=1
            # nextest does not run doctests.
            cargo test --doc || status=1
        else
            cargo test --lib --bins --tests --no-fail-fast "$@" || status=1
            cargo test --doc || status=1
        fi
        first=0
    else
        echo "test.sh: the integration suite again, on $version ($label, KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS):" $integration >&2
        if cargo nextest --version >/dev/null 2>&1; then
            filter=$(printf 'binary(=%s) | ' $integration)
            cargo nextest run --tests --no-fail-fast -E "${filter% | }" "$@" || status=1
        else
            # shellcheck disable=SC2046
            cargo test --no-fail-fast $(printf -- '--test %s ' $integration) "$@" || status=1
        fi
    fi
done
exit "$status"
