//! The envtest harness against a current `kube-apiserver`, without having one: a stand-in that
//! reports `Kubernetes v1.32.0` and refuses, like the real 1.24+ binaries, the flags removed since
//! 1.20 (`Error: unknown flag: --insecure-port`), then runs the real (1.20.2) binary of
//! `KUBEBUILDER_ASSETS` with the arguments it was given.
//!
//! Needs `KUBEBUILDER_ASSETS` (`export KUBEBUILDER_ASSETS="$(scripts/envtest-assets.sh)"`); skips
//! loudly without it (and fails when `CI=true`).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use auth0_operator::envtest::{KubeVersion, TestEnv, assets_or_skip};
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;

/// Flags the harness has passed that a 1.32 apiserver no longer has (all removed in 1.24).
const REMOVED_BY_1_32: &[&str] = &[
    "--insecure-port",
    "--insecure-bind-address",
    "--address",
    "--port",
];

/// Writes `dir/kube-apiserver` (the stand-in) and `dir/etcd` (a symlink to the real etcd). The
/// stand-in records its arguments in `dir/args`.
fn fake_current_assets(real: &Path, dir: &Path) -> PathBuf {
    let real_apiserver = real.join("kube-apiserver");
    let refused = REMOVED_BY_1_32
        .iter()
        .map(|f| format!("{f}|{f}=*"))
        .collect::<Vec<_>>()
        .join("|");
    let script = format!(
        r#"#!/bin/sh
# Stand-in for kube-apiserver v1.32.0 (see tests/envtest_versions.rs).
for a in "$@"; do
    case "$a" in
        --version|--version=*) echo "Kubernetes v1.32.0"; exit 0 ;;
        {refused})
            echo "Error: unknown flag: ${{a%%=*}}" >&2
            echo "Usage:" >&2
            exit 1 ;;
    esac
done
printf '%s\n' "$@" > '{args}'
exec '{real_apiserver}' "$@"
"#,
        args = dir.join("args").display(),
        real_apiserver = real_apiserver.display(),
    );
    let bin = dir.join("kube-apiserver");
    std::fs::write(&bin, script).expect("write the stand-in");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::os::unix::fs::symlink(real.join("etcd"), dir.join("etcd")).expect("symlink etcd");
    bin
}

#[tokio::test]
async fn harness_starts_a_current_apiserver() {
    let Some(real) = assets_or_skip("harness_starts_a_current_apiserver") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let fake = fake_current_assets(&real, dir.path());

    // The stand-in is faithful: it refuses what 1.32 refuses (what the harness passed before).
    let out = std::process::Command::new(&fake)
        .args(["--secure-port=1", "--insecure-port=0"])
        .output()
        .expect("run the stand-in");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Error: unknown flag: --insecure-port"),
        "{out:?}"
    );

    let env = TestEnv::start_with_assets(dir.path())
        .await
        .unwrap_or_else(|e| panic!("the harness starts a v1.32 kube-apiserver: {e}"));
    assert_eq!(
        env.apiserver_binary_version(),
        Some(KubeVersion::new(1, 32))
    );
    let args = std::fs::read_to_string(dir.path().join("args")).expect("the stand-in ran");
    for removed in REMOVED_BY_1_32 {
        assert!(
            !args
                .lines()
                .any(|a| a == *removed || a.starts_with(&format!("{removed}="))),
            "{removed} passed to a 1.32 apiserver:\n{args}"
        );
    }

    // It serves requests (the real binary behind the stand-in answers).
    let client = env.client();
    let info = client.apiserver_version().await.expect("GET /version");
    assert!(info.git_version.starts_with('v'), "{info:?}");
    let default = Api::<Namespace>::all(client)
        .get("default")
        .await
        .expect("GET the default namespace");
    assert_eq!(default.metadata.name.as_deref(), Some("default"));
    env.stop().await;
}

/// The real assets: the version the harness read is the one the server reports.
#[tokio::test]
async fn harness_reads_the_apiserver_version() {
    let Some(real) = assets_or_skip("harness_reads_the_apiserver_version") else {
        return;
    };
    let env = TestEnv::start_with_assets(&real)
        .await
        .unwrap_or_else(|e| panic!("envtest starts: {e}"));
    let info = env
        .client()
        .apiserver_version()
        .await
        .expect("GET /version");
    let served = KubeVersion::parse(&info.git_version);
    assert!(served.is_some(), "{info:?}");
    assert_eq!(env.apiserver_binary_version(), served);
    env.stop().await;
}
