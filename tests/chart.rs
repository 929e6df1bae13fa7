//! The Helm chart `charts/auth0-operator`: lint, render (no values at all, every `ci/*-values.yaml`
//! and several value sets) + Kubernetes schema validation + determinism, the properties that
//! matter (hardening, probes, least-privilege RBAC, no secret literals), NOTES and the install
//! documentation, the shipped CRDs, a real `helm install` on the dev loop's kube-apiserver 1.20,
//! and proof on a real kube-apiserver that the chart's RBAC is enough for the operator and no more.
//!
//! Needs `helm` and `kubernetes-validate` on PATH (`export PATH="$(scripts/tools.sh):$PATH"`; the
//! tools cache is also searched) and, for the apiserver tests, `KUBEBUILDER_ASSETS`. Without them the
//! tests skip loudly, and fail when `CI=true`.

mod common;

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::Duration,
};

use auth0_operator::{
    config::{LeaderElection, OperatorConfig},
    crd::{Auth0Client, Auth0ClientGrant, Auth0ResourceServer, Auth0Tenant, ClusterAuth0Tenant},
    envtest::{KubeVersion, TestEnv, start_or_skip},
    sim::{SimConfig, Simulator},
};
use common::*;
use k8s_openapi::{
    api::{
        authentication::v1::{TokenRequest, TokenRequestSpec},
        core::v1::{ConfigMap, Namespace, Secret, ServiceAccount},
        rbac::v1::ClusterRole,
    },
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
    core::{DynamicObject, GroupVersionKind},
    discovery::Scope,
};
use serde::Deserialize as _;
use serde_json::json;
use serde_yaml::Value;

const T: Duration = Duration::from_secs(30);
/// Kubernetes version whose JSON schemas validate the rendered manifests (bundled with
/// kubernetes-validate, so no network is needed).
const SCHEMA_K8S_VERSION: &str = "1.30.0";
const DOMAIN_SET: &str = "auth0.domain=my-tenant.eu.auth0.com";
const INLINE_ID: &str = "inline-client-id-7f3a";
const INLINE_SECRET: &str = "inline-s3cr3t-value-9c1d";

fn chart_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("charts/auth0-operator")
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The tools, or None after a LOUD message (a panic when `CI=true`), like `start_or_skip`.
struct Tools {
    helm: PathBuf,
    validate: PathBuf,
}

fn tools_or_skip(test: &str) -> Option<Tools> {
    match (find_tool("helm"), find_tool("kubernetes-validate")) {
        (Some(helm), Some(validate)) => Some(Tools { helm, validate }),
        (h, v) => {
            let missing: Vec<&str> = [("helm", h.is_none()), ("kubernetes-validate", v.is_none())]
                .into_iter()
                .filter(|(_, m)| *m)
                .map(|(n, _)| n)
                .collect();
            if ci() {
                panic!(
                    "CI=true but {} not found: run `export PATH=\"$(scripts/tools.sh):$PATH\"` before `cargo test`",
                    missing.join(" and ")
                );
            }
            let bar = "!".repeat(100);
            eprintln!(
                "\n{bar}\n!!! SKIPPING chart test `{test}`: {} not found on PATH.\n\
                 !!! This test did NOT run. To run it:\n\
                 !!!     export PATH=\"$(scripts/tools.sh):$PATH\"\n{bar}\n",
                missing.join(" and ")
            );
            None
        }
    }
}

fn helm_args(cmd: &mut Command, sets: &[&str]) {
    for s in sets {
        // `key=[...]`/`key={...}` JSON lists go through --set-json; the rest through --set.
        if let Some((k, v)) = s.split_once("=json:") {
            cmd.arg("--set-json").arg(format!("{k}={v}"));
        } else {
            cmd.arg("--set").arg(s);
        }
    }
}

/// `helm template` of the chart as release `release` in `namespace`.
fn try_render(t: &Tools, release: &str, namespace: &str, sets: &[&str]) -> Result<String, String> {
    let mut cmd = Command::new(&t.helm);
    cmd.args(["template", release])
        .arg(chart_dir())
        .args(["--namespace", namespace]);
    helm_args(&mut cmd, sets);
    run(&mut cmd)
}

fn render(t: &Tools, release: &str, namespace: &str, sets: &[&str]) -> String {
    try_render(t, release, namespace, sets).unwrap_or_else(|e| panic!("{e}"))
}

/// Documents of a multi-document YAML stream (empty ones dropped).
fn docs(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|d| Value::deserialize(d).expect("rendered YAML parses"))
        .filter(|v| !v.is_null())
        .collect()
}

fn kind(v: &Value) -> &str {
    v["kind"].as_str().unwrap_or_default()
}

fn name(v: &Value) -> &str {
    v["metadata"]["name"].as_str().unwrap_or_default()
}

fn ns(v: &Value) -> &str {
    v["metadata"]["namespace"].as_str().unwrap_or_default()
}

fn of_kind<'a>(d: &'a [Value], k: &str) -> Vec<&'a Value> {
    d.iter().filter(|v| kind(v) == k).collect()
}

fn one<'a>(d: &'a [Value], k: &str) -> &'a Value {
    let v = of_kind(d, k);
    assert_eq!(v.len(), 1, "expected exactly one {k}, found {}", v.len());
    v[0]
}

fn strs(v: &Value) -> Vec<String> {
    v.as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(String::from))
        .collect()
}

fn container(d: &[Value]) -> &Value {
    let dep = one(d, "Deployment");
    let cs = dep["spec"]["template"]["spec"]["containers"]
        .as_sequence()
        .unwrap();
    assert_eq!(cs.len(), 1);
    &cs[0]
}

fn env_of(d: &[Value]) -> BTreeMap<String, Value> {
    container(d)["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap().to_string(), e.clone()))
        .collect()
}

fn env_literal(d: &[Value], key: &str) -> Option<String> {
    env_of(d)
        .get(key)
        .and_then(|e| e["value"].as_str().map(String::from))
}

fn validate_manifests(t: &Tools, label: &str, yaml: &str) {
    let dir = std::env::temp_dir().join(format!("a0op-chart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{label}.yaml"));
    std::fs::write(&file, yaml).unwrap();
    let out = run(Command::new(&t.validate)
        .args([
            "--kubernetes-version",
            SCHEMA_K8S_VERSION,
            "--strict",
            "--quiet",
        ])
        .arg(&file));
    if let Err(e) = out {
        panic!(
            "value set `{label}`: rendered manifests do not validate against Kubernetes {SCHEMA_K8S_VERSION}:\n{e}"
        );
    }
    let _ = std::fs::remove_file(&file);
}

/// The value sets rendered by the tests: (label, --set values).
fn value_sets() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("domain-only", vec![DOMAIN_SET]),
        (
            "existing-secret",
            vec![
                DOMAIN_SET,
                "auth0.existingSecret.name=op-creds",
                "auth0.existingSecret.clientIdKey=id",
                "auth0.existingSecret.clientSecretKey=secret",
            ],
        ),
        (
            "inline-credentials",
            vec![
                DOMAIN_SET,
                "auth0.clientId=inline-client-id-7f3a",
                "auth0.clientSecret=inline-s3cr3t-value-9c1d",
                "auth0.baseUrl=https://proxy.example.com",
                "auth0.rateLimit=10:2",
            ],
        ),
        (
            "watch-namespaces",
            vec![DOMAIN_SET, "watchNamespaces={a,b}"],
        ),
        ("replicas-2", vec![DOMAIN_SET, "replicas=2"]),
        (
            "service-monitor",
            vec![
                DOMAIN_SET,
                "metrics.serviceMonitor.enabled=true",
                "metrics.serviceMonitor.labels.release=prom",
            ],
        ),
    ]
}

// ------------------------------------------------------------------------------------- lint

#[test]
fn helm_lint_strict() {
    let Some(t) = tools_or_skip("helm_lint_strict") else {
        return;
    };
    for sets in [
        vec![DOMAIN_SET],
        vec![DOMAIN_SET, "watchNamespaces={team-a,team-b}"],
        vec![
            DOMAIN_SET,
            "auth0.clientId=x",
            "auth0.clientSecret=y",
            "replicas=3",
            "metrics.serviceMonitor.enabled=true",
        ],
    ] {
        let mut cmd = Command::new(&t.helm);
        cmd.args(["lint", "--strict"]).arg(chart_dir());
        helm_args(&mut cmd, &sets);
        let out = run(&mut cmd).unwrap_or_else(|e| panic!("{e}"));
        assert!(out.contains("0 chart(s) failed"), "{out}");
    }
}

#[test]
fn schema_and_templates_reject_bad_values() {
    let Some(t) = tools_or_skip("schema_and_templates_reject_bad_values") else {
        return;
    };
    let cases: &[(&[&str], &str)] = &[
        // No values at all is valid (no default tenant; `defaults_configure_no_tenant`), but the
        // values that belong to a tenant need auth0.domain.
        (&["auth0.existingSecret.name=x"], "auth0.domain is empty"),
        (
            &["auth0.clientId=x", "auth0.clientSecret=y"],
            "auth0.domain is empty",
        ),
        (
            &["auth0.baseUrl=https://proxy.example.com"],
            "auth0.domain is empty",
        ),
        (
            &["auth0.audience=https://t.auth0.com/api/v2/"],
            "auth0.domain is empty",
        ),
        (&["auth0.domain=https://t.auth0.com/"], "domain"),
        (&[DOMAIN_SET, "replica=2"], "replica"),
        (
            &[DOMAIN_SET, "auth0.clientSecretFile=x"],
            "clientSecretFile",
        ),
        (&[DOMAIN_SET, "logging.format=xml"], "format"),
        (&[DOMAIN_SET, "auth0.rateLimit=fast"], "rateLimit"),
        (&[DOMAIN_SET, "watchNamespaces={Team_A}"], "watchNamespaces"),
        // Tenant settings: host name globs only (no scheme, no comma inside), a real boolean.
        (
            &["tenants.allowedDomains={https://t.auth0.com}"],
            "allowedDomains",
        ),
        (
            &["tenants.allowedDomains={a b.auth0.com}"],
            "allowedDomains",
        ),
        (&["tenants.allowBaseUrl=yes"], "allowBaseUrl"),
        (&["tenants.allowedDomain={x.auth0.com}"], "allowedDomain"),
        (&[DOMAIN_SET, "auth0.clientId=x"], "must be set together"),
        (
            &[
                DOMAIN_SET,
                "auth0.clientId=x",
                "auth0.clientSecret=y",
                "auth0.existingSecret.name=z",
            ],
            "not both",
        ),
        (
            &[
                DOMAIN_SET,
                r#"extraEnv=json:[{"name":"AUTH0_CLIENT_SECRET","value":"x"}]"#,
            ],
            "extraEnv",
        ),
        (
            &[
                DOMAIN_SET,
                "metrics.serviceMonitor.enabled=true",
                "metrics.service.enabled=false",
            ],
            "metrics.service.enabled",
        ),
    ];
    for (sets, needle) in cases {
        match try_render(&t, "r", "ops", sets) {
            Ok(_) => panic!("values {sets:?} were accepted"),
            Err(e) => assert!(
                e.contains(needle),
                "values {sets:?}: error does not name `{needle}`:\n{e}"
            ),
        }
    }
}

/// Every value in values.yaml is documented: a comment right above it, or above the map it is part
/// of (e.g. `resources:`).
#[test]
fn every_value_is_commented() {
    let text = std::fs::read_to_string(chart_dir().join("values.yaml")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // (indent, commented) of the enclosing map headers.
    let mut stack: Vec<(usize, bool)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('-') {
            continue;
        }
        let Some((key, rest)) = trimmed.split_once(':') else {
            continue;
        };
        let indent = line.len() - trimmed.len();
        while stack.last().is_some_and(|(d, _)| *d >= indent) {
            stack.pop();
        }
        let commented = i > 0 && lines[i - 1].trim_start().starts_with('#');
        let header = rest.trim().is_empty();
        if !header {
            assert!(
                commented || stack.iter().any(|(_, c)| *c),
                "values.yaml line {}: `{key}` has no comment",
                i + 1
            );
        }
        if header {
            stack.push((indent, commented));
        }
    }
}

/// NOTES.txt as `helm install` prints it (client-side dry run, no cluster).
fn notes(t: &Tools, sets: &[&str]) -> String {
    let mut cmd = Command::new(&t.helm);
    cmd.args(["install", "auth0-operator"])
        .arg(chart_dir())
        .args(["--namespace", "auth0-system", "--dry-run=client"])
        // Never talk to a cluster.
        .env("KUBECONFIG", "/nonexistent");
    helm_args(&mut cmd, sets);
    let out = run(&mut cmd).unwrap_or_else(|e| panic!("{e}"));
    out.split_once("NOTES:")
        .map(|(_, n)| n.to_string())
        .unwrap_or_else(|| panic!("no NOTES in:\n{out}"))
}

/// NOTES.txt tells what to do next (as `helm install` prints it).
#[test]
fn notes_give_next_steps() {
    let Some(t) = tools_or_skip("notes_give_next_steps") else {
        return;
    };
    let notes = |sets: &[&str]| notes(&t, sets);
    let n = notes(&[DOMAIN_SET]);
    assert!(
        n.contains("create secret generic auth0-operator-credentials"),
        "{n}"
    );
    assert!(n.contains("kubectl apply --server-side -f crds/"), "{n}");
    assert!(n.contains("all namespaces"), "{n}");
    let n = notes(&[
        DOMAIN_SET,
        "auth0.existingSecret.name=op-creds",
        "watchNamespaces={team-a}",
        "replicas=2",
    ]);
    assert!(
        n.contains("Secret op-creds") && !n.contains("create secret generic"),
        "{n}"
    );
    assert!(
        n.contains("the namespaces: team-a") && n.contains("kubectl apply -n team-a"),
        "{n}"
    );
    assert!(
        n.contains("a ClusterAuth0Tenant's credentials Secret must be in one of them"),
        "{n}"
    );
    assert!(n.contains("leader election"), "{n}");
}

/// Without values the chart configures no default tenant, and NOTES say so plainly: what is
/// missing, what the operator does then (it runs, and resources without spec.tenantRef are
/// TenantNotFound), and both ways on: an Auth0Tenant with its Secret, or a default tenant. A
/// bare image name (the default: nothing is published) gets a note that it must be overridden.
#[test]
fn notes_say_when_no_tenant_or_no_pullable_image_is_configured() {
    let Some(t) = tools_or_skip("notes_say_when_no_tenant_or_no_pullable_image_is_configured")
    else {
        return;
    };
    let n = notes(&t, &[]);
    for needle in [
        "NO DEFAULT AUTH0 TENANT IS CONFIGURED (auth0.domain is empty)",
        "The operator runs without one",
        "must name its tenant in spec.tenantRef",
        "reason TenantNotFound",
        "create secret generic auth0-operator-credentials",
        "helm upgrade auth0-operator charts/auth0-operator -n auth0-system --reuse-values",
        "--set auth0.domain=<tenant>.auth0.com --set auth0.existingSecret.name=auth0-operator-credentials",
        "It watches Auth0Client, Auth0ClientGrant, Auth0ResourceServer and Auth0Tenant resources in all namespaces.",
        // The other way: a tenant object with its Secret, and the application naming it.
        "kubectl -n default create secret generic my-tenant-credentials",
        "kind: Auth0Tenant",
        "credentialsSecretRef:\n         name: my-tenant-credentials",
        "tenants.allowedDomains: *.auth0.com",
        "tenantRef:\n         name: my-tenant",
    ] {
        assert!(n.contains(needle), "NOTES lack `{needle}`:\n{n}");
    }
    assert!(
        !n.contains("of tenant") && !n.contains("exits at start"),
        "{n}"
    );
    // The manifests NOTES show are valid objects of the CRD types.
    for block in n.split("<<'YAML'\n").skip(1) {
        let yaml = block.split("     YAML").next().unwrap();
        let v: serde_json::Value =
            serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("{e}:\n{yaml}"));
        match v["kind"].as_str() {
            Some("Auth0Tenant") => {
                serde_json::from_value::<auth0_operator::crd::Auth0Tenant>(v).unwrap();
            }
            Some("Auth0Client") => {
                serde_json::from_value::<Auth0Client>(v).unwrap();
            }
            other => panic!("NOTES show a {other:?}"),
        }
    }
    let n = notes(&t, &[DOMAIN_SET]);
    assert!(!n.contains("NO DEFAULT AUTH0 TENANT"), "{n}");
    assert!(
        !n.contains("kind: Auth0Tenant") && !n.contains("tenantRef"),
        "{n}"
    );
    assert!(
        n.contains("It manages Auth0 applications of tenant my-tenant.eu.auth0.com"),
        "{n}"
    );

    // The image: the default bare name cannot be pulled from anywhere.
    for needle in [
        "THE IMAGE MUST BE OVERRIDDEN",
        "auth0-operator:0.1.0 has no registry",
        "docker build -t <registry>/auth0-operator:<tag> .",
        "--set image.repository=<registry>/auth0-operator --set image.tag=<tag>",
    ] {
        assert!(n.contains(needle), "NOTES lack `{needle}`:\n{n}");
    }
    let n = notes(
        &t,
        &[
            DOMAIN_SET,
            "image.repository=registry.example.com/platform/auth0-operator",
        ],
    );
    assert!(!n.contains("IMAGE MUST BE OVERRIDDEN"), "{n}");
    // Offline, Helm assumes a recent Kubernetes: no note about old API servers.
    assert!(
        !n.contains("CEL rules") && !n.contains("kubectl replace"),
        "{n}"
    );
}

/// Management API scopes named in `text`: (required, optional). A scope is optional when
/// `(optional)` or `is optional` follows it.
fn scopes_in(text: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut required, mut optional) = (BTreeSet::new(), BTreeSet::new());
    for verb in ["read:", "create:", "update:", "delete:"] {
        for (at, _) in text.match_indices(verb) {
            if text[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
            {
                continue;
            }
            let rest = &text[at + verb.len()..];
            let len = rest
                .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
                .unwrap_or(rest.len());
            if len == 0 {
                continue;
            }
            let scope = format!("{verb}{}", &rest[..len]);
            let after = rest[len..].trim_start_matches(['`', ' ']);
            if after.starts_with("(optional)") || after.starts_with("is optional") {
                optional.insert(scope);
            } else {
                required.insert(scope);
            }
        }
    }
    (required, optional)
}

/// The part of a Markdown document from the heading `heading` to the next heading of its level.
fn md_section(doc: &str, heading: &str) -> String {
    let level = heading.split(' ').next().unwrap();
    let start = doc
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("no `{heading}` section"));
    let body = &doc[start + 1..];
    let end = body[1..]
        .find(&format!("\n{level} "))
        .map_or(body.len(), |e| e + 1);
    body[..end].to_string()
}

fn repo_file(path: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// NOTES, the README, the chart README and docs/troubleshooting.md name the same required (and
/// optional) Management API scopes as the code: the union of the scopes of the table of kinds
/// (`controller::kinds::required_scopes`; and `OPTIONAL_SCOPES`, none today).
#[test]
fn notes_and_readmes_list_the_same_scopes() {
    let Some(t) = tools_or_skip("notes_and_readmes_list_the_same_scopes") else {
        return;
    };
    let readme = scopes_in(&md_section(
        &repo_file("README.md"),
        "## Install on a cluster",
    ));
    let chart_readme = scopes_in(&md_section(
        &repo_file("charts/auth0-operator/README.md"),
        "## Install",
    ));
    let code =
        |scopes: &[&str]| -> BTreeSet<String> { scopes.iter().map(|s| s.to_string()).collect() };
    assert_eq!(
        readme.0,
        code(&auth0_operator::controller::kinds::required_scopes()),
        "README: required scopes"
    );
    assert_eq!(
        readme.1,
        code(auth0_operator::auth0::OPTIONAL_SCOPES),
        "README: optional scopes"
    );
    assert_eq!(chart_readme, readme, "chart README vs README");
    let troubleshooting = scopes_in(&md_section(
        &repo_file("docs/troubleshooting.md"),
        "## Scopes the operator needs",
    ));
    assert_eq!(troubleshooting, readme, "docs/troubleshooting.md vs README");
    for sets in [&[][..], &[DOMAIN_SET][..]] {
        let n = scopes_in(&notes(&t, sets));
        assert_eq!(n, readme, "NOTES ({sets:?}) vs README");
    }
}

/// The install command the READMEs give for the dev loop's cluster (and any cluster whose API
/// server predates the CRDs' `x-kubernetes-validations` field); run verbatim, from the
/// repository root, by `helm_installs_on_the_dev_loop_apiserver`.
const DEV_INSTALL: &str = "helm install auth0-operator charts/auth0-operator -n auth0-operator --create-namespace --server-side=false";
/// The alternative where the CRDs are already installed (the dev loop installs them).
const DEV_INSTALL_SKIP_CRDS: &str = "helm install auth0-operator charts/auth0-operator -n auth0-operator --create-namespace --skip-crds";

/// Keys of `--set key=…` / `--set-json key=…` in `text`.
fn set_keys(text: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for flag in ["--set ", "--set-json "] {
        for (at, _) in text.match_indices(flag) {
            let rest = text[at + flag.len()..].trim_start_matches(['`', '\'', '"']);
            if let Some((key, _)) = rest.split_once('=') {
                keys.insert(key.to_string());
            }
        }
    }
    keys
}

/// The README's install section and the chart README say how to get an image (nothing publishes
/// one): `docker build` from the repository root, push, and the chart values to point at it,
/// which exist in values.yaml like every other `--set` they show. And they give the commands
/// that install the chart on the dev loop's cluster, with the Kubernetes versions that matter.
#[test]
fn readmes_document_the_image_and_the_install_commands() {
    let values: Value =
        serde_yaml::from_str(&repo_file("charts/auth0-operator/values.yaml")).unwrap();
    let docs = [
        (
            "README.md (Install on a cluster)",
            md_section(&repo_file("README.md"), "## Install on a cluster"),
        ),
        (
            "charts/auth0-operator/README.md",
            repo_file("charts/auth0-operator/README.md"),
        ),
    ];
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("Dockerfile")
            .is_file()
    );
    for (name, text) in &docs {
        let build = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("docker build -t "))
            .unwrap_or_else(|| panic!("{name}: no `docker build -t …` command"));
        assert!(
            build.ends_with(" ."),
            "{name}: `{build}` must build from the repository root (the Dockerfile's context)"
        );
        assert!(text.contains("docker push "), "{name}: no `docker push`");
        let keys = set_keys(text);
        for k in ["image.repository", "image.tag"] {
            assert!(keys.contains(k), "{name}: no `--set {k}=…`");
        }
        for k in &keys {
            let mut v = &values;
            for part in k.split('.') {
                v = &v[part];
            }
            assert!(
                !v.is_null(),
                "{name}: `--set {k}` is not a value of values.yaml"
            );
        }
        for cmd in [DEV_INSTALL, DEV_INSTALL_SKIP_CRDS] {
            assert!(text.contains(cmd), "{name}: lacks `{cmd}`");
        }
        for needle in ["scripts/dev.sh", "1.25", "InvalidSpec", "no public image"] {
            assert!(text.contains(needle), "{name}: does not mention `{needle}`");
        }
    }
}

// ----------------------------------------------------------------------------------- render

#[test]
fn rendered_manifests_validate_and_are_deterministic() {
    let Some(t) = tools_or_skip("rendered_manifests_validate_and_are_deterministic") else {
        return;
    };
    for (label, sets) in value_sets() {
        let a = render(&t, "auth0-operator", "auth0-system", &sets);
        let b = render(&t, "auth0-operator", "auth0-system", &sets);
        assert_eq!(a, b, "value set `{label}` renders differently on each run");
        validate_manifests(&t, label, &a);
    }
    // The CRDs as Helm would install them validate as well.
    let mut cmd = Command::new(&t.helm);
    cmd.args(["template", "auth0-operator"])
        .arg(chart_dir())
        .arg("--include-crds");
    helm_args(&mut cmd, &[DOMAIN_SET]);
    let with_crds = run(&mut cmd).unwrap_or_else(|e| panic!("{e}"));
    let with_crds_docs = docs(&with_crds);
    let crds: BTreeSet<&str> = of_kind(&with_crds_docs, "CustomResourceDefinition")
        .into_iter()
        .map(name)
        .collect();
    assert_eq!(
        crds,
        BTreeSet::from([
            "auth0clients.auth0.operator.dev",
            "auth0clientgrants.auth0.operator.dev",
            "auth0resourceservers.auth0.operator.dev",
            "auth0tenants.auth0.operator.dev",
            "clusterauth0tenants.auth0.operator.dev",
        ])
    );
    validate_manifests(&t, "with-crds", &with_crds);
}

/// chart-testing's convention: `ci/*-values.yaml`, each a configured case.
fn ci_values_files() -> Vec<PathBuf> {
    let dir = chart_dir().join("ci");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in &files {
        let n = f.file_name().unwrap().to_string_lossy();
        assert!(
            n.ends_with("-values.yaml"),
            "{}: chart-testing only reads ci/*-values.yaml",
            f.display()
        );
    }
    assert!(!files.is_empty(), "no ci/*-values.yaml files");
    files
}

/// The chart lints (`--strict`), renders, validates against the Kubernetes schemas, renders the
/// same twice and keeps RBAC least-privilege with NO values at all and with every ci/ file.
#[test]
fn defaults_and_ci_values_lint_render_and_validate() {
    let Some(t) = tools_or_skip("defaults_and_ci_values_lint_render_and_validate") else {
        return;
    };
    let mut cases: Vec<(String, Vec<PathBuf>)> = vec![("no-values".into(), vec![])];
    for f in ci_values_files() {
        let label = f.file_stem().unwrap().to_string_lossy().into_owned();
        cases.push((label, vec![f]));
    }
    for (label, files) in cases {
        let mut lint = Command::new(&t.helm);
        lint.args(["lint", "--strict"]).arg(chart_dir());
        for f in &files {
            lint.arg("-f").arg(f);
        }
        let out = run(&mut lint).unwrap_or_else(|e| panic!("{label}: {e}"));
        assert!(out.contains("0 chart(s) failed"), "{label}: {out}");

        let template = || {
            let mut cmd = Command::new(&t.helm);
            cmd.args(["template", "auth0-operator"])
                .arg(chart_dir())
                .args(["--namespace", "auth0-system"]);
            for f in &files {
                cmd.arg("-f").arg(f);
            }
            run(&mut cmd).unwrap_or_else(|e| panic!("{label}: {e}"))
        };
        let a = template();
        assert_eq!(a, template(), "{label}: renders differently on each run");
        validate_manifests(&t, &label, &a);
        let d = docs(&a);
        one(&d, "Deployment");
        for role in of_kind(&d, "ClusterRole")
            .into_iter()
            .chain(of_kind(&d, "Role"))
        {
            check_rules(&label, role);
        }
    }
}

/// With no values the Deployment carries no tenant settings and no credentials (no AUTH0_*
/// variables, no credentials volume, no Secret): nothing refers to a Secret that does not exist.
#[test]
fn defaults_configure_no_tenant() {
    let Some(t) = tools_or_skip("defaults_configure_no_tenant") else {
        return;
    };
    let d = docs(&render(&t, "auth0-operator", "auth0-system", &[]));
    let env = env_of(&d);
    for key in [
        "AUTH0_DOMAIN",
        "AUTH0_CLIENT_ID",
        "AUTH0_CLIENT_SECRET",
        "AUTH0_CLIENT_SECRET_FILE",
        "AUTH0_BASE_URL",
        "AUTH0_AUDIENCE",
    ] {
        assert!(!env.contains_key(key), "{key} is set without a tenant");
    }
    assert!(of_kind(&d, "Secret").is_empty());
    let template = &one(&d, "Deployment")["spec"]["template"];
    let text = serde_yaml::to_string(template).unwrap();
    assert!(
        !text.contains("secretName") && !text.contains("secretKeyRef"),
        "{text}"
    );
    assert!(
        template["metadata"]["annotations"]["checksum/credentials"].is_null(),
        "{text}"
    );
    // The rest of the operator's settings are there, with their defaults.
    assert_eq!(env_literal(&d, "RESYNC_INTERVAL").as_deref(), Some("10m"));
    assert_eq!(env_literal(&d, "LEADER_ELECT").as_deref(), Some("false"));
    // The rate limit is not tied to the tenant.
    let d = docs(&render(
        &t,
        "auth0-operator",
        "auth0-system",
        &["auth0.rateLimit=10:2"],
    ));
    assert_eq!(env_literal(&d, "AUTH0_RATE_LIMIT").as_deref(), Some("10:2"));
}

/// The operator's settings as it resolves them from the rendered Deployment's literal
/// environment variables, read through its own flags (`auth0-operator run`). Every literal
/// variable must be one of its settings (or RUST_LOG / POD_NAMESPACE, read elsewhere); the
/// default tenant's variables are left out (its secret is a mounted file).
fn operator_settings(d: &[Value]) -> auth0_operator::config::OperatorConfig {
    use auth0_operator::config::RunArgs;
    use clap::{Args as _, FromArgMatches as _};
    let cmd = RunArgs::augment_args(clap::Command::new("run"));
    let mut argv = vec!["run".to_string()];
    for (key, e) in env_of(d) {
        let Some(value) = e["value"].as_str() else {
            continue;
        };
        if ["RUST_LOG", "POD_NAMESPACE"].contains(&key.as_str())
            || (key.starts_with("AUTH0_") && key != "AUTH0_RATE_LIMIT")
        {
            continue;
        }
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_env().is_some_and(|n| n == key.as_str()))
            .unwrap_or_else(|| panic!("the chart sets {key}, which the operator does not read"));
        argv.push(format!("--{}={value}", arg.get_long().unwrap()));
    }
    let matches = cmd
        .try_get_matches_from(&argv)
        .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    RunArgs::from_arg_matches(&matches)
        .unwrap()
        .resolve()
        .unwrap_or_else(|e| panic!("{argv:?}: {e}"))
}

/// `tenants.allowedDomains` and `tenants.allowBaseUrl` become ALLOWED_TENANT_DOMAINS and
/// ALLOW_TENANT_BASE_URL, and the operator reads them as meant: the default `*.auth0.com` and
/// off, a list of globs, and an empty list that refuses every tenant object.
#[test]
fn tenant_values_reach_the_operator() {
    let Some(t) = tools_or_skip("tenant_values_reach_the_operator") else {
        return;
    };
    let cases: [(&[&str], &str, &[&str], bool); 4] = [
        (&[], "*.auth0.com", &["*.auth0.com"], false),
        (&[DOMAIN_SET], "*.auth0.com", &["*.auth0.com"], false),
        (
            &[
                "tenants.allowedDomains={*.eu.auth0.com,login.example.com}",
                "tenants.allowBaseUrl=true",
            ],
            "*.eu.auth0.com,login.example.com",
            &["*.eu.auth0.com", "login.example.com"],
            true,
        ),
        (&["tenants.allowedDomains=json:[]"], "", &[], false),
    ];
    for (sets, env_domains, domains, base_url) in cases {
        let d = docs(&render(&t, "auth0-operator", "auth0-system", sets));
        assert_eq!(
            env_literal(&d, "ALLOWED_TENANT_DOMAINS").as_deref(),
            Some(env_domains),
            "{sets:?}"
        );
        assert_eq!(
            env_literal(&d, "ALLOW_TENANT_BASE_URL").as_deref(),
            Some(if base_url { "true" } else { "false" }),
            "{sets:?}"
        );
        let config = operator_settings(&d);
        assert_eq!(config.tenant_policy.allowed_domains, domains, "{sets:?}");
        assert_eq!(config.tenant_policy.allow_base_url, base_url, "{sets:?}");
    }
}

/// `kubeVersion` in Chart.yaml, e.g. `>=1.20.0-0`, as the floor `1.20`.
fn kube_version_floor() -> String {
    let chart: Value =
        serde_yaml::from_str(&repo_file("charts/auth0-operator/Chart.yaml")).unwrap();
    let v = chart["kubeVersion"].as_str().expect("kubeVersion");
    let v = v.strip_prefix(">=").expect("kubeVersion is a floor");
    let mut parts = v.split(['.', '-']);
    format!("{}.{}", parts.next().unwrap(), parts.next().unwrap())
}

/// The chart's floor is Kubernetes 1.20, the dev loop's kube-apiserver (every API the templates
/// use is served there; `helm_installs_on_the_dev_loop_apiserver` proves it on the real one), and
/// the chart README says so.
#[test]
fn kube_version_floor_is_the_dev_clusters() {
    let Some(t) = tools_or_skip("kube_version_floor_is_the_dev_clusters") else {
        return;
    };
    assert_eq!(kube_version_floor(), "1.20");
    for (version, ok) in [("1.20.0", true), ("1.20.2", true), ("1.19.16", false)] {
        let mut cmd = Command::new(&t.helm);
        cmd.args(["template", "auth0-operator"])
            .arg(chart_dir())
            .args(["--kube-version", version]);
        let r = run(&mut cmd);
        assert_eq!(r.is_ok(), ok, "Kubernetes {version}: {r:?}");
        let mut cmd = Command::new(&t.helm);
        cmd.args(["lint", "--strict", "--kube-version", version])
            .arg(chart_dir());
        if ok {
            run(&mut cmd).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let readme = repo_file("charts/auth0-operator/README.md");
    assert!(
        readme.contains("Kubernetes 1.20 or later"),
        "the chart README names the floor"
    );
}

#[test]
fn templates_use_no_nondeterministic_functions() {
    let dir = chart_dir().join("templates");
    let banned = [
        "lookup",
        "randAlpha",
        "randAlphaNum",
        "randNumeric",
        "randAscii",
        "randBytes",
        "uuidv4",
        "genCA",
        "genPrivateKey",
        "genSelfSignedCert",
        "genSignedCert",
        "now",
        "date",
        "dateInZone",
        "unixEpoch",
    ];
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        // Only template actions, not comments or plain YAML.
        for action in text
            .split("{{")
            .skip(1)
            .filter_map(|s| s.split("}}").next())
        {
            if action
                .trim_start_matches('-')
                .trim_start()
                .starts_with("/*")
            {
                continue;
            }
            for word in action.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                assert!(
                    !banned.contains(&word),
                    "{} uses `{word}`, which renders differently per run or cluster",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn deployment_is_hardened_and_probed() {
    let Some(t) = tools_or_skip("deployment_is_hardened_and_probed") else {
        return;
    };
    for (label, sets) in value_sets() {
        let d = docs(&render(&t, "auth0-operator", "auth0-system", &sets));
        let dep = one(&d, "Deployment");
        let pod = &dep["spec"]["template"]["spec"];
        let psc = &pod["securityContext"];
        assert_eq!(psc["runAsNonRoot"], Value::Bool(true), "{label}");
        assert_eq!(psc["runAsUser"].as_u64(), Some(65532), "{label}");
        assert_eq!(psc["seccompProfile"]["type"], "RuntimeDefault", "{label}");
        assert_eq!(pod["serviceAccountName"], "auth0-operator", "{label}");

        let c = container(&d);
        let sc = &c["securityContext"];
        assert_eq!(sc["runAsNonRoot"], Value::Bool(true), "{label}");
        assert_eq!(sc["runAsUser"].as_u64(), Some(65532), "{label}");
        assert_eq!(sc["readOnlyRootFilesystem"], Value::Bool(true), "{label}");
        assert_eq!(
            sc["allowPrivilegeEscalation"],
            Value::Bool(false),
            "{label}"
        );
        assert_eq!(strs(&sc["capabilities"]["drop"]), ["ALL"], "{label}");
        assert!(sc["capabilities"]["add"].is_null(), "{label}");
        assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault", "{label}");

        assert_eq!(c["resources"]["requests"]["cpu"], "50m", "{label}");
        assert_eq!(c["resources"]["requests"]["memory"], "64Mi", "{label}");
        assert_eq!(c["resources"]["limits"]["memory"], "128Mi", "{label}");
        // No public image is published: the default is a bare local name (see README).
        assert_eq!(c["image"], "auth0-operator:0.1.0", "{label}");

        let port = &c["ports"][0];
        assert_eq!(port["name"], "http");
        assert_eq!(port["containerPort"].as_u64(), Some(8080));
        assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
        assert_eq!(c["livenessProbe"]["httpGet"]["port"], "http");
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
        assert_eq!(c["readinessProbe"]["httpGet"]["port"], "http");
        assert_eq!(
            env_literal(&d, "HTTP_ADDR").as_deref(),
            Some("0.0.0.0:8080")
        );
        assert_eq!(
            env_literal(&d, "AUTH0_DOMAIN").as_deref(),
            Some("my-tenant.eu.auth0.com")
        );
        let env = env_of(&d);
        assert_eq!(
            env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"],
            "metadata.name"
        );
        assert_eq!(
            env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"],
            "metadata.namespace"
        );

        // The client secret comes from a read-only Secret volume, never from an env var.
        assert!(!env.contains_key("AUTH0_CLIENT_SECRET"), "{label}");
        let file = env_literal(&d, "AUTH0_CLIENT_SECRET_FILE").unwrap();
        let mount = c["volumeMounts"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|m| file.starts_with(m["mountPath"].as_str().unwrap()))
            .expect("the secret file is on a mount");
        assert_eq!(mount["readOnly"], Value::Bool(true));
        let vol = pod["volumes"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|v| v["name"] == mount["name"])
            .unwrap();
        let (secret_name, secret_key) = if label == "existing-secret" {
            ("op-creds", "secret")
        } else {
            ("auth0-operator-credentials", "AUTH0_CLIENT_SECRET")
        };
        assert_eq!(vol["secret"]["secretName"], secret_name, "{label}");
        assert_eq!(vol["secret"]["items"][0]["key"], secret_key, "{label}");
        assert!(file.ends_with(vol["secret"]["items"][0]["path"].as_str().unwrap()));
        let id_ref = &env["AUTH0_CLIENT_ID"]["valueFrom"]["secretKeyRef"];
        assert_eq!(id_ref["name"], secret_name, "{label}");
        let id_key = if label == "existing-secret" {
            "id"
        } else {
            "AUTH0_CLIENT_ID"
        };
        assert_eq!(id_ref["key"], id_key, "{label}");

        // Secret object only with inline credentials.
        let secrets = of_kind(&d, "Secret");
        if label == "inline-credentials" {
            assert_eq!(secrets.len(), 1);
            assert_eq!(name(secrets[0]), "auth0-operator-credentials");
            assert!(
                dep["spec"]["template"]["metadata"]["annotations"]["checksum/credentials"]
                    .is_string()
            );
            assert_eq!(
                env_literal(&d, "AUTH0_BASE_URL").as_deref(),
                Some("https://proxy.example.com")
            );
            assert_eq!(env_literal(&d, "AUTH0_RATE_LIMIT").as_deref(), Some("10:2"));
        } else {
            assert!(
                secrets.is_empty(),
                "{label}: no chart-owned Secret expected"
            );
        }

        // Metrics Service targets the http port.
        let svc = one(&d, "Service");
        assert_eq!(svc["spec"]["ports"][0]["targetPort"], "http");
        assert_eq!(svc["spec"]["ports"][0]["name"], "http-metrics");
    }
}

#[test]
fn no_secret_value_in_configmaps_or_env_literals() {
    let Some(t) = tools_or_skip("no_secret_value_in_configmaps_or_env_literals") else {
        return;
    };
    let sets = value_sets()
        .into_iter()
        .find(|(l, _)| *l == "inline-credentials")
        .unwrap()
        .1;
    let out = render(&t, "auth0-operator", "auth0-system", &sets);
    // Not even in plain text anywhere: the Secret holds it base64-encoded.
    assert!(
        !out.contains(INLINE_SECRET),
        "client secret in plain text:\n{out}"
    );
    let d = docs(&out);
    for cm in of_kind(&d, "ConfigMap") {
        let text = serde_yaml::to_string(cm).unwrap();
        assert!(!text.contains(INLINE_SECRET) && !text.contains(INLINE_ID));
    }
    for (k, e) in env_of(&d) {
        let v = e["value"].as_str().unwrap_or_default();
        assert!(
            !v.contains(INLINE_SECRET) && !v.contains(INLINE_ID),
            "env {k} holds a credential literal"
        );
    }
    let secret = one(&d, "Secret");
    let decoded = |key: &str| {
        use std::io::Read as _;
        let b64 = secret["data"][key].as_str().unwrap();
        let bytes = base64_decode(b64);
        let mut s = String::new();
        bytes.as_slice().read_to_string(&mut s).unwrap();
        s
    };
    assert_eq!(decoded("AUTH0_CLIENT_ID"), INLINE_ID);
    assert_eq!(decoded("AUTH0_CLIENT_SECRET"), INLINE_SECRET);
}

/// Standard base64 (the crate has no base64 dependency of its own).
fn base64_decode(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = A.iter().position(|a| *a == c).expect("base64") as u32;
        buf = (buf << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    out
}

/// Verbs allowed per resource: the operator's needs, nothing more. The custom resources (the
/// table of kinds' and the tenants') are watched and patched (the cleanup finalizer goes in with
/// a JSON patch: no update), their status is patched (server-side apply); only the finalizers of
/// a kind that owns the credentials Secrets (`auth0clients/finalizers`) need update (the Secrets'
/// blocking owner reference); nothing is owned by an API, a grant or a tenant. Namespaces are
/// only read one at a time (a ClusterAuth0Tenant's `allowedNamespaces.selector`).
fn allowed_verbs(group: &str, resource: &str) -> Option<&'static [&'static str]> {
    use auth0_operator::controller::kinds::MANAGED;
    let managed = |suffix: &str| {
        MANAGED
            .iter()
            .any(|k| format!("{}{suffix}", k.plural()) == resource)
    };
    if group == "auth0.operator.dev" {
        return if managed("") || matches!(resource, "auth0tenants" | "clusterauth0tenants") {
            Some(&["get", "list", "watch", "patch"])
        } else if managed("/status")
            || matches!(
                resource,
                "auth0tenants/status" | "clusterauth0tenants/status"
            )
        {
            Some(&["patch"])
        } else if MANAGED
            .iter()
            .any(|k| k.owns_secrets && format!("{}/finalizers", k.plural()) == resource)
        {
            Some(&["update"])
        } else {
            None
        };
    }
    Some(match (group, resource) {
        ("", "secrets") => &["get", "list", "watch", "create", "patch", "delete"],
        ("", "namespaces") => &["get", "list", "watch"],
        ("events.k8s.io", "events") => &["create", "patch"],
        ("coordination.k8s.io", "leases") => &["get", "create", "patch"],
        _ => return None,
    })
}

fn check_rules(label: &str, role: &Value) {
    let rules = role["rules"].as_sequence().expect("rules");
    assert!(!rules.is_empty());
    for r in rules {
        let groups = strs(&r["apiGroups"]);
        let resources = strs(&r["resources"]);
        let verbs = strs(&r["verbs"]);
        for v in groups
            .iter()
            .chain(&resources)
            .chain(&verbs)
            .chain(&strs(&r["resourceNames"]))
        {
            assert!(
                !v.contains('*'),
                "{label}: wildcard in {}: {r:?}",
                name(role)
            );
        }
        assert!(
            r["nonResourceURLs"].is_null(),
            "{label}: nonResourceURLs in {r:?}"
        );
        for g in &groups {
            for res in &resources {
                let allowed = allowed_verbs(g, res).unwrap_or_else(|| {
                    panic!("{label}: unexpected resource {g}/{res} in {}", name(role))
                });
                for v in &verbs {
                    assert!(
                        allowed.contains(&v.as_str()),
                        "{label}: verb {v} on {g}/{res} is not needed"
                    );
                }
            }
        }
    }
}

/// Resources the operator needs in each watched namespace (or cluster-wide): each managed kind
/// of the table and its status (and its finalizers when it owns the credentials Secrets), the
/// Auth0Tenants and their status, Secrets and events.
fn scoped_resources() -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for k in auth0_operator::controller::kinds::MANAGED {
        all.insert(k.plural());
        all.insert(format!("{}/status", k.plural()));
        if k.owns_secrets {
            all.insert(format!("{}/finalizers", k.plural()));
        }
    }
    all.extend(set_of(&[
        "auth0tenants",
        "auth0tenants/status",
        "secrets",
        "events",
    ]));
    all
}
/// Resources the operator needs cluster-wide in both modes: the cluster-scoped
/// ClusterAuth0Tenants, and the namespaces whose labels their `allowedNamespaces.selector` reads.
const CLUSTER_TENANT_RESOURCES: [&str; 3] = [
    "clusterauth0tenants",
    "clusterauth0tenants/status",
    "namespaces",
];

/// Every resource a (Cluster)Role's rules name.
fn role_resources(role: &Value) -> BTreeSet<String> {
    role["rules"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|r| strs(&r["resources"]))
        .collect()
}

/// The one rule of a (Cluster)Role that names `resource`.
fn rule_for<'a>(role: &'a Value, resource: &str) -> &'a Value {
    let rules: Vec<&Value> = role["rules"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|r| strs(&r["resources"]).iter().any(|x| x == resource))
        .collect();
    assert_eq!(
        rules.len(),
        1,
        "{}: rules for {resource}: {rules:?}",
        name(role)
    );
    rules[0]
}

fn set_of(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn rbac_is_least_privilege() {
    let Some(t) = tools_or_skip("rbac_is_least_privilege") else {
        return;
    };
    // Every rule is commented (the rules on the kinds are generated into _kinds.tpl).
    for file in ["templates/rbac.yaml", "templates/_kinds.tpl"] {
        let rbac_text = std::fs::read_to_string(chart_dir().join(file)).unwrap();
        let lines: Vec<&str> = rbac_text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if l.trim_start().starts_with("- apiGroups:") {
                assert!(
                    lines[i - 1].trim_start().starts_with('#'),
                    "{file} line {}: rule without a comment",
                    i + 1
                );
            }
        }
    }
    for (label, sets) in value_sets() {
        let d = docs(&render(&t, "auth0-operator", "auth0-system", &sets));
        for role in of_kind(&d, "ClusterRole")
            .into_iter()
            .chain(of_kind(&d, "Role"))
        {
            check_rules(label, role);
        }
        // Every binding names the chart's ServiceAccount only.
        for b in of_kind(&d, "ClusterRoleBinding")
            .into_iter()
            .chain(of_kind(&d, "RoleBinding"))
        {
            let subjects = b["subjects"].as_sequence().unwrap();
            assert_eq!(subjects.len(), 1);
            assert_eq!(subjects[0]["kind"], "ServiceAccount");
            assert_eq!(subjects[0]["name"], "auth0-operator");
            assert_eq!(subjects[0]["namespace"], "auth0-system");
        }
        let leases = |d: &[Value]| {
            of_kind(d, "Role")
                .into_iter()
                .chain(of_kind(d, "ClusterRole"))
                .flat_map(|r| r["rules"].as_sequence().unwrap().clone())
                .any(|r| strs(&r["resources"]).iter().any(|s| s == "leases"))
        };
        match label {
            "watch-namespaces" => {
                // Cluster-wide only what the cluster-scoped ClusterAuth0Tenants need: themselves,
                // their status, and get of the watched namespaces (by name).
                let cr = one(&d, "ClusterRole");
                assert_eq!(name(cr), "auth0-operator-cluster-tenants");
                assert_eq!(role_resources(cr), set_of(&CLUSTER_TENANT_RESOURCES));
                let namespaces = rule_for(cr, "namespaces");
                assert_eq!(strs(&namespaces["verbs"]), ["get", "list", "watch"]);
                assert_eq!(strs(&namespaces["resourceNames"]), ["a", "b"]);
                assert_eq!(
                    one(&d, "ClusterRoleBinding")["roleRef"]["name"],
                    "auth0-operator-cluster-tenants"
                );
                let roles: BTreeSet<(&str, &str)> = of_kind(&d, "Role")
                    .into_iter()
                    .map(|r| (ns(r), name(r)))
                    .collect();
                assert_eq!(
                    roles,
                    BTreeSet::from([
                        ("a", "auth0-operator"),
                        ("b", "auth0-operator"),
                        // Events about ClusterAuth0Tenants are recorded in kube-system.
                        ("kube-system", "auth0-operator-cluster-tenant-events"),
                    ])
                );
                for r in of_kind(&d, "Role") {
                    let expected = if ns(r) == "kube-system" {
                        set_of(&["events"])
                    } else {
                        scoped_resources()
                    };
                    assert_eq!(role_resources(r), expected, "Role {}/{}", ns(r), name(r));
                }
                let bindings: BTreeSet<&str> =
                    of_kind(&d, "RoleBinding").into_iter().map(ns).collect();
                assert_eq!(bindings, BTreeSet::from(["a", "b", "kube-system"]));
                assert_eq!(env_literal(&d, "WATCH_NAMESPACES").as_deref(), Some("a,b"));
            }
            "replicas-2" => {
                assert_eq!(env_literal(&d, "LEADER_ELECT").as_deref(), Some("true"));
                assert_eq!(
                    env_literal(&d, "LEASE_NAMESPACE").as_deref(),
                    Some("auth0-system")
                );
                assert_eq!(
                    env_literal(&d, "LEASE_NAME").as_deref(),
                    Some("auth0-operator")
                );
                let role = of_kind(&d, "Role");
                assert_eq!(role.len(), 1);
                assert_eq!(ns(role[0]), "auth0-system");
                assert!(leases(&d));
                let pdb = one(&d, "PodDisruptionBudget");
                assert_eq!(pdb["spec"]["maxUnavailable"].as_u64(), Some(1));
                let dep = one(&d, "Deployment");
                assert_eq!(dep["spec"]["replicas"].as_u64(), Some(2));
                assert_eq!(
                    dep["spec"]["template"]["spec"]["topologySpreadConstraints"][0]["topologyKey"],
                    "kubernetes.io/hostname"
                );
                assert_eq!(one(&d, "ClusterRole")["metadata"]["name"], "auth0-operator");
            }
            _ => {
                let cr = one(&d, "ClusterRole");
                assert_eq!(cr["metadata"]["name"], "auth0-operator");
                let mut all = scoped_resources();
                all.extend(set_of(&CLUSTER_TENANT_RESOURCES));
                assert_eq!(role_resources(cr), all, "{label}");
                // Any namespace's labels may be read: resources live everywhere.
                assert!(rule_for(cr, "namespaces")["resourceNames"].is_null());
                assert_eq!(
                    one(&d, "ClusterRoleBinding")["roleRef"]["name"],
                    "auth0-operator"
                );
                assert!(of_kind(&d, "Role").is_empty());
                assert!(!leases(&d));
                assert_eq!(env_literal(&d, "LEADER_ELECT").as_deref(), Some("false"));
                assert_eq!(env_literal(&d, "WATCH_NAMESPACES").as_deref(), Some(""));
                assert!(of_kind(&d, "PodDisruptionBudget").is_empty());
            }
        }
        let monitors = of_kind(&d, "ServiceMonitor");
        if label == "service-monitor" {
            assert_eq!(monitors.len(), 1);
            let m = monitors[0];
            assert_eq!(m["metadata"]["labels"]["release"], "prom");
            assert_eq!(m["spec"]["endpoints"][0]["port"], "http-metrics");
            assert_eq!(m["spec"]["endpoints"][0]["path"], "/metrics");
            assert_eq!(
                m["spec"]["selector"]["matchLabels"],
                one(&d, "Service")["spec"]["selector"]
            );
        } else {
            assert!(monitors.is_empty());
        }
    }
    // Watching kube-system anyway: its Role already allows events there, no second Role.
    let d = docs(&render(
        &t,
        "auth0-operator",
        "auth0-system",
        &[DOMAIN_SET, "watchNamespaces={kube-system,b}"],
    ));
    let roles: BTreeSet<(&str, &str)> = of_kind(&d, "Role")
        .into_iter()
        .map(|r| (ns(r), name(r)))
        .collect();
    assert_eq!(
        roles,
        BTreeSet::from([("b", "auth0-operator"), ("kube-system", "auth0-operator")])
    );
    assert_eq!(
        strs(&rule_for(one(&d, "ClusterRole"), "namespaces")["resourceNames"]),
        ["kube-system", "b"]
    );
}

// ------------------------------------------------------------------------------------- CRDs

#[test]
fn chart_crds_are_the_generated_crds() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
    let chart = chart_dir().join("crds");
    let list = |d: &Path| -> BTreeSet<String> {
        std::fs::read_dir(d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(
        list(&chart),
        list(&repo),
        "charts/auth0-operator/crds/ must hold exactly the files of crds/"
    );
    for f in list(&repo) {
        let a = std::fs::read(repo.join(&f)).unwrap();
        let b = std::fs::read(chart.join(&f)).unwrap();
        assert!(
            a == b,
            "charts/auth0-operator/crds/{f} differs from crds/{f}: run `cargo run -- generate`"
        );
    }
    // And crds/ matches the Rust types (tests/crds.rs checks this too; cheap to repeat here).
    for (file, yaml) in auth0_operator::controller::kinds::crd_files() {
        let on_disk = std::fs::read_to_string(chart.join(&file)).unwrap();
        assert_eq!(on_disk, yaml, "charts/auth0-operator/crds/{file} is stale");
    }
}

// ------------------------------------------------------------------- RBAC on a real apiserver

const RELEASE: &str = "auth0-operator";
const RELEASE_NS: &str = "auth0-system";

/// Server-side applies every rendered object as the admin.
async fn apply_all(kube: &kube::Client, yaml: &str) -> Vec<(String, String)> {
    let mut applied = Vec::new();
    for doc in docs(yaml) {
        let obj: DynamicObject = serde_yaml::from_value(doc.clone()).unwrap();
        let tm = obj.types.clone().expect("apiVersion and kind");
        let gvk = GroupVersionKind::try_from(&tm).unwrap();
        let (ar, caps) = kube::discovery::pinned_kind(kube, &gvk)
            .await
            .unwrap_or_else(|e| panic!("{} is not served: {e}", tm.kind));
        let api: Api<DynamicObject> = match caps.scope {
            Scope::Namespaced => Api::namespaced_with(
                kube.clone(),
                obj.metadata
                    .namespace
                    .as_deref()
                    .expect("namespaced object has a namespace"),
                &ar,
            ),
            Scope::Cluster => Api::all_with(kube.clone(), &ar),
        };
        api.patch(
            &obj.name_any(),
            &PatchParams::apply("chart-test").force(),
            &Patch::Apply(&obj),
        )
        .await
        .unwrap_or_else(|e| panic!("applying {} {}: {e}", tm.kind, obj.name_any()));
        applied.push((tm.kind, obj.name_any()));
    }
    applied
}

/// A client authenticating as the chart's ServiceAccount with a token from the TokenRequest API.
async fn service_account_client(w: &World) -> kube::Client {
    let sas: Api<ServiceAccount> = Api::namespaced(w.kube.clone(), RELEASE_NS);
    let tr = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec![],
            expiration_seconds: Some(3600),
            ..Default::default()
        },
        ..Default::default()
    };
    let tr = sas
        .create_token_request(RELEASE, &PostParams::default(), &tr)
        .await
        .expect("TokenRequest for the chart's ServiceAccount");
    let token = tr.status.expect("token").token;
    let mut config = w.env.config();
    config.auth_info = serde_json::from_value(json!({ "token": token })).unwrap();
    let client = kube::Client::try_from(config).unwrap();
    // Prove who we are: a self-check of a permission the chart does not grant fails as that user.
    let err = Api::<ConfigMap>::namespaced(client.clone(), RELEASE_NS)
        .list(&ListParams::default())
        .await
        .expect_err("the ServiceAccount cannot list ConfigMaps");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("system:serviceaccount:{RELEASE_NS}:{RELEASE}")),
        "requests are made as the ServiceAccount: {msg}"
    );
    client
}

fn is_forbidden<T: std::fmt::Debug>(r: Result<T, kube::Error>) -> bool {
    matches!(r, Err(kube::Error::Api(ref s)) if s.code == 403)
}

/// Client + grant to Ready with the Secret written, an API (`Auth0ResourceServer`) and a grant
/// by `resourceServerRef` to Ready, a secretName change (old Secret deleted), events published,
/// then deletion (finalizers released) — everything the operator does, as the admin creates the
/// resources and the operator runs with the chart's identity.
async fn scenario(w: &World, ns: &str, aud: &str) {
    let clients: Api<Auth0Client> = Api::namespaced(w.kube.clone(), ns);
    let grants: Api<Auth0ClientGrant> = Api::namespaced(w.kube.clone(), ns);
    let apis: Api<Auth0ResourceServer> = Api::namespaced(w.kube.clone(), ns);
    let secrets: Api<Secret> = Api::namespaced(w.kube.clone(), ns);
    let ledger = format!("https://ledger.example.com/{ns}");
    create_client_and_grant(
        &w.kube,
        ns,
        (
            "billing",
            json!({"name": "Billing", "appType": "non_interactive"}),
        ),
        (
            "billing-api",
            json!({"clientRef": {"name": "billing"}, "audience": aud, "scopes": ["read:invoices"]}),
        ),
    )
    .await;
    let c = client_ready(&clients, "billing", "True", "Synced", T).await;
    let id = c.status.unwrap().client_id.unwrap();
    grant_ready(&grants, "billing-api", "True", "Synced", T).await;
    let s = secrets
        .get("billing-auth0")
        .await
        .expect("credentials Secret written");
    assert_eq!(
        secret_value(&s, "AUTH0_CLIENT_ID").as_deref(),
        Some(id.as_str())
    );
    assert!(
        w.sim
            .grants()
            .iter()
            .any(|g| g["client_id"] == id.as_str() && g["audience"] == aud)
    );

    // An API and a grant naming it (get/watch/patch and status of auth0resourceservers).
    let api: Auth0ResourceServer = serde_json::from_value(json!({
        "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0ResourceServer",
        "metadata": {"name": "ledger"},
        "spec": {"identifier": ledger, "scopes": [{"value": "read:ledger"}]}
    }))
    .unwrap();
    apis.create(&PostParams::default(), &api).await.unwrap();
    grants
        .create(
            &PostParams::default(),
            &grant_obj(
                "billing-ledger",
                json!({"clientRef": {"name": "billing"}, "resourceServerRef": {"name": "ledger"}, "scopes": ["read:ledger"]}),
            ),
        )
        .await
        .unwrap();
    wait_ready(&apis, "ledger", "True", "Synced", T).await;
    grant_ready(&grants, "billing-ledger", "True", "Synced", T).await;
    assert!(
        w.sim
            .resource_servers()
            .iter()
            .any(|r| r["identifier"] == ledger.as_str()),
        "API created in Auth0"
    );
    assert!(
        w.sim
            .grants()
            .iter()
            .any(|g| g["client_id"] == id.as_str() && g["audience"] == ledger.as_str())
    );

    // spec.secretName changes: new Secret written, the old one deleted.
    clients
        .patch(
            "billing",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"secretName": "billing-creds"}})),
        )
        .await
        .unwrap();
    eventually("Secret moved to billing-creds", T, || async {
        let new = secrets.get_opt("billing-creds").await.unwrap();
        let old = secrets.get_opt("billing-auth0").await.unwrap();
        (new.is_some() && old.is_none()).then_some(())
    })
    .await;

    // Events were published (events.k8s.io/v1).
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(w.kube.clone(), ns);
    eventually("events from auth0-operator", T, || async {
        let l = events.list(&ListParams::default()).await.unwrap();
        l.items
            .iter()
            .any(|e| e.reporting_controller.as_deref() == Some("auth0-operator"))
            .then_some(())
    })
    .await;

    // Deletion: Auth0 objects removed, finalizers released.
    for g in ["billing-api", "billing-ledger"] {
        grants.delete(g, &DeleteParams::default()).await.unwrap();
    }
    apis.delete("ledger", &DeleteParams::default())
        .await
        .unwrap();
    clients
        .delete("billing", &DeleteParams::default())
        .await
        .unwrap();
    eventually("resources gone", T, || async {
        let g = grants.get_opt("billing-api").await.unwrap();
        let gl = grants.get_opt("billing-ledger").await.unwrap();
        let a = apis.get_opt("ledger").await.unwrap();
        let c = clients.get_opt("billing").await.unwrap();
        (g.is_none() && gl.is_none() && a.is_none() && c.is_none()).then_some(())
    })
    .await;
    assert!(w.sim.client(&id).is_none(), "Auth0 client deleted");
    assert!(
        !w.sim
            .resource_servers()
            .iter()
            .any(|r| r["identifier"] == ledger.as_str()),
        "Auth0 API deleted"
    );
}

/// An `Auth0Tenant` of `domain` with `credentialsSecretRef` (and the simulator's URL, if any).
fn tenant_obj(name: &str, domain: &str, secret_ref: serde_json::Value) -> Auth0Tenant {
    serde_json::from_value(json!({
        "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0Tenant",
        "metadata": {"name": name},
        "spec": {"domain": domain, "credentialsSecretRef": secret_ref}
    }))
    .unwrap()
}

/// A `ClusterAuth0Tenant` of `domain` with `credentialsSecretRef`.
fn cluster_tenant_obj(
    name: &str,
    domain: &str,
    secret_ref: serde_json::Value,
) -> ClusterAuth0Tenant {
    serde_json::from_value(json!({
        "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "ClusterAuth0Tenant",
        "metadata": {"name": name},
        "spec": {"domain": domain, "credentialsSecretRef": secret_ref}
    }))
    .unwrap()
}

/// Domain, management client id and secret of the tenant the tenant objects name (a simulator
/// of its own, reached through `spec.baseUrl`).
const TENANT_DOMAIN: &str = "second.auth0.test";
const TENANT_MGMT_ID: &str = "second-m2m";
const TENANT_MGMT_SECRET: &str = "second-m2m-secret-value";

/// The operator's settings for the tenant scenario: tenant objects may name `*.auth0.test`
/// domains and a base URL (the simulator), what `tenants.allowedDomains` and
/// `tenants.allowBaseUrl` configure in the chart.
fn allow_test_tenants(mut config: OperatorConfig) -> OperatorConfig {
    config.tenant_policy.allowed_domains = vec!["*.auth0.test".into()];
    config.tenant_policy.allow_base_url = true;
    config
}

/// The management credentials Secret of the tenant, created by the admin in `ns`.
async fn tenant_secret(kube: &kube::Client, ns: &str) {
    let s: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "second-mgmt"},
        "stringData": {"AUTH0_CLIENT_ID": TENANT_MGMT_ID, "AUTH0_CLIENT_SECRET": TENANT_MGMT_SECRET}
    }))
    .unwrap();
    Api::<Secret>::namespaced(kube.clone(), ns)
        .create(&PostParams::default(), &s)
        .await
        .unwrap();
}

/// Everything the operator does with tenants, as the admin creates the objects and the operator
/// runs with the chart's identity (`sa`): an `Auth0Tenant` in `ns` and a `ClusterAuth0Tenant`
/// whose Secret is in `secret_ns` and that admits `ns` by label (the operator reads the
/// namespace), both verified (Secret read, status written, finalizer added); an application
/// through each; the events about the cluster-scoped tenant (recorded in kube-system); deletion
/// of both tenants held while in use (InUse) and finished once their applications are gone
/// (finalizers released, the applications deleted in Auth0 with the tenant's credentials).
/// With `unwatched`, a ClusterAuth0Tenant whose Secret is in that namespace is refused by RBAC
/// and reported as SecretNotFound (the documented limit of watchNamespaces).
async fn tenant_scenario(
    w: &World,
    sa: &kube::Client,
    ns: &str,
    secret_ns: &str,
    unwatched: Option<&str>,
) {
    let mut cfg = SimConfig::new(TENANT_DOMAIN, TENANT_MGMT_ID, TENANT_MGMT_SECRET);
    cfg.audiences = vec!["https://billing.example.com/".into()];
    let sim = Simulator::start(cfg).await.expect("simulator starts");
    let base_url = sim.base_url().to_string();
    Api::<Namespace>::all(w.kube.clone())
        .patch(
            ns,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"auth0.operator.dev/tenant": "second"}}})),
        )
        .await
        .unwrap();
    tenant_secret(&w.kube, ns).await;
    if secret_ns != ns {
        tenant_secret(&w.kube, secret_ns).await;
    }
    let tenants: Api<Auth0Tenant> = Api::namespaced(w.kube.clone(), ns);
    let cluster_tenants: Api<ClusterAuth0Tenant> = Api::all(w.kube.clone());
    let mut t = tenant_obj("second", TENANT_DOMAIN, json!({"name": "second-mgmt"}));
    t.spec.base_url = Some(base_url.clone());
    tenants.create(&PostParams::default(), &t).await.unwrap();
    let mut ct = cluster_tenant_obj(
        "shared",
        TENANT_DOMAIN,
        json!({"name": "second-mgmt", "namespace": secret_ns}),
    );
    ct.spec.base_url = Some(base_url.clone());
    ct.spec.allowed_namespaces = Some(
        serde_json::from_value(
            json!({"selector": {"matchLabels": {"auth0.operator.dev/tenant": "second"}}}),
        )
        .unwrap(),
    );
    cluster_tenants
        .create(&PostParams::default(), &ct)
        .await
        .unwrap();
    wait_ready(&tenants, "second", "True", "Verified", T).await;
    wait_ready(&cluster_tenants, "shared", "True", "Verified", T).await;
    for f in [
        tenants.get("second").await.unwrap().finalizers().to_vec(),
        cluster_tenants
            .get("shared")
            .await
            .unwrap()
            .finalizers()
            .to_vec(),
    ] {
        assert_eq!(
            f,
            [auth0_operator::crd::FINALIZER],
            "the operator adds its finalizer"
        );
    }
    if let Some(other) = unwatched {
        tenant_secret(&w.kube, other).await;
        let mut ct = cluster_tenant_obj(
            "elsewhere",
            TENANT_DOMAIN,
            json!({"name": "second-mgmt", "namespace": other}),
        );
        ct.spec.base_url = Some(base_url.clone());
        cluster_tenants
            .create(&PostParams::default(), &ct)
            .await
            .unwrap();
        let t = wait_ready(&cluster_tenants, "elsewhere", "False", "SecretNotFound", T).await;
        let (_, _, msg) = ready_of(&t.status.unwrap().conditions).unwrap();
        assert!(
            msg.contains(&format!("{other}/second-mgmt")) && msg.contains("forbidden"),
            "a Secret outside the watched namespaces is refused by RBAC: {msg}"
        );
    }

    // One application through each tenant.
    let clients: Api<Auth0Client> = Api::namespaced(w.kube.clone(), ns);
    for (name, tenant_ref) in [
        ("via-tenant", json!({"name": "second"})),
        (
            "via-cluster-tenant",
            json!({"kind": "ClusterAuth0Tenant", "name": "shared"}),
        ),
    ] {
        clients
            .create(
                &PostParams::default(),
                &client_obj(
                    name,
                    json!({"name": name, "appType": "non_interactive", "tenantRef": tenant_ref}),
                ),
            )
            .await
            .unwrap();
    }
    for name in ["via-tenant", "via-cluster-tenant"] {
        client_ready(&clients, name, "True", "Synced", T).await;
    }
    assert_eq!(
        sim.clients().len(),
        2,
        "both applications are in the tenant's Auth0"
    );

    // The events about the cluster-scoped tenant are recorded in kube-system (the chart grants
    // that even with watchNamespaces).
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(w.kube.clone(), "kube-system");
    eventually(
        "an event of auth0-operator about ClusterAuth0Tenant shared in kube-system",
        T,
        || async {
            let l = events.list(&ListParams::default()).await.unwrap();
            l.items
                .iter()
                .any(|e| {
                    e.reporting_controller.as_deref() == Some("auth0-operator")
                        && e.regarding.as_ref().and_then(|r| r.kind.as_deref())
                            == Some("ClusterAuth0Tenant")
                        && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("shared")
                })
                .then_some(())
        },
    )
    .await;

    // The chart's identity itself: tenants listed in its scope, their status patched (a no-op
    // merge patch is authorized like any other), a namespace read.
    Api::<Auth0Tenant>::namespaced(sa.clone(), ns)
        .list(&ListParams::default())
        .await
        .expect("list Auth0Tenants in the watched namespace");
    Api::<ClusterAuth0Tenant>::all(sa.clone())
        .list(&ListParams::default())
        .await
        .expect("list ClusterAuth0Tenants");
    Api::<Auth0Tenant>::namespaced(sa.clone(), ns)
        .patch_status("second", &PatchParams::default(), &Patch::Merge(json!({})))
        .await
        .expect("patch Auth0Tenant status");
    Api::<ClusterAuth0Tenant>::all(sa.clone())
        .patch_status("shared", &PatchParams::default(), &Patch::Merge(json!({})))
        .await
        .expect("patch ClusterAuth0Tenant status");
    Api::<Namespace>::all(sa.clone())
        .get(ns)
        .await
        .expect("get the watched namespace");

    // Deleting the tenants while their applications exist: held (InUse), not lost.
    tenants
        .delete("second", &DeleteParams::default())
        .await
        .unwrap();
    cluster_tenants
        .delete("shared", &DeleteParams::default())
        .await
        .unwrap();
    wait_ready(&tenants, "second", "False", "InUse", T).await;
    wait_ready(&cluster_tenants, "shared", "False", "InUse", T).await;
    for name in ["via-tenant", "via-cluster-tenant"] {
        clients
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }
    eventually("applications and tenants gone", T, || async {
        let c = clients.list(&ListParams::default()).await.unwrap().items;
        let t = tenants.get_opt("second").await.unwrap();
        let ct = cluster_tenants.get_opt("shared").await.unwrap();
        (c.iter().all(|c| !c.name_any().starts_with("via-")) && t.is_none() && ct.is_none())
            .then_some(())
    })
    .await;
    assert!(
        sim.clients().is_empty(),
        "the applications were deleted in Auth0 with the tenant's credentials"
    );
    if unwatched.is_some() {
        cluster_tenants
            .delete("elsewhere", &DeleteParams::default())
            .await
            .unwrap();
        eventually("ClusterAuth0Tenant elsewhere gone", T, || async {
            cluster_tenants
                .get_opt("elsewhere")
                .await
                .unwrap()
                .is_none()
                .then_some(())
        })
        .await;
    }
}

async fn assert_refused_outside(sa: &kube::Client, unwatched_ns: Option<&str>) {
    if let Some(other) = unwatched_ns {
        assert!(
            is_forbidden(
                Api::<Auth0Tenant>::namespaced(sa.clone(), other)
                    .list(&ListParams::default())
                    .await
            ),
            "listing Auth0Tenants in unwatched namespace {other} must be refused"
        );
        assert!(
            is_forbidden(
                Api::<Auth0Tenant>::namespaced(sa.clone(), other)
                    .patch_status("x", &PatchParams::default(), &Patch::Merge(json!({})))
                    .await
            ),
            "patching Auth0Tenant status in unwatched namespace {other} must be refused"
        );
        assert!(
            is_forbidden(Api::<Namespace>::all(sa.clone()).get(other).await),
            "reading unwatched namespace {other} must be refused"
        );
        let recorder = auth0_operator::controller::Recorder::new(
            sa.clone(),
            kube::runtime::events::Reporter {
                controller: "auth0-operator".into(),
                instance: Some("auth0-operator-0".into()),
            },
        );
        let regarding = k8s_openapi::api::core::v1::ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("ConfigMap".into()),
            namespace: Some(other.into()),
            name: Some("rbac-probe".into()),
            ..Default::default()
        };
        let event = kube::runtime::events::Event {
            type_: kube::runtime::events::EventType::Normal,
            reason: "Probe".into(),
            note: Some("RBAC probe".into()),
            action: "Probe".into(),
            secondary: None,
        };
        assert!(
            is_forbidden(recorder.publish(&event, &regarding).await),
            "recording events in unwatched namespace {other} must be refused"
        );
        assert!(
            is_forbidden(
                Api::<Secret>::namespaced(sa.clone(), other)
                    .list(&ListParams::default())
                    .await
            ),
            "listing Secrets in unwatched namespace {other} must be refused"
        );
        assert!(
            is_forbidden(
                Api::<Auth0Client>::namespaced(sa.clone(), other)
                    .list(&ListParams::default())
                    .await
            ),
            "listing Auth0Clients in unwatched namespace {other} must be refused"
        );
        assert!(
            is_forbidden(
                Api::<Secret>::all(sa.clone())
                    .list(&ListParams::default())
                    .await
            ),
            "listing Secrets cluster-wide must be refused"
        );
    }
    let cr: ClusterRole = serde_json::from_value(json!({
        "metadata": {"name": "escalate"},
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
    }))
    .unwrap();
    assert!(
        is_forbidden(
            Api::<ClusterRole>::all(sa.clone())
                .create(&PostParams::default(), &cr)
                .await
        ),
        "creating a ClusterRole must be refused"
    );
    assert!(
        is_forbidden(
            Api::<ConfigMap>::namespaced(sa.clone(), RELEASE_NS)
                .list(&ListParams::default())
                .await
        ),
        "ConfigMaps are not granted"
    );
    // Namespaces are never changed. Watching only the watched namespaces, the operator lists
    // (and watches) each of them by name, never all of them.
    if let Some(other) = unwatched_ns {
        assert!(
            is_forbidden(
                Api::<Namespace>::all(sa.clone())
                    .list(&ListParams::default())
                    .await
            ),
            "listing every namespace must be refused"
        );
        assert!(
            is_forbidden(
                Api::<Namespace>::all(sa.clone())
                    .list(&ListParams::default().fields(&format!("metadata.name={other}")))
                    .await
            ),
            "listing unwatched namespace {other} must be refused"
        );
        Api::<Namespace>::all(sa.clone())
            .list(&ListParams::default().fields("metadata.name=team-a"))
            .await
            .expect("a watched namespace is listed (and watched) by name");
    }
    assert!(
        is_forbidden(
            Api::<Namespace>::all(sa.clone())
                .patch(
                    "team-a",
                    &PatchParams::default(),
                    &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}}))
                )
                .await
        ),
        "labelling namespaces must be refused"
    );
    // Tenants are created by people, never by the operator: creating one (a ClusterAuth0Tenant
    // would make the operator read a Secret anywhere it may), replacing or deleting one is refused.
    assert!(
        is_forbidden(
            Api::<ClusterAuth0Tenant>::all(sa.clone())
                .create(
                    &PostParams::default(),
                    &cluster_tenant_obj(
                        "x",
                        "x.auth0.com",
                        json!({"name": "s", "namespace": "team-a"})
                    )
                )
                .await
        ),
        "creating ClusterAuth0Tenants must be refused"
    );
    assert!(
        is_forbidden(
            Api::<ClusterAuth0Tenant>::all(sa.clone())
                .replace(
                    "x",
                    &PostParams::default(),
                    &cluster_tenant_obj(
                        "x",
                        "x.auth0.com",
                        json!({"name": "s", "namespace": "team-a"})
                    )
                )
                .await
        ),
        "replacing ClusterAuth0Tenants must be refused"
    );
    assert!(
        is_forbidden(
            Api::<ClusterAuth0Tenant>::all(sa.clone())
                .delete("x", &DeleteParams::default())
                .await
        ),
        "deleting ClusterAuth0Tenants must be refused"
    );
    assert!(
        is_forbidden(
            Api::<Auth0Tenant>::namespaced(sa.clone(), "team-a")
                .create(
                    &PostParams::default(),
                    &tenant_obj("x", "x.auth0.com", json!({"name": "s"}))
                )
                .await
        ),
        "creating Auth0Tenants must be refused"
    );
    // The custom resources are only patched (finalizers), never created.
    assert!(
        is_forbidden(
            Api::<Auth0Client>::namespaced(sa.clone(), "team-a")
                .create(
                    &PostParams::default(),
                    &client_obj("x", json!({"name": "x"}))
                )
                .await
        ),
        "creating Auth0Clients must be refused"
    );
}

/// watchNamespaces={team-a} + leader election: the operator, running with a token of the chart's
/// ServiceAccount, reconciles in team-a (and holds the Lease); team-b and cluster-wide requests
/// are refused.
#[tokio::test]
async fn chart_rbac_is_sufficient_in_namespaced_mode() {
    let Some(t) = tools_or_skip("chart_rbac_is_sufficient_in_namespaced_mode") else {
        return;
    };
    let aud = "https://billing.example.com/";
    let Some(w) = world("chart_rbac_is_sufficient_in_namespaced_mode", &[]).await else {
        return;
    };
    // The API the scenario's grant by audience names, defining the scope it asks for (the
    // operator checks a grant's scopes against the API's before asking Auth0: UnknownScopes).
    w.sim
        .add_resource_server_with_scopes(aud, &["read:invoices"]);
    for n in [RELEASE_NS, "team-a", "team-b"] {
        namespace(&w.kube, n).await;
    }
    let yaml = render(
        &t,
        RELEASE,
        RELEASE_NS,
        &[
            DOMAIN_SET,
            "watchNamespaces={team-a}",
            "leaderElection.enabled=true",
            "auth0.clientId=operator-m2m",
            "auth0.clientSecret=operator-m2m-secret-value",
        ],
    );
    let applied = apply_all(&w.kube, &yaml).await;
    let kinds: BTreeSet<&str> = applied.iter().map(|(k, _)| k.as_str()).collect();
    assert!(kinds.contains("Deployment") && kinds.contains("Role"));
    // Cluster-wide only the small ClusterRole for ClusterAuth0Tenants.
    let cluster_roles: Vec<&str> = applied
        .iter()
        .filter(|(k, _)| k == "ClusterRole")
        .map(|(_, n)| n.as_str())
        .collect();
    assert_eq!(cluster_roles, ["auth0-operator-cluster-tenants"]);

    let sa = service_account_client(&w).await;
    auth0_operator::ensure_crds_installed(&sa)
        .await
        .expect("CRD check works with the chart's identity (discovery only)");

    let mut config = allow_test_tenants(operator_config(&w.sim, Duration::from_secs(60)));
    config.namespaces = vec!["team-a".into()];
    config.identity = "auth0-operator-test-0".into();
    let le = LeaderElection {
        lease_name: RELEASE.into(),
        lease_namespace: RELEASE_NS.into(),
        lease_duration_secs: 15,
    };
    config.leader_election = Some(le.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let op = tokio::spawn(auth0_operator::leader::run_elected(
        sa.clone(),
        config,
        le,
        Arc::new(auth0_operator::metrics::Metrics::new()),
        Arc::new(auth0_operator::http::Health::default()),
        async move {
            let _ = rx.await;
        },
    ));

    scenario(&w, "team-a", aud).await;
    tenant_scenario(&w, &sa, "team-a", "team-a", Some("team-b")).await;
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(w.kube.clone(), RELEASE_NS);
    let lease = leases.get(RELEASE).await.expect("the Lease exists");
    assert_eq!(
        lease.spec.and_then(|s| s.holder_identity).as_deref(),
        Some("auth0-operator-test-0")
    );

    assert_refused_outside(&sa, Some("team-b")).await;
    // Leases elsewhere are not granted.
    assert!(is_forbidden(
        Api::<k8s_openapi::api::coordination::v1::Lease>::namespaced(sa.clone(), "team-a")
            .list(&ListParams::default())
            .await
    ));

    let _ = tx.send(());
    let r = tokio::time::timeout(Duration::from_secs(20), op)
        .await
        .expect("operator stops");
    r.unwrap().expect("operator ran without error");
    w.env.stop().await;
}

/// Default (cluster-wide) mode: the ClusterRole is enough in any namespace; escalation is refused.
#[tokio::test]
async fn chart_rbac_is_sufficient_in_cluster_mode() {
    let Some(t) = tools_or_skip("chart_rbac_is_sufficient_in_cluster_mode") else {
        return;
    };
    let aud = "https://billing.example.com/";
    let Some(w) = world("chart_rbac_is_sufficient_in_cluster_mode", &[]).await else {
        return;
    };
    // The API the scenario's grant by audience names, defining the scope it asks for (the
    // operator checks a grant's scopes against the API's before asking Auth0: UnknownScopes).
    w.sim
        .add_resource_server_with_scopes(aud, &["read:invoices"]);
    for n in [RELEASE_NS, "team-a", "team-b", "tenant-secrets"] {
        namespace(&w.kube, n).await;
    }
    let yaml = render(
        &t,
        RELEASE,
        RELEASE_NS,
        &[DOMAIN_SET, "auth0.existingSecret.name=op-creds"],
    );
    let applied = apply_all(&w.kube, &yaml).await;
    assert!(applied.iter().any(|(k, _)| k == "ClusterRoleBinding"));

    let sa = service_account_client(&w).await;
    let op = Operator::start(
        &sa,
        allow_test_tenants(operator_config(&w.sim, Duration::from_secs(60))),
    );
    scenario(&w, "team-b", aud).await;
    // A ClusterAuth0Tenant may name a Secret in any namespace: the ClusterRole reads it.
    tenant_scenario(&w, &sa, "team-b", "tenant-secrets", None).await;
    assert_refused_outside(&sa, None).await;
    // Without leader election the chart grants no Lease access.
    assert!(is_forbidden(
        Api::<k8s_openapi::api::coordination::v1::Lease>::namespaced(sa.clone(), RELEASE_NS)
            .get(RELEASE)
            .await
    ));
    op.stop().await;
    w.env.stop().await;
}

// ------------------------------------------------ helm install on the dev loop's kube-apiserver

/// `helm` (from the repository root, as the READMEs show it) against `env`, with Helm's own
/// config, cache and data in the env's temp dir.
fn helm_on(t: &Tools, env: &TestEnv, args: &[&str]) -> Result<String, String> {
    let helm_home = env.dir().join("helm");
    let mut cmd = Command::new(&t.helm);
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("KUBECONFIG", env.kubeconfig_path())
        .env("HELM_CONFIG_HOME", helm_home.join("config"))
        .env("HELM_CACHE_HOME", helm_home.join("cache"))
        .env("HELM_DATA_HOME", helm_home.join("data"))
        .env_remove("HELM_NAMESPACE")
        .env_remove("HELM_KUBECONTEXT");
    run(&mut cmd)
}

/// A documented `helm …` command line as arguments (without `helm`), plus `extra`.
fn documented<'a>(command: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(args.remove(0), "helm");
    args.extend_from_slice(extra);
    args
}

/// Every object of the release's manifest (`helm get manifest`) exists on the API server, at
/// the manifest's apiVersion. Returns (apiVersion, kind, name).
async fn release_objects(
    t: &Tools,
    env: &TestEnv,
    release: &str,
    namespace: &str,
) -> Vec<(String, String, String)> {
    let manifest = helm_on(t, env, &["get", "manifest", release, "-n", namespace])
        .unwrap_or_else(|e| panic!("{e}"));
    let kube = env.client();
    let mut found = Vec::new();
    for doc in docs(&manifest) {
        let obj: DynamicObject = serde_yaml::from_value(doc).unwrap();
        let tm = obj.types.clone().expect("apiVersion and kind");
        let gvk = GroupVersionKind::try_from(&tm).unwrap();
        let (ar, caps) = kube::discovery::pinned_kind(&kube, &gvk)
            .await
            .unwrap_or_else(|e| panic!("{} {} is not served: {e}", tm.api_version, tm.kind));
        let api: Api<DynamicObject> = match caps.scope {
            Scope::Namespaced => Api::namespaced_with(
                kube.clone(),
                obj.metadata.namespace.as_deref().unwrap_or(namespace),
                &ar,
            ),
            Scope::Cluster => Api::all_with(kube.clone(), &ar),
        };
        api.get(&obj.name_any()).await.unwrap_or_else(|e| {
            panic!(
                "{} {} of release {release} is not on the API server: {e}",
                tm.kind,
                obj.name_any()
            )
        });
        found.push((tm.api_version, tm.kind, obj.name_any()));
    }
    found
}

fn has(objs: &[(String, String, String)], api_version: &str, kind: &str, name: &str) -> bool {
    objs.iter()
        .any(|(a, k, n)| a == api_version && k == kind && n == name)
}

/// The chart really installs on the dev loop's kube-apiserver (1.20.2, what `scripts/dev.sh`
/// runs; no kubelet, so pods never start, but every object is created; what depends on the
/// version follows the server's, so newer envtest assets pass too):
///
/// 1. on a fresh API server, the READMEs' command (`--server-side=false`: Helm 4's server-side
///    apply of CRDs carrying `x-kubernetes-validations` is refused before 1.23) installs the CRDs
///    and the chart with no values at all; NOTES say no tenant is configured and that this
///    cluster does not run CEL;
/// 2. NOTES' `helm upgrade --reuse-values --set auth0.domain=…` configures the tenant;
/// 3. in the dev loop's state (CRDs installed by `auth0_operator::install_crds`), the
///    `--skip-crds` command with ci/ha-values.yaml installs with server-side apply, and the
///    PodDisruptionBudget falls back to policy/v1beta1 (policy/v1 is 1.21+).
#[tokio::test]
async fn helm_installs_on_the_dev_loop_apiserver() {
    let Some(t) = tools_or_skip("helm_installs_on_the_dev_loop_apiserver") else {
        return;
    };
    let Some(env) = start_or_skip("helm_installs_on_the_dev_loop_apiserver").await else {
        return;
    };
    let kube = env.client();
    let (release, ns) = ("auth0-operator", "auth0-operator");
    // NOTES and the PodDisruptionBudget's API follow the server's version.
    let server = kube.apiserver_version().await.expect("GET /version");
    let version = KubeVersion::parse(&server.git_version).expect("a Kubernetes version");
    let before = |minor| version < KubeVersion::new(1, minor);

    // 1. Fresh API server, no CRDs, no values.
    let out = helm_on(&t, &env, &documented(DEV_INSTALL, &[])).unwrap_or_else(|e| panic!("{e}"));
    for (needle, shown) in [
        ("NO DEFAULT AUTH0 TENANT IS CONFIGURED", true),
        ("does not run the CRDs' CEL rules", before(25)),
        ("kubectl replace --validate=false -f crds/", before(23)),
    ] {
        assert_eq!(
            out.contains(needle),
            shown,
            "Kubernetes {version}: NOTES and `{needle}`:\n{out}"
        );
    }
    let crds: Api<CustomResourceDefinition> = Api::all(kube.clone());
    for crd in [
        "auth0clients.auth0.operator.dev",
        "auth0clientgrants.auth0.operator.dev",
        "auth0resourceservers.auth0.operator.dev",
        "auth0tenants.auth0.operator.dev",
        "clusterauth0tenants.auth0.operator.dev",
    ] {
        tokio::time::timeout(
            T,
            kube::runtime::wait::await_condition(
                crds.clone(),
                crd,
                kube::runtime::wait::conditions::is_crd_established(),
            ),
        )
        .await
        .unwrap_or_else(|_| panic!("CRD {crd} established"))
        .unwrap();
    }
    let objs = release_objects(&t, &env, release, ns).await;
    for (a, k, n) in [
        ("apps/v1", "Deployment", "auth0-operator"),
        ("v1", "ServiceAccount", "auth0-operator"),
        ("v1", "Service", "auth0-operator-metrics"),
        (
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            "auth0-operator",
        ),
        (
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            "auth0-operator",
        ),
    ] {
        assert!(has(&objs, a, k, n), "{a} {k} {n} not in {objs:?}");
    }
    assert!(
        !objs.iter().any(|(_, k, _)| k == "Secret"),
        "no Secret without a tenant: {objs:?}"
    );
    // The CRDs Helm installed serve the custom resources.
    Api::<Auth0Client>::namespaced(kube.clone(), "default")
        .create(
            &PostParams::default(),
            &client_obj("web", json!({"name": "Web"})),
        )
        .await
        .expect("an Auth0Client can be created");

    // 2. NOTES' advice configures the default tenant.
    helm_on(
        &t,
        &env,
        &[
            "upgrade",
            release,
            "charts/auth0-operator",
            "-n",
            ns,
            "--reuse-values",
            "--set",
            DOMAIN_SET,
            "--set",
            "auth0.existingSecret.name=auth0-operator-credentials",
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dep: Api<k8s_openapi::api::apps::v1::Deployment> = Api::namespaced(kube.clone(), ns);
    let env_vars = dep
        .get(release)
        .await
        .unwrap()
        .spec
        .unwrap()
        .template
        .spec
        .unwrap()
        .containers[0]
        .env
        .clone()
        .unwrap_or_default();
    assert!(
        env_vars
            .iter()
            .any(|e| e.name == "AUTH0_DOMAIN"
                && e.value.as_deref() == Some("my-tenant.eu.auth0.com")),
        "{env_vars:?}"
    );

    // 3. The dev loop's state: its CRDs, the chart without them, two replicas.
    helm_on(&t, &env, &["uninstall", release, "-n", ns]).unwrap_or_else(|e| panic!("{e}"));
    auth0_operator::install_crds(&kube)
        .await
        .expect("the dev loop's CRD installer");
    helm_on(
        &t,
        &env,
        &documented(
            DEV_INSTALL_SKIP_CRDS,
            &["-f", "charts/auth0-operator/ci/ha-values.yaml"],
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let objs = release_objects(&t, &env, release, ns).await;
    let pdb_api = if before(21) {
        "policy/v1beta1"
    } else {
        "policy/v1"
    };
    assert!(
        has(&objs, pdb_api, "PodDisruptionBudget", "auth0-operator"),
        "{objs:?}"
    );
    assert!(
        objs.iter()
            .any(|(a, k, _)| a == "rbac.authorization.k8s.io/v1" && k == "Role"),
        "the Lease Role: {objs:?}"
    );
    let d = dep.get(release).await.unwrap();
    assert_eq!(d.spec.unwrap().replicas, Some(2));
    env.stop().await;
}
