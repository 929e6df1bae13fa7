//! The README's main command, `scripts/dev.sh` (= `auth0-operator dev`), brings everything up,
//! creates the `Auth0Tenant` `dev-tenant` that every example names and reports it verified,
//! applies `examples/`, reports each example Ready with its client id and Secret (never the
//! secret value; `AUTH0_DOMAIN` is the tenant's), reports a failing example (or one whose tenant
//! failed) with its reason at once, makes the same tenant from `AUTH0_*` for a real tenant,
//! writes the operator's log to a file, and stops everything it started. Also: the README's two commands and CI share one
//! build cache, and text logs carry colour codes only on a terminal.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    time::{Duration, Instant},
};

use auth0_operator::envtest::KubeVersion;

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

fn assets_or_skip(test: &str) -> bool {
    if std::env::var_os("KUBEBUILDER_ASSETS").is_some() {
        return true;
    }
    assert!(
        std::env::var("CI").map(|v| v != "true").unwrap_or(true),
        "CI=true but KUBEBUILDER_ASSETS is not set"
    );
    eprintln!("\n!!! SKIPPING {test}: KUBEBUILDER_ASSETS is not set\n");
    false
}

/// Whether the kube-apiserver of `KUBEBUILDER_ASSETS` runs the CRDs' CEL rules (1.25+; the
/// 1.20.2 of `scripts/envtest-assets.sh` does not).
fn assets_run_cel_rules() -> bool {
    let assets = std::env::var_os("KUBEBUILDER_ASSETS").expect("KUBEBUILDER_ASSETS");
    let out = Command::new(Path::new(&assets).join("kube-apiserver"))
        .arg("--version")
        .output()
        .expect("kube-apiserver --version");
    KubeVersion::parse(&String::from_utf8_lossy(&out.stdout))
        .is_none_or(|v| v >= KubeVersion::CRD_CEL_RULES)
}

/// `auth0-operator dev --once <extra>` against the simulator.
fn dev_once(extra: &[&str], cache_home: &Path) -> (Output, Duration) {
    dev_once_with(extra, cache_home, &[])
}

/// `auth0-operator dev --once <extra>` with these environment variables (`AUTH0_*` select a
/// "real" tenant; none are inherited).
fn dev_once_with(extra: &[&str], cache_home: &Path, env: &[(&str, &str)]) -> (Output, Duration) {
    let started = Instant::now();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_auth0-operator"));
    cmd.args(["dev", "--once"])
        .args(extra)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HTTP_ADDR", "127.0.0.1:0")
        .env("XDG_CACHE_HOME", cache_home);
    for var in [
        "AUTH0_OPERATOR_CACHE",
        "RUST_LOG",
        "AUTH0_DOMAIN",
        "AUTH0_CLIENT_ID",
        "AUTH0_CLIENT_SECRET",
        "AUTH0_CLIENT_SECRET_FILE",
        "AUTH0_BASE_URL",
        "AUTH0_AUDIENCE",
        "ALLOWED_TENANT_DOMAINS",
        "ALLOW_TENANT_BASE_URL",
        "WATCH_NAMESPACES",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .expect("auth0-operator dev runs (built with the sim and envtest features for tests)");
    (out, started.elapsed())
}

/// The `Secret <name>-auth0: …` lines of the report.
fn secret_lines(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("Secret ") && l.contains("-auth0: "))
        .collect()
}

/// Every `Auth0Client` and `Auth0ClientGrant` in `examples/` names the dev loop's tenant.
#[test]
fn every_example_names_the_dev_tenant() {
    use serde::Deserialize as _;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let v = serde_json::Value::deserialize(doc).unwrap();
            if v.is_null() {
                continue;
            }
            seen += 1;
            assert_eq!(
                v["spec"]["tenantRef"],
                serde_json::json!({"name": "dev-tenant"}),
                "{} {} in {}",
                v["kind"],
                v["metadata"]["name"],
                path.display()
            );
        }
    }
    assert!(seen >= 4, "the examples were read: {seen}");
}

#[test]
fn dev_loop_applies_examples_and_cleans_up() {
    if !assets_or_skip("dev_loop_applies_examples_and_cleans_up") {
        return;
    }
    let cache = Scratch::new("examples");
    let (out, _) = dev_once(&[], &cache.0);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "dev failed:\n{stdout}\n{stderr}");
    // The tenant every example names, created and verified before the examples are applied.
    assert!(
        stdout.contains(
            "Auth0Tenant/dev-tenant: Ready=True (Verified) credentials for dev-tenant.auth0.test verified"
        ),
        "{stdout}"
    );
    let details = stdout
        .lines()
        .find(|l| l.trim().starts_with("domain: dev-tenant.auth0.test"))
        .unwrap_or_else(|| panic!("the tenant's domain is reported:\n{stdout}"));
    let scopes: usize = details
        .split("granted scopes: ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("the granted scope count is reported: {details}"));
    assert!(scopes >= 9, "{details}");
    assert!(
        details.contains("baseUrl: http://127.0.0.1:")
            && details.contains("Secret dev-tenant-credentials"),
        "{details}"
    );
    assert!(
        stdout.contains(
            "ALLOWED_TENANT_DOMAINS=*.auth0.com,dev-tenant.auth0.test ALLOW_TENANT_BASE_URL=true"
        ),
        "{stdout}"
    );
    assert!(
        stdout.find("Auth0Tenant/dev-tenant: Ready=True") < stdout.find("applied "),
        "the tenant is ready before the examples are applied:\n{stdout}"
    );
    // Every example's Secret carries the tenant's domain, and each resource records its tenant.
    let secrets = secret_lines(&stdout);
    assert_eq!(secrets.len(), 4, "{stdout}");
    for s in secrets {
        assert!(s.contains("AUTH0_DOMAIN=dev-tenant.auth0.test"), "{s}");
    }
    assert_eq!(
        stdout.matches("status.tenant: default/dev-tenant").count(),
        7,
        "{stdout}"
    );
    for example in [
        "Auth0Client/web-app: Ready=True (Synced)",
        "Auth0Client/billing-worker: Ready=True (Synced)",
        "Auth0ClientGrant/billing-worker-invoices-api: Ready=True (Synced)",
        "Auth0ResourceServer/orders-api: Ready=True (Synced)",
        "Auth0Client/orders-worker: Ready=True (Synced)",
        "Auth0ClientGrant/orders-worker-orders-api: Ready=True (Synced)",
        "Auth0Client/dashboard-spa: Ready=True (Synced)",
    ] {
        assert!(
            stdout.contains(example),
            "missing `{example}` in:\n{stdout}"
        );
    }
    // Each ready grant's credentials are proven: the client's Secret obtains a token for the
    // API with the grant's scopes (the token itself is never printed).
    for proof in [
        "token: Secret orders-worker-auth0 obtains an access token for https://orders.example.com/api with a private-key JWT client assertion, scope \"read:orders\" (expires in 86400 s)",
        "token: Secret billing-worker-auth0 obtains an access token for https://invoices.example.com/api with its client secret, scope \"read:invoices write:invoices\" (expires in 86400 s)",
    ] {
        assert!(stdout.contains(proof), "missing `{proof}` in:\n{stdout}");
    }
    assert!(!stdout.contains("eyJ"), "no token is printed:\n{stdout}");
    assert!(
        stdout.contains("7 of 7 example(s) Ready, 0 failed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Auth0 simulator at http://127.0.0.1:"),
        "{stdout}"
    );
    // The simulator's dev-only management credentials are printed, for curl and experiments.
    assert!(
        stdout.contains("AUTH0_CLIENT_ID=local-operator AUTH0_CLIENT_SECRET=local-operator-secret"),
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
    // web-app and dashboard-spa name the tenant's database connection; the report shows the
    // connections in effect.
    assert_eq!(
        stdout
            .matches("        connections: Username-Password-Authentication\n")
            .count(),
        2,
        "{stdout}"
    );
    // The import line runs the binary the loop built (no second `cargo run` build).
    let import = stdout
        .lines()
        .find(|l| l.contains(" import --namespace "))
        .expect("the import line is printed");
    assert!(!import.contains("cargo run"), "{import}");
    let binary = import
        .split_whitespace()
        .find(|w| w.ends_with("/auth0-operator"))
        .unwrap_or_else(|| panic!("the binary's path in: {import}"));
    assert!(Path::new(binary).is_file(), "{binary} exists: {import}");

    // The operator's log: in the cache by default, named in the report with how to raise its
    // level, written at info.
    let log = cache.0.join("auth0-operator/dev/operator.log");
    assert!(
        stdout.contains(&format!("Operator log: {}", log.display())),
        "{stdout}"
    );
    assert!(stdout.contains("RUST_LOG=debug"), "{stdout}");
    let log_text = std::fs::read_to_string(&log).expect("the operator log exists");
    assert!(
        log_text.contains(" INFO "),
        "info lines in the log:\n{log_text}"
    );
    assert!(!log_text.contains("\x1b["), "no colour codes in a file");

    let kubeconfig = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("export KUBECONFIG="))
        .expect("KUBECONFIG is printed");
    assert!(
        stdout.contains("==> stopped; nothing is left running"),
        "{stdout}"
    );
    assert!(
        !Path::new(kubeconfig).exists(),
        "the temporary control plane directory is removed"
    );
}

/// An `Auth0Client` with a reserved `clientMetadata` key (refused by a CEL rule on API servers
/// 1.25+, where applying the file fails; 1.20 ignores CEL, so the operator reports
/// `InvalidSpec`), a grant for it (`ClientNotReady`, failed with its client), a client that names
/// no tenant (`TenantNotFound`: the dev loop's operator has no default tenant) and one good
/// client.
const FAILING_EXAMPLES: &str = r#"
apiVersion: auth0.operator.dev/v1alpha1
kind: Auth0Client
metadata:
  name: reserved-metadata
spec:
  tenantRef: {name: dev-tenant}
  name: Reserved Metadata
  appType: non_interactive
  grantTypes: [client_credentials]
  clientMetadata:
    k8s_operator_x: "1"
---
apiVersion: auth0.operator.dev/v1alpha1
kind: Auth0ClientGrant
metadata:
  name: reserved-metadata-orders
spec:
  tenantRef: {name: dev-tenant}
  clientRef:
    name: reserved-metadata
  audience: https://orders.example.com/api
  scopes: [read:orders]
---
apiVersion: auth0.operator.dev/v1alpha1
kind: Auth0Client
metadata:
  name: no-tenant
spec:
  name: No Tenant
  appType: spa
  tokenEndpointAuthMethod: none
---
apiVersion: auth0.operator.dev/v1alpha1
kind: Auth0Client
metadata:
  name: fine
spec:
  tenantRef: {name: dev-tenant}
  name: Fine
  appType: spa
  tokenEndpointAuthMethod: none
"#;

#[test]
fn dev_loop_reports_a_failing_example_at_once() {
    if !assets_or_skip("dev_loop_reports_a_failing_example_at_once") {
        return;
    }
    let dir = Scratch::new("failing");
    let examples = dir.0.join("examples");
    std::fs::create_dir_all(&examples).unwrap();
    std::fs::write(examples.join("failing.yaml"), FAILING_EXAMPLES).unwrap();
    let log = dir.0.join("logs/operator.log");
    let (out, elapsed) = dev_once(
        &[
            "--examples",
            examples.to_str().unwrap(),
            "--log-file",
            log.to_str().unwrap(),
        ],
        &dir.0,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if assets_run_cel_rules() {
        // The API server refuses the file itself, with the rule's message.
        let all = format!("{stdout}\n{stderr}");
        assert!(!out.status.success(), "CEL refuses failing.yaml:\n{all}");
        assert!(
            all.contains("failing.yaml") && all.contains("reserved for the operator"),
            "{all}"
        );
        return;
    }
    assert!(out.status.success(), "dev failed:\n{stdout}\n{stderr}");

    // Each failing object's Ready reason and message, and what to do.
    assert!(
        stdout.contains(
            "Auth0Client/reserved-metadata: Ready=False (InvalidSpec) clientMetadata keys starting with k8s_operator_ are reserved for the operator: k8s_operator_x"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAILED: needs you: fix failing.yaml"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Auth0ClientGrant/reserved-metadata-orders: Ready=False (ClientNotReady)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAILED: its Auth0Client reserved-metadata failed"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "Auth0Client/no-tenant: Ready=False (TenantNotFound) spec.tenantRef is not set"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAILED: it names no tenant and the dev loop's operator has no default tenant: add `tenantRef: {name: dev-tenant}` to its spec in failing.yaml"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Auth0Client/fine: Ready=True (Synced)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 of 4 example(s) Ready, 3 failed, 0 still in progress"),
        "{stdout}"
    );
    // The operator's warning is on the console (stderr, no colour in a pipe) and in the log.
    let warning = stderr
        .lines()
        .find(|l| l.contains("WARN") && l.contains("InvalidSpec"))
        .unwrap_or_else(|| panic!("no WARN line with the reason on the console:\n{stderr}"));
    assert!(
        warning.contains("are reserved for the operator: k8s_operator_x"),
        "{warning}"
    );
    assert!(
        warning.contains("reserved-metadata"),
        "the warning names the object: {warning}"
    );
    assert!(
        !stderr.contains("\x1b["),
        "no colour codes in a pipe:\n{stderr}"
    );
    assert!(
        stdout.contains(&format!("Operator log: {}", log.display())),
        "{stdout}"
    );
    let log_text = std::fs::read_to_string(&log).expect("the operator log exists");
    assert!(log_text.contains("InvalidSpec"), "{log_text}");

    // Settled failures are reported at once, not after the 60 s wait for work in progress.
    let waited: f64 = stdout
        .lines()
        .find_map(|l| l.split("(after ").nth(1)?.strip_suffix(" s)")?.parse().ok())
        .unwrap_or_else(|| panic!("the report says how long it waited:\n{stdout}"));
    assert!(waited < 30.0, "the report waited {waited} s:\n{stdout}");
    assert!(
        elapsed < Duration::from_secs(60),
        "the whole run took {elapsed:?}"
    );
}

/// A simulator standing in for a real tenant (`acme.auth0.test`), in this process, with these
/// management scopes (`None`: all).
fn tenant_stand_in(
    scopes: Option<&[&str]>,
) -> (tokio::runtime::Runtime, auth0_operator::sim::Simulator) {
    use auth0_operator::sim::{SimConfig, Simulator};
    let rt = tokio::runtime::Runtime::new().expect("a runtime for the simulator");
    let mut cfg = SimConfig::new(REAL_DOMAIN, "acme-operator", REAL_SECRET);
    // The API `backend-m2m.yaml` grants access to by `audience` exists in that tenant
    // (`orders-api.yaml` makes its own).
    cfg.audiences = vec!["https://invoices.example.com/api".to_string()];
    if let Some(scopes) = scopes {
        cfg.scopes = scopes.iter().map(|s| s.to_string()).collect();
    }
    let sim = rt
        .block_on(Simulator::start(cfg))
        .expect("the simulator starts");
    (rt, sim)
}

const REAL_DOMAIN: &str = "acme.auth0.test";
const REAL_SECRET: &str = "acme-management-secret-value";

/// With `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID` and `AUTH0_CLIENT_SECRET` (here a simulator standing in
/// for the tenant, through `AUTH0_BASE_URL`) the dev loop makes `dev-tenant` from them, admits
/// the domain you gave, and the same examples become Ready in that tenant.
#[test]
fn dev_loop_makes_the_dev_tenant_from_the_environment() {
    if !assets_or_skip("dev_loop_makes_the_dev_tenant_from_the_environment") {
        return;
    }
    let (_rt, sim) = tenant_stand_in(None);
    let dir = Scratch::new("real-tenant");
    let base_url = sim.base_url();
    let (out, _) = dev_once_with(
        &[],
        &dir.0,
        &[
            ("AUTH0_DOMAIN", REAL_DOMAIN),
            ("AUTH0_CLIENT_ID", "acme-operator"),
            ("AUTH0_CLIENT_SECRET", REAL_SECRET),
            ("AUTH0_BASE_URL", &base_url),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "dev failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("using the REAL Auth0 tenant acme.auth0.test (AUTH0_DOMAIN is set) through Auth0Tenant dev-tenant"),
        "{stdout}"
    );
    assert!(!stdout.contains("Auth0 simulator at"), "{stdout}");
    assert!(
        stdout.contains("ALLOWED_TENANT_DOMAINS=*.auth0.com,acme.auth0.test"),
        "the domain you gave is admitted:\n{stdout}"
    );
    assert!(
        stdout.contains(
            "Auth0Tenant/dev-tenant: Ready=True (Verified) credentials for acme.auth0.test verified"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("domain: acme.auth0.test"), "{stdout}");
    let secrets = secret_lines(&stdout);
    assert_eq!(secrets.len(), 4, "{stdout}");
    for s in secrets {
        assert!(s.contains("AUTH0_DOMAIN=acme.auth0.test"), "{s}");
    }
    assert!(
        stdout.contains("7 of 7 example(s) Ready, 0 failed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("token: Secret orders-worker-auth0 obtains an access token for https://orders.example.com/api with a private-key JWT client assertion, scope \"read:orders\""),
        "{stdout}"
    );
    assert_eq!(
        sim.clients().len(),
        4,
        "the applications are in that tenant"
    );
    let all = format!("{stdout}\n{stderr}");
    assert!(!all.contains(REAL_SECRET), "a real secret is never printed");
}

/// A tenant the operator cannot verify (here: its token lacks scopes) is reported with its
/// reason and what to do, and the examples, which wait for it, are reported as failed at once.
#[test]
fn dev_loop_reports_an_unverified_tenant_and_its_examples_at_once() {
    if !assets_or_skip("dev_loop_reports_an_unverified_tenant_and_its_examples_at_once") {
        return;
    }
    let (_rt, sim) = tenant_stand_in(Some(&["read:clients"]));
    let dir = Scratch::new("unverified-tenant");
    let base_url = sim.base_url();
    let (out, elapsed) = dev_once_with(
        &[],
        &dir.0,
        &[
            ("AUTH0_DOMAIN", REAL_DOMAIN),
            ("AUTH0_CLIENT_ID", "acme-operator"),
            ("AUTH0_CLIENT_SECRET", REAL_SECRET),
            ("AUTH0_BASE_URL", &base_url),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "dev failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("Auth0Tenant/dev-tenant: Ready=False (MissingScopes)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAILED: grant the scopes named above"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Auth0Client/web-app: Ready=False (TenantNotReady)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAILED: its Auth0Tenant dev-tenant is not verified (see above)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("0 of 7 example(s) Ready, 7 failed, 0 still in progress"),
        "{stdout}"
    );
    assert!(
        elapsed < Duration::from_secs(60),
        "the whole run took {elapsed:?}"
    );
    assert!(sim.clients().is_empty(), "nothing was created");
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

fn sh(script: &str, env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new("bash");
    cmd.args(["-c", script])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("AUTH0_OPERATOR_CACHE")
        .env_remove("XDG_CACHE_HOME");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("bash runs");
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One definition of the build cache (scripts/cache-env.sh), used by the README's two commands
/// and by CI; a CARGO_TARGET_DIR of your own wins.
#[test]
fn scripts_share_one_build_cache() {
    let print = ". scripts/cache-env.sh && printf %s \"$CARGO_TARGET_DIR\"";
    assert_eq!(
        sh(print, &[("HOME", "/home/u")]),
        "/home/u/.cache/auth0-operator/target"
    );
    assert_eq!(
        sh(print, &[("HOME", "/home/u"), ("XDG_CACHE_HOME", "/xdg")]),
        "/xdg/auth0-operator/target"
    );
    assert_eq!(
        sh(print, &[("HOME", "/home/u"), ("CARGO_TARGET_DIR", "/mine")]),
        "/mine"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for script in ["scripts/dev.sh", "scripts/test.sh", ".ci/run"] {
        let text = std::fs::read_to_string(root.join(script)).unwrap();
        assert!(
            text.contains(". scripts/cache-env.sh"),
            "{script} sources scripts/cache-env.sh"
        );
        assert!(
            !text.contains("auth0-operator/target"),
            "{script} defines the build cache itself instead of sourcing scripts/cache-env.sh"
        );
    }
}

/// `scripts/dev.sh` builds into the shared cache with cargo's progress (no `--quiet`) and says
/// what it builds first. A stand-in `cargo` records how it is called.
#[test]
fn dev_sh_builds_into_the_shared_cache_with_progress() {
    let dir = Scratch::new("dev-sh");
    let bin = dir.0.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let cargo = bin.join("cargo");
    std::fs::write(
        &cargo,
        "#!/bin/sh\necho \"CARGO_TARGET_DIR=$CARGO_TARGET_DIR\"\necho \"args: $*\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let cache = dir.0.join("cache");
    let out = Command::new("scripts/dev.sh")
        .arg("--once")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PATH", path)
        .env("XDG_CACHE_HOME", &cache)
        .env("KUBEBUILDER_ASSETS", "/assets")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("AUTH0_OPERATOR_CACHE")
        .output()
        .expect("scripts/dev.sh runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let target = cache.join("auth0-operator/target");
    assert!(
        stdout.contains(&format!("CARGO_TARGET_DIR={}\n", target.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains("args: run --features sim,envtest --bin auth0-operator -- dev --once"),
        "cargo's progress is shown (no --quiet):\n{stdout}"
    );
    assert!(
        stderr.contains(&format!("building auth0-operator in {}", target.display()))
            && stderr.contains("the first build")
            && stderr.contains("several minutes"),
        "{stderr}"
    );
}
