//! The README's main command, `scripts/dev.sh` (= `auth0-operator dev`), brings everything up,
//! applies `examples/`, reports each example Ready with its client id and Secret (never the
//! secret value), and stops everything it started. Also: text logs carry colour codes only on a
//! terminal.

use std::{path::PathBuf, process::Command};

/// A directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "auth0-operator-dev-loop-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a scratch directory");
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn dev_loop_applies_examples_and_cleans_up() {
    if std::env::var_os("KUBEBUILDER_ASSETS").is_none() {
        assert!(
            std::env::var("CI").map(|v| v != "true").unwrap_or(true),
            "CI=true but KUBEBUILDER_ASSETS is not set"
        );
        eprintln!(
            "\n!!! SKIPPING dev_loop_applies_examples_and_cleans_up: KUBEBUILDER_ASSETS is not set\n"
        );
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_auth0-operator"))
        .args(["dev", "--once"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HTTP_ADDR", "127.0.0.1:0")
        .env_remove("AUTH0_DOMAIN")
        .env_remove("AUTH0_CLIENT_ID")
        .env_remove("AUTH0_CLIENT_SECRET")
        .output()
        .expect("auth0-operator dev runs (built with the sim and envtest features for tests)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "dev failed:\n{stdout}\n{stderr}");
    for example in [
        "Auth0Client/web-app: Ready=True (Synced)",
        "Auth0Client/billing-worker: Ready=True (Synced)",
        "Auth0ClientGrant/billing-worker-orders-api: Ready=True (Synced)",
        "Auth0Client/dashboard-spa: Ready=True (Synced)",
    ] {
        assert!(
            stdout.contains(example),
            "missing `{example}` in:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("Auth0 simulator at http://127.0.0.1:"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Secret web-app-auth0: AUTH0_CLIENT_ID="),
        "{stdout}"
    );
    assert!(
        stdout.contains("AUTH0_CLIENT_SECRET=<64 characters, not shown>"),
        "{stdout}"
    );
    assert!(stdout.contains("metrics     http://127.0.0.1:"), "{stdout}");
    let kubeconfig = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("export KUBECONFIG="))
        .expect("KUBECONFIG is printed");
    assert!(
        stdout.contains("==> stopped; nothing is left running"),
        "{stdout}"
    );
    assert!(
        !std::path::Path::new(kubeconfig).exists(),
        "the temporary control plane directory is removed"
    );
}

/// `auth0-operator run` logs in text to a pipe (here: an info line, then a connection error
/// against an unreachable API server) without ANSI escape codes.
#[test]
fn text_logs_to_a_pipe_have_no_colour_codes() {
    let dir = Scratch::new("no-colour");
    let kubeconfig = dir.0.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        r#"apiVersion: v1
kind: Config
clusters:
- name: nowhere
  cluster:
    server: http://127.0.0.1:1
contexts:
- name: nowhere
  context: {cluster: nowhere, user: nobody}
current-context: nowhere
users:
- name: nobody
  user: {token: not-a-real-token}
"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_auth0-operator"))
        .arg("run")
        .env("KUBECONFIG", &kubeconfig)
        .env("AUTH0_DOMAIN", "unreachable.auth0.test")
        .env("AUTH0_CLIENT_ID", "id")
        .env("AUTH0_CLIENT_SECRET", "not-a-real-secret")
        .env("HTTP_ADDR", "127.0.0.1:0")
        .env("LOG_FORMAT", "text")
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .env_remove("LEADER_ELECT")
        .env_remove("WATCH_NAMESPACES")
        .env_remove("AUTH0_CLIENT_SECRET_FILE")
        .output()
        .expect("auth0-operator runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "there is no API server:\n{stderr}");
    assert!(
        stderr.contains("INFO"),
        "it logged before failing:\n{stderr}"
    );
    assert!(
        !stderr.contains("\x1b["),
        "colour codes in piped logs:\n{stderr:?}"
    );
}
