# shellcheck shell=bash
# Sourced (not run) by scripts/dev.sh, scripts/test.sh and .ci/run: the one place that says where
# cargo builds, so the README's two commands and CI share one build cache outside the checkout
# (a fresh clone builds once; later runs rebuild only what changed).
#
#   CARGO_TARGET_DIR, when you set it yourself (yours wins), else
#   ${AUTH0_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/auth0-operator}/target
#
# (AUTH0_OPERATOR_CACHE is the cache root scripts/envtest-assets.sh and scripts/tools.sh use too.)
if [ -z "${CARGO_TARGET_DIR:-}" ]; then
    CARGO_TARGET_DIR="${AUTH0_OPERATOR_CACHE:-${XDG_CACHE_HOME:-${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}/.cache}/auth0-operator}/target"
fi
export CARGO_TARGET_DIR
