#!/usr/bin/env bash
# Provision the envtest assets (etcd + kube-apiserver v1.20.2) for the integration tests.
#
# Usage:
#   export KUBEBUILDER_ASSETS="$(scripts/envtest-assets.sh)"
#
# Prints ONLY the assets directory on stdout; all progress goes to stderr.
#
# Cache: ${AUTH0_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/auth0-operator}/envtest/1.20.2/
# holding `etcd`, `kube-apiserver` (and a `kubectl` symlink when /usr/bin/kubectl exists).
# When both binaries are present and run, the script exits immediately; otherwise it builds them
# once per machine (the kube-apiserver build takes several minutes):
#   * etcd           - extracted from Debian's `etcd-server` package (never installed, so no
#                      service is started);
#   * kube-apiserver - built from Debian bookworm's `kubernetes` source package (1.20.2 orig
#                      tarball) with Debian's Go 1.19, after swapping the vendored reflect2 and
#                      json-iterator for Debian's (the vendored ones crash at run time on Go 1.19),
#                      and after generating pkg/generated/openapi (not shipped in the tarball).
#
# Needs root (or sudo) for apt on a fresh Debian bookworm machine; a concurrent invocation waits
# on a lock instead of building a second time.
set -euo pipefail

K8S_VERSION=1.20.2
HOME="${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}"
CACHE_ROOT="${AUTH0_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/auth0-operator}"
ASSETS_DIR="$CACHE_ROOT/envtest/$K8S_VERSION"
BUILD_DIR="$ASSETS_DIR/build"
SRC_LIST=/etc/apt/sources.list.d/auth0-operator-envtest-src.sources

log() { printf '[envtest-assets] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

assets_ok() {
    [ -x "$ASSETS_DIR/etcd" ] && [ -x "$ASSETS_DIR/kube-apiserver" ] || return 1
    "$ASSETS_DIR/etcd" --version >/dev/null 2>&1 || return 1
    local v
    v="$("$ASSETS_DIR/kube-apiserver" --version 2>/dev/null)" || return 1
    [[ "$v" == *"v$K8S_VERSION"* ]] || return 1
}

link_kubectl() {
    if [ ! -e "$ASSETS_DIR/kubectl" ] && [ -x /usr/bin/kubectl ]; then
        ln -sf /usr/bin/kubectl "$ASSETS_DIR/kubectl" || true
    fi
}

done_ok() {
    link_kubectl
    printf '%s\n' "$ASSETS_DIR"
    exit 0
}

# Fast path: the cache is warm.
if assets_ok; then done_ok; fi

mkdir -p "$ASSETS_DIR"
exec 9>"$ASSETS_DIR/.lock"
if ! flock -n 9; then
    log "another invocation is provisioning $ASSETS_DIR; waiting for its lock"
    flock 9
fi
# Someone else may have finished while we waited.
if assets_ok; then done_ok; fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "must run as root (or have sudo) to install build dependencies"
    SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive

APT_UPDATED=0
apt_update() {
    if [ "$APT_UPDATED" -eq 0 ] || [ "${1:-}" = force ]; then
        log "apt-get update"
        "${SUDO[@]}" apt-get update >&2
        APT_UPDATED=1
    fi
}

apt_install() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    apt_update
    log "apt-get install ${missing[*]}"
    "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >&2
}

. /etc/os-release 2>/dev/null || true
CODENAME="${VERSION_CODENAME:-bookworm}"
if [ "$CODENAME" != bookworm ]; then
    log "warning: this script targets Debian bookworm (found '$CODENAME'); using bookworm sources anyway"
    CODENAME=bookworm
fi

mkdir -p "$BUILD_DIR"

# ---------------------------------------------------------------------------------------- etcd
if ! { [ -x "$ASSETS_DIR/etcd" ] && "$ASSETS_DIR/etcd" --version >/dev/null 2>&1; }; then
    if [ -x /usr/bin/etcd ] && /usr/bin/etcd --version >/dev/null 2>&1; then
        log "using the installed /usr/bin/etcd"
        cp -f /usr/bin/etcd "$ASSETS_DIR/etcd.tmp"
    else
        # Extract the binary from the .deb instead of installing the package: installing it
        # would register (and maybe start) the Debian etcd service on port 2379.
        log "downloading Debian's etcd-server package"
        rm -rf "$BUILD_DIR/etcd-deb" && mkdir -p "$BUILD_DIR/etcd-deb"
        (
            cd "$BUILD_DIR/etcd-deb"
            chmod 0777 . 2>/dev/null || true # lets apt's unprivileged _apt user write here
            apt-get download etcd-server >&2 2>/dev/null || {
                apt_update
                apt-get download etcd-server >&2
            }
            dpkg-deb -x etcd-server_*.deb root
        )
        cp -f "$BUILD_DIR/etcd-deb/root/usr/bin/etcd" "$ASSETS_DIR/etcd.tmp"
        rm -rf "$BUILD_DIR/etcd-deb"
    fi
    chmod 0755 "$ASSETS_DIR/etcd.tmp"
    mv -f "$ASSETS_DIR/etcd.tmp" "$ASSETS_DIR/etcd"
    "$ASSETS_DIR/etcd" --version >&2 || die "etcd does not run"
fi

# ------------------------------------------------------------------------------ kube-apiserver
# Finds the URI (and Signed-By) of an existing `deb` source for the suite, in deb822 .sources files
# or classic one-line .list files. Prints "URI<TAB>SIGNED_BY".
find_debian_uri() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v suite="$CODENAME" '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && suites ~ ("(^| )" suite "( |$)") && uris != "") {
                    split(uris, u, " "); print u[1] "\t" signed; found = 1; exit
                }
                types = ""; suites = ""; uris = ""; signed = ""
            }
            /^[ \t]*$/ { flush(); next }
            /^[ \t]*#/ { next }
            tolower($1) == "types:"     { $1 = ""; types = $0 }
            tolower($1) == "suites:"    { $1 = ""; suites = $0 }
            tolower($1) == "uris:"      { $1 = ""; sub(/^ +/, ""); uris = $0 }
            tolower($1) == "signed-by:" { $1 = ""; sub(/^ +/, ""); signed = $0 }
            END { if (!found) flush() }
        ' "$f" | head -n1
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        # deb [opts] URI suite components...
        sed -e 's/#.*//' "$f" | awk -v suite="$CODENAME" '
            $1 == "deb" {
                i = 2; signed = ""
                if ($i ~ /^\[/) {
                    while (i <= NF) {
                        opt = $i; gsub(/[\[\]]/, "", opt)
                        if (opt ~ /^signed-by=/) { sub(/^signed-by=/, "", opt); signed = opt }
                        if ($i ~ /\]$/) { i++; break }
                        i++
                    }
                }
                if ($(i + 1) == suite) { print $i "\t" signed; exit }
            }'
    done
}

apiserver_version="$("$ASSETS_DIR/kube-apiserver" --version 2>/dev/null || true)"
if [[ "$apiserver_version" != *"v$K8S_VERSION"* ]]; then
    apt_install golang-go golang-github-modern-go-reflect2-dev golang-github-json-iterator-go-dev rsync ca-certificates

    # Source package: needs a deb-src entry.
    showsrc="$(apt-cache showsrc kubernetes 2>/dev/null || true)"
    if ! grep -q '^Version: .*1\.20\.2' <<<"$showsrc"; then
        if [ ! -f "$SRC_LIST" ]; then
            line="$(find_debian_uri | head -n1)"
            uri="${line%%$'\t'*}"
            signed="${line#*$'\t'}"
            [ "$line" = "$uri" ] && signed=""
            [ -n "$uri" ] || uri=http://deb.debian.org/debian
            [ -n "$signed" ] || signed=/usr/share/keyrings/debian-archive-keyring.gpg
            log "adding deb-src $uri $CODENAME main ($SRC_LIST)"
            {
                echo "Types: deb-src"
                echo "URIs: $uri"
                echo "Suites: $CODENAME"
                echo "Components: main"
                [ -f "$signed" ] && echo "Signed-By: $signed"
            } | "${SUDO[@]}" tee "$SRC_LIST" >/dev/null
        fi
        apt_update force
    fi

    SRC_DIR="$BUILD_DIR/src"
    if [ ! -f "$SRC_DIR/.unpacked" ]; then
        rm -rf "$SRC_DIR" && mkdir -p "$BUILD_DIR/dl"
        (
            cd "$BUILD_DIR/dl"
            chmod 0777 . 2>/dev/null || true
            if ! ls kubernetes_*.orig.tar.* >/dev/null 2>&1; then
                log "apt-get source --download-only kubernetes"
                apt-get source --download-only kubernetes >&2
            fi
        )
        orig="$(ls "$BUILD_DIR"/dl/kubernetes_*.orig.tar.* | head -n1)"
        log "unpacking $(basename "$orig")"
        mkdir -p "$SRC_DIR.tmp"
        tar -xf "$orig" -C "$SRC_DIR.tmp" --strip-components=1
        mv "$SRC_DIR.tmp" "$SRC_DIR"
        touch "$SRC_DIR/.unpacked"
    fi

    # Swap the vendored reflect2/json-iterator for Debian's (Go 1.19-compatible) ones.
    for pkg in github.com/modern-go/reflect2 github.com/json-iterator/go; do
        [ -d "/usr/share/gocode/src/$pkg" ] || die "/usr/share/gocode/src/$pkg is missing"
        rsync -a --delete --exclude '*_test.go' --exclude '*_tests/' --exclude 'test/' \
            "/usr/share/gocode/src/$pkg/" "$SRC_DIR/vendor/$pkg/"
    done

    export GO111MODULE=off
    export GOPATH="$BUILD_DIR/gopath"
    export GOCACHE="$BUILD_DIR/gocache"
    export GOFLAGS=
    export CGO_ENABLED=0
    export PATH="/usr/lib/go/bin:$PATH"
    mkdir -p "$GOPATH/src/k8s.io" "$GOPATH/bin"
    ln -sfn "$SRC_DIR" "$GOPATH/src/k8s.io/kubernetes"
    cd "$GOPATH/src/k8s.io/kubernetes"
    log "$(go version)"

    OPENAPI_OUT=pkg/generated/openapi/zz_generated.openapi.go
    if [ ! -s "$OPENAPI_OUT" ]; then
        log "building openapi-gen"
        go build -o "$GOPATH/bin/openapi-gen" ./vendor/k8s.io/kube-openapi/cmd/openapi-gen
        # Same selection as build/root/Makefile.generated_files (KUBE_OPENAPI_TAG_FILES); `-R`
        # follows the vendor/k8s.io/* -> staging symlinks. Vendored dirs become their own import
        # paths (vendor/k8s.io/api/... -> k8s.io/api/...).
        input_dirs="$(
            grep -R -l --include='*.go' '+k8s:openapi-gen=' pkg cmd plugin vendor/k8s.io \
                | grep -v -e '_test\.go$' -e '/testdata/' \
                    -e '^vendor/k8s.io/code-generator/' -e '^vendor/k8s.io/sample-apiserver/' \
                | xargs -n1 dirname | LC_ALL=C sort -u \
                | sed -e 's#^vendor/##' -e 's#^\(pkg\|cmd\|plugin\)/#k8s.io/kubernetes/\1/#' \
                | paste -sd, -
        )"
        log "generating $OPENAPI_OUT ($(tr ',' '\n' <<<"$input_dirs" | wc -l) input packages)"
        "$GOPATH/bin/openapi-gen" \
            --logtostderr \
            --input-dirs "$input_dirs" \
            --output-package k8s.io/kubernetes/pkg/generated/openapi \
            -O zz_generated.openapi \
            --go-header-file hack/boilerplate/boilerplate.generatego.txt \
            --report-filename "$BUILD_DIR/openapi-violations.report" >&2
        [ -s "$OPENAPI_OUT" ] || die "openapi-gen did not produce $OPENAPI_OUT"
    fi

    pkg_version=k8s.io/kubernetes/vendor/k8s.io/component-base/version
    pkg_client_version=k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version
    build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    ldflags="-s -w"
    for p in "$pkg_version" "$pkg_client_version"; do
        ldflags+=" -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=20"
        ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=$build_date"
    done
    log "building kube-apiserver (several minutes)"
    start=$(date +%s)
    go build -tags providerless -ldflags "$ldflags" -o "$ASSETS_DIR/kube-apiserver.tmp" ./cmd/kube-apiserver
    log "kube-apiserver built in $(($(date +%s) - start)) s"
    cd /
    mv -f "$ASSETS_DIR/kube-apiserver.tmp" "$ASSETS_DIR/kube-apiserver"
    "$ASSETS_DIR/kube-apiserver" --version >&2
fi

assets_ok || die "assets in $ASSETS_DIR do not run"
if [ -z "${ENVTEST_KEEP_BUILD:-}" ]; then
    log "removing the build tree $BUILD_DIR (set ENVTEST_KEEP_BUILD=1 to keep it)"
    chmod -R u+w "$BUILD_DIR" 2>/dev/null || true
    rm -rf "$BUILD_DIR"
fi
done_ok
