//! The Argo CD health checks in `deploy/argocd/*.lua`, run for real.
//!
//! Argo CD evaluates a resource's health with a Lua script (gopher-lua, Lua 5.1 semantics) that
//! sees the live object as the global table `obj` and returns `{status = …, message = …}`. These
//! tests run the scripts the same way in an embedded Lua (mlua, vendored: nothing to install)
//! with only the libraries Argo CD opens for custom scripts (base, package, table; no `string`,
//! no `math`), against the sample objects in `tests/data/argocd/<kind>-<case>.yaml`. Each sample
//! carries its expected result in the annotations `test.auth0.operator.dev/expected-health` and
//! `test.auth0.operator.dev/expected-message`.
//!
//! They also check that the copies of the scripts in `deploy/argocd/argocd-cm-values.yaml` and
//! `docs/argocd.md` are exactly the `.lua` files, the single source of truth.
//!
//! Five kinds in two families, one script per family: the managed resources (`Auth0Client`,
//! `Auth0ClientGrant`, `Auth0ResourceServer`, whose Ready reasons are [`Reason`]) share
//! `health-resource.lua`, the tenants (`Auth0Tenant`, `ClusterAuth0Tenant`, whose Ready reasons
//! are [`TenantReason`]) share `health-tenant.lua`. Argo CD still needs one key per kind, so each
//! kind's key embeds its family's script.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use auth0_operator::{
    controller::tenant::TenantReason,
    crd::{
        Auth0Client, Auth0ClientGrant, Auth0ResourceServer, Auth0Tenant, ClusterAuth0Tenant, Reason,
    },
};
use mlua::{Lua, LuaOptions, LuaSerdeExt, StdLib, Table, serde::SerializeOptions};
use serde_json::{Value, json};

const EXPECTED_HEALTH: &str = "test.auth0.operator.dev/expected-health";
const EXPECTED_MESSAGE: &str = "test.auth0.operator.dev/expected-message";
const KEY_PREFIX: &str = "resource.customizations.health.auth0.operator.dev_";

/// The script of the managed resources ([`RESOURCE_KINDS`]).
const RESOURCE_SCRIPT: &str = "health-resource.lua";
/// The script of the tenants ([`TENANT_KINDS`]).
const TENANT_SCRIPT: &str = "health-tenant.lua";

/// The kinds: (kind, script file, sample file prefix).
const KINDS: [(&str, &str, &str); 5] = [
    ("Auth0Client", RESOURCE_SCRIPT, "auth0client"),
    ("Auth0ClientGrant", RESOURCE_SCRIPT, "auth0clientgrant"),
    (
        "Auth0ResourceServer",
        RESOURCE_SCRIPT,
        "auth0resourceserver",
    ),
    ("Auth0Tenant", TENANT_SCRIPT, "auth0tenant"),
    ("ClusterAuth0Tenant", TENANT_SCRIPT, "clusterauth0tenant"),
];

/// The managed resources (Ready reasons: [`Reason`]).
const RESOURCE_KINDS: [&str; 3] = ["Auth0Client", "Auth0ClientGrant", "Auth0ResourceServer"];
/// The tenants (Ready reasons: [`TenantReason`]).
const TENANT_KINDS: [&str; 2] = ["Auth0Tenant", "ClusterAuth0Tenant"];

/// Cases every kind must have a sample for.
const COMMON_CASES: &[&str] = &[
    "no-status",
    "no-ready-condition",
    "stale-generation",
    "ready",
    "other-reason",
    "empty-message",
    "ready-unknown",
    "deleting",
];

/// Cases every managed resource kind must have a sample for, besides [`COMMON_CASES`].
const RESOURCE_CASES: &[&str] = &[
    "reconciling",
    "rate-limited",
    "auth0-error",
    "invalid-spec",
    "kubernetes-error",
    "tenant-not-found",
    "tenant-not-ready",
    "tenant-not-allowed",
];

/// Cases every tenant kind must have a sample for, besides [`COMMON_CASES`]: one per Ready=False
/// reason, and `in-use` (deletion held while resources use the tenant).
const TENANT_CASES: &[&str] = &[
    "secret-not-found",
    "invalid-credentials",
    "missing-scopes",
    "unreachable",
    "domain-not-allowed",
    "in-use",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn script(file: &str) -> String {
    read(&root().join("deploy/argocd").join(file))
}

/// The script files of [`KINDS`], each once.
fn script_files() -> Vec<&'static str> {
    let mut files: Vec<&str> = KINDS.iter().map(|(_, f, _)| *f).collect();
    files.sort_unstable();
    files.dedup();
    files
}

/// The kinds whose key embeds `file`.
fn kinds_of_script(file: &str) -> Vec<&'static str> {
    KINDS
        .iter()
        .filter(|(_, f, _)| *f == file)
        .map(|(k, _, _)| *k)
        .collect()
}

/// One script per family, and nothing else in `deploy/argocd/`: the managed kinds share one, the
/// tenant kinds the other (so each is tested with the reasons of its family). Each script's
/// header names exactly the kinds it serves and itself as the single source of truth.
#[test]
fn one_script_per_family_naming_its_kinds() {
    assert_eq!(kinds_of_script(RESOURCE_SCRIPT), RESOURCE_KINDS);
    assert_eq!(kinds_of_script(TENANT_SCRIPT), TENANT_KINDS);
    let dir = root().join("deploy/argocd");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "lua"))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert_eq!(
        on_disk,
        script_files(),
        "deploy/argocd/*.lua: exactly the scripts of KINDS"
    );
    for file in script_files() {
        let src = script(file);
        let header: String = src
            .lines()
            .take_while(|l| l.starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            header.contains(&format!("Single source of truth: deploy/argocd/{file}.")),
            "{file}: the header does not name the file as the single source of truth"
        );
        // Whole words: `Auth0Client` is a prefix of `Auth0ClientGrant`.
        let words: Vec<&str> = header.split(|c: char| !c.is_ascii_alphanumeric()).collect();
        let served = kinds_of_script(file);
        for (kind, _, _) in KINDS {
            assert_eq!(
                words.contains(&kind),
                served.contains(&kind),
                "{file}: the header must name exactly the kinds it serves ({served:?}); {kind}"
            );
        }
    }
}

/// What Argo CD would show: (status, message).
#[derive(Debug, PartialEq, Eq)]
struct Health {
    status: String,
    message: Option<String>,
}

/// Runs `script` the way Argo CD runs a custom health check on `obj`.
fn run_health(script: &str, obj: &Value) -> Result<Health, String> {
    // Argo CD opens package, base, table and a reduced os library for scripts from argocd-cm
    // (no string/math unless `useOpenLibs` is set). Base is always loaded by mlua; os is left
    // out entirely, which is stricter.
    let lua = Lua::new_with(StdLib::TABLE | StdLib::PACKAGE, LuaOptions::default())
        .map_err(|e| format!("cannot create the Lua state: {e}"))?;
    // Argo CD hands over plain tables; JSON null becomes nil.
    let options = SerializeOptions::new()
        .serialize_none_to_null(false)
        .serialize_unit_to_null(false)
        .set_array_metatable(false);
    let value = lua
        .to_value_with(obj, options)
        .map_err(|e| format!("cannot convert the object to Lua: {e}"))?;
    lua.globals()
        .set("obj", value)
        .map_err(|e| format!("cannot set obj: {e}"))?;
    let hs: Table = lua
        .load(script)
        .set_name("health.lua")
        .eval()
        .map_err(|e| format!("script failed: {e}"))?;
    let status: String = hs
        .get("status")
        .map_err(|e| format!("hs.status is not a string: {e}"))?;
    let message: Option<String> = hs
        .get("message")
        .map_err(|e| format!("hs.message is not a string: {e}"))?;
    // Anything else is turned into Unknown ("Lua returned an invalid health status") by Argo CD.
    if !["Healthy", "Progressing", "Degraded", "Suspended"].contains(&status.as_str()) {
        return Err(format!("invalid health status {status:?}"));
    }
    Ok(Health { status, message })
}

/// Every sample: (file name, kind prefix, case, parsed object).
fn samples() -> Vec<(String, String, String, Value)> {
    let dir = root().join("tests/data/argocd");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let stem = name.trim_end_matches(".yaml");
            let mut prefixes: Vec<&str> = KINDS.iter().map(|(_, _, p)| *p).collect();
            // Longest prefix first: `auth0clientgrant-…` also starts with `auth0client`.
            prefixes.sort_by_key(|p| std::cmp::Reverse(p.len()));
            let (prefix, case) = prefixes
                .into_iter()
                .find_map(|p| {
                    stem.strip_prefix(p)
                        .and_then(|rest| rest.strip_prefix('-'))
                        .map(|case| (p.to_string(), case.to_string()))
                })
                .unwrap_or_else(|| {
                    panic!(
                        "{name}: not named <{}>-<case>.yaml",
                        KINDS.map(|k| k.2).join("|")
                    )
                });
            let obj: Value = serde_yaml::from_str(&read(&path))
                .unwrap_or_else(|e| panic!("{name}: invalid YAML: {e}"));
            (name, prefix, case, obj)
        })
        .collect()
}

fn kind_of(prefix: &str) -> (&'static str, &'static str) {
    KINDS
        .iter()
        .find(|(_, _, p)| *p == prefix)
        .map(|(k, f, _)| (*k, *f))
        .expect("known prefix")
}

#[test]
fn health_of_every_sample_is_as_annotated() {
    let all = samples();
    assert!(!all.is_empty(), "no samples in tests/data/argocd");
    let mut failures = Vec::new();
    for (name, prefix, _case, obj) in &all {
        let (kind, file) = kind_of(prefix);
        assert_eq!(
            obj["kind"], kind,
            "{name}: kind does not match the file name"
        );
        let annotations = &obj["metadata"]["annotations"];
        let expected = Health {
            status: annotations[EXPECTED_HEALTH]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: no {EXPECTED_HEALTH} annotation"))
                .to_string(),
            message: Some(
                annotations[EXPECTED_MESSAGE]
                    .as_str()
                    .unwrap_or_else(|| panic!("{name}: no {EXPECTED_MESSAGE} annotation"))
                    .to_string(),
            ),
        };
        match run_health(&script(file), obj) {
            Ok(got) if got == expected => {
                eprintln!(
                    "ok   {name}: {} {:?}",
                    got.status,
                    got.message.unwrap_or_default()
                )
            }
            Ok(got) => failures.push(format!("{name}: expected {expected:?}, got {got:?}")),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} samples failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[test]
fn every_case_has_a_sample_for_every_kind() {
    let have: Vec<(String, String)> = samples()
        .into_iter()
        .map(|(_, prefix, case, _)| (prefix, case))
        .collect();
    let mut wanted: Vec<(&str, &str)> = Vec::new();
    for (kind, _, prefix) in KINDS {
        wanted.extend(COMMON_CASES.iter().map(|c| (prefix, *c)));
        let specific = if TENANT_KINDS.contains(&kind) {
            TENANT_CASES
        } else {
            assert!(RESOURCE_KINDS.contains(&kind), "{kind}");
            RESOURCE_CASES
        };
        wanted.extend(specific.iter().map(|c| (prefix, *c)));
    }
    // Reasons only some kinds can have (an API never reports NotFound: it is recreated).
    wanted.push(("auth0client", "secret-conflict"));
    wanted.push(("auth0client", "not-found"));
    wanted.push(("auth0clientgrant", "not-found"));
    wanted.push(("auth0clientgrant", "client-not-ready"));
    wanted.push(("auth0clientgrant", "resource-server-not-ready"));
    wanted.push(("auth0clientgrant", "unknown-scopes"));
    wanted.push(("auth0resourceserver", "already-exists"));
    let missing: Vec<String> = wanted
        .iter()
        .filter(|(p, c)| !have.iter().any(|(hp, hc)| hp == p && hc == c))
        .map(|(p, c)| format!("tests/data/argocd/{p}-{c}.yaml"))
        .collect();
    assert!(missing.is_empty(), "missing samples: {missing:?}");
}

/// The samples are real objects of the CRD types: a typo in a field name (which the script would
/// silently read as nil) shows up as a difference after a round trip through the Rust types.
#[test]
fn samples_are_valid_objects() {
    for (name, prefix, _, obj) in samples() {
        let round_trip = match kind_of(&prefix).0 {
            "Auth0Client" => serde_json::from_value::<Auth0Client>(obj.clone())
                .map(|o| serde_json::to_value(o).unwrap()),
            "Auth0ClientGrant" => serde_json::from_value::<Auth0ClientGrant>(obj.clone())
                .map(|o| serde_json::to_value(o).unwrap()),
            "Auth0ResourceServer" => serde_json::from_value::<Auth0ResourceServer>(obj.clone())
                .map(|o| serde_json::to_value(o).unwrap()),
            "Auth0Tenant" => serde_json::from_value::<Auth0Tenant>(obj.clone())
                .map(|o| serde_json::to_value(o).unwrap()),
            "ClusterAuth0Tenant" => serde_json::from_value::<ClusterAuth0Tenant>(obj.clone())
                .map(|o| serde_json::to_value(o).unwrap()),
            other => panic!("{name}: no Rust type for kind {other}"),
        }
        .unwrap_or_else(|e| panic!("{name}: not a valid object: {e}"));
        pretty_assertions::assert_eq!(round_trip, obj, "{name}: fields lost in a round trip");
    }
}

/// A live object of `kind` at generation 7 whose Ready condition is `status`/`reason`, with the
/// message `<reason> happened`.
fn with_ready(kind: &str, status: &str, reason: &str) -> Value {
    let namespace = (kind != "ClusterAuth0Tenant").then_some("ns");
    json!({
        "apiVersion": "auth0.operator.dev/v1alpha1",
        "kind": kind,
        "metadata": {"name": "x", "namespace": namespace, "generation": 7},
        "spec": {},
        "status": {
            "observedGeneration": 7,
            "conditions": [{
                "type": "Ready", "status": status, "reason": reason,
                "message": format!("{reason} happened"),
                "lastTransitionTime": "2025-01-01T00:00:00Z",
            }],
        },
    })
}

/// The health a managed resource must show for each reason. Exhaustive: a new [`Reason`] does
/// not compile until it is classified here (and in the scripts).
fn resource_health(r: Reason) -> &'static str {
    match r {
        Reason::Synced => "Healthy",
        // The operator waits (for another object) or retries by itself.
        Reason::ClientNotReady
        | Reason::ResourceServerNotReady
        | Reason::TenantNotFound
        | Reason::TenantNotReady
        | Reason::Reconciling
        | Reason::RateLimited
        | Reason::Auth0Unavailable => "Progressing",
        // Failing: most need the user.
        Reason::Auth0Error
        | Reason::SecretConflict
        | Reason::InvalidSpec
        | Reason::NotFound
        | Reason::KubernetesError
        | Reason::AlreadyExists
        | Reason::UnknownScopes
        | Reason::UnknownConnection
        | Reason::TenantNotAllowed
        // The trust boundary refused it: the user (or an owner) must act.
        | Reason::Protected
        | Reason::OwnedElsewhere
        | Reason::AdoptionNotAllowed
        | Reason::ManagementApiNotAllowed
        | Reason::ConsumerNotAllowed => "Degraded",
    }
}

/// Every tenant Ready reason (the operator has no list of them).
const TENANT_REASONS: [TenantReason; 8] = [
    TenantReason::Verified,
    TenantReason::SecretNotFound,
    TenantReason::InvalidCredentials,
    TenantReason::MissingScopes,
    TenantReason::Unreachable,
    TenantReason::DomainNotAllowed,
    TenantReason::InUse,
    TenantReason::InvalidSpec,
];

/// The health a tenant must show for each reason (outside deletion). Exhaustive, like
/// [`resource_health`].
fn tenant_health(r: TenantReason) -> &'static str {
    match r {
        TenantReason::Verified => "Healthy",
        // Transient: Auth0 could not be reached; or deletion waits for the tenant's resources.
        TenantReason::Unreachable | TenantReason::InUse => "Progressing",
        // Someone must fix the Secret, the application in Auth0, or the operator's settings.
        TenantReason::SecretNotFound
        | TenantReason::InvalidCredentials
        | TenantReason::MissingScopes
        | TenantReason::DomainNotAllowed
        | TenantReason::InvalidSpec => "Degraded",
    }
}

/// Every reason the operator writes (`Reason::ALL` for the resources, every `TenantReason` for
/// the tenants) lands in the intended health, for every kind; waits are never Degraded.
#[test]
fn every_operator_reason_is_classified() {
    for (kind, file, _) in KINDS {
        let script = script(file);
        let cases: Vec<(&str, &str, &str)> = if TENANT_KINDS.contains(&kind) {
            TENANT_REASONS
                .iter()
                .map(|r| {
                    let status = if *r == TenantReason::Verified {
                        "True"
                    } else {
                        "False"
                    };
                    (status, r.as_str(), tenant_health(*r))
                })
                .collect()
        } else {
            Reason::ALL
                .iter()
                .map(|r| {
                    assert!(
                        !r.is_wait() || resource_health(*r) == "Progressing",
                        "{r} is a wait: it must show Progressing"
                    );
                    let status = if *r == Reason::Synced {
                        "True"
                    } else {
                        "False"
                    };
                    (status, r.as_str(), resource_health(*r))
                })
                .collect()
        };
        for (status, reason, expected) in cases {
            let h = run_health(&script, &with_ready(kind, status, reason))
                .unwrap_or_else(|e| panic!("{kind} {reason}: {e}"));
            assert_eq!(h.status, expected, "{kind} Ready={status} {reason}");
            assert_eq!(
                h.message,
                Some(format!("{reason} happened")),
                "{kind} {reason}"
            );
        }
    }
}

/// A tenant being deleted while resources still use it (Ready=False, InUse) shows why its
/// deletion waits; being deleted with any other condition shows `Deleting`. Resources being
/// deleted always show `Deleting`.
#[test]
fn tenant_deletion_shows_why_it_waits() {
    for (kind, file, _) in KINDS {
        let script = script(file);
        for (status, reason) in [
            ("False", "InUse"),
            ("True", "Verified"),
            ("False", "Unreachable"),
        ] {
            let mut obj = with_ready(kind, status, reason);
            obj["metadata"]["deletionTimestamp"] = json!("2025-01-02T00:00:00Z");
            let h = run_health(&script, &obj).unwrap();
            let message = if TENANT_KINDS.contains(&kind) && reason == "InUse" {
                "InUse happened".to_string()
            } else {
                "Deleting".to_string()
            };
            assert_eq!(
                h,
                Health {
                    status: "Progressing".into(),
                    message: Some(message)
                },
                "{kind} being deleted with Ready={status} {reason}"
            );
        }
    }
}

/// Shapes the apiserver never sends but a health script must survive (Argo CD shows a script
/// error as health Unknown with the Lua error, which hides the real state).
#[test]
fn odd_shapes_do_not_break_the_scripts() {
    let odd = [
        json!({"kind": "X"}),
        json!({"metadata": {}, "status": null}),
        json!({"metadata": {"generation": 2}, "status": {}}),
        json!({"metadata": {"generation": 2}, "status": {"conditions": null}}),
        json!({"metadata": {"generation": 2}, "status": {"conditions": [{"type": "Other", "status": "True"}]}}),
        // No observedGeneration anywhere: nothing to compare, the condition decides.
        json!({"metadata": {"generation": 2}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
        // Only the condition's observedGeneration (older operator versions): still compared.
        json!({"metadata": {"generation": 2}, "status": {"conditions": [{"type": "Ready", "status": "True", "observedGeneration": 1}]}}),
        json!({"metadata": {"generation": 2}, "status": {"conditions": [{"type": "Ready", "status": "Bogus"}]}}),
    ];
    let expected = [
        ("Progressing", "Waiting for the operator"),
        ("Progressing", "Waiting for the operator"),
        ("Progressing", "Waiting for the operator"),
        ("Progressing", "Waiting for the operator"),
        ("Progressing", "Waiting for the operator"),
        ("Healthy", "Ready"),
        ("Progressing", "Reconciling generation 2"),
        ("Progressing", "Readiness unknown"),
    ];
    for (_, file, _) in KINDS {
        let script = script(file);
        for (obj, (status, message)) in odd.iter().zip(expected) {
            let got = run_health(&script, obj).unwrap_or_else(|e| panic!("{file} on {obj}: {e}"));
            assert_eq!(
                got,
                Health {
                    status: status.into(),
                    message: Some(message.into())
                },
                "{file} on {obj}"
            );
        }
    }
}

/// Argo CD's gopher-lua is Lua 5.1 and custom scripts get no `string`/`math`/`io` library: the
/// test Lua (5.4) would accept some of what Argo CD rejects, so reject it here.
#[test]
fn scripts_stay_within_what_argo_cd_runs() {
    for file in script_files() {
        let src = script(file);
        let code: String = src
            .lines()
            .map(strip_comment_and_strings)
            .collect::<Vec<_>>()
            .join("\n");
        for banned in [
            "goto",
            "::",
            "//",
            "<const>",
            "<close>",
            "&",
            "|",
            ">>",
            "<<",
            "string.",
            "math.",
            "utf8.",
            "io.",
            "os.",
            "require",
            ":format",
            ":find",
            ":match",
            ":gsub",
            ":sub",
            "debug.",
            "load(",
            "dofile",
            "loadstring",
        ] {
            assert!(!code.contains(banned), "{file} uses `{banned}`");
        }
        // `~` only as part of `~=` (5.3 bitwise not / xor otherwise).
        assert!(
            !code.replace("~=", "").contains('~'),
            "{file} uses a bitwise `~`"
        );
        assert!(
            code.starts_with("hs = {}") || code.contains("\nhs = {}"),
            "{file}: no `hs = {{}}`"
        );
        assert!(
            code.trim_end().ends_with("return hs"),
            "{file}: must end with `return hs`"
        );
    }
}

/// Drops a `--` comment and the contents of "…" literals (enough for these scripts).
fn strip_comment_and_strings(line: &str) -> String {
    let mut out = String::new();
    let mut in_str = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if in_str {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => {
                    in_str = false;
                    out.push('"');
                }
                _ => {}
            }
        } else if c == '"' {
            in_str = true;
            out.push('"');
        } else if c == '-' && chars.peek() == Some(&'-') {
            break;
        } else {
            out.push(c);
        }
    }
    out
}

/// All `resource.customizations.health.auth0.operator.dev_<Kind>` entries in a YAML value.
fn embedded_scripts(v: &Value, found: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if let (Some(kind), Value::String(s)) = (k.strip_prefix(KEY_PREFIX), v) {
                    found.push((kind.to_string(), s.clone()));
                } else {
                    embedded_scripts(v, found);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| embedded_scripts(v, found)),
        _ => {}
    }
}

fn assert_embeds_scripts(origin: &str, found: &[(String, String)]) {
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for (kind, text) in found {
        let (_, file, _) = KINDS
            .iter()
            .find(|(k, _, _)| k == kind)
            .unwrap_or_else(|| panic!("{origin}: health key for unknown kind {kind}"));
        pretty_assertions::assert_eq!(
            text.as_str(),
            script(file).as_str(),
            "{origin}: the {kind} script differs from deploy/argocd/{file}"
        );
        *by_kind.entry(kind.as_str()).or_default() += 1;
    }
    for (kind, _, _) in KINDS {
        assert!(
            by_kind.contains_key(kind),
            "{origin}: no {KEY_PREFIX}{kind} entry"
        );
    }
}

#[test]
fn helm_values_embed_the_scripts_verbatim() {
    let path = root().join("deploy/argocd/argocd-cm-values.yaml");
    let values: Value = serde_yaml::from_str(&read(&path)).expect("values parse as YAML");
    let cm = values["configs"]["cm"]
        .as_object()
        .expect("configs.cm is a map");
    let found: Vec<(String, String)> = cm
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.strip_prefix(KEY_PREFIX)?.to_string(),
                v.as_str()?.to_string(),
            ))
        })
        .collect();
    assert_eq!(found.len(), KINDS.len(), "configs.cm: {:?}", cm.keys());
    assert_embeds_scripts("argocd-cm-values.yaml", &found);
}

#[test]
fn docs_embed_the_scripts_verbatim() {
    let doc = read(&root().join("docs/argocd.md"));
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        match &mut current {
            None if line.trim_start().starts_with("```yaml") => current = Some(String::new()),
            Some(_) if line.trim_start().starts_with("```") => blocks.push(current.take().unwrap()),
            Some(b) => {
                b.push_str(line);
                b.push('\n');
            }
            None => {}
        }
    }
    let mut configmaps = 0;
    for (i, block) in blocks.iter().enumerate() {
        if !block.contains(KEY_PREFIX) {
            continue;
        }
        let mut found = Vec::new();
        for doc in serde_yaml::Deserializer::from_str(block) {
            let v = <Value as serde::Deserialize>::deserialize(doc)
                .unwrap_or_else(|e| panic!("docs/argocd.md yaml block {i}: {e}"));
            if v["kind"] == "ConfigMap" && v["metadata"]["name"] == "argocd-cm" {
                configmaps += 1;
            }
            embedded_scripts(&v, &mut found);
        }
        assert_embeds_scripts(&format!("docs/argocd.md yaml block {i}"), &found);
    }
    assert!(
        configmaps >= 1,
        "docs/argocd.md has no argocd-cm ConfigMap with the health checks"
    );
}

/// The YAML documents of every ```yaml block of docs/argocd.md.
fn doc_yaml_documents() -> Vec<Value> {
    let doc = read(&root().join("docs/argocd.md"));
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        match &mut current {
            None if line.trim_start().starts_with("```yaml") => current = Some(String::new()),
            Some(_) if line.trim_start().starts_with("```") => {
                let block = current.take().unwrap();
                for d in serde_yaml::Deserializer::from_str(&block) {
                    let v = <Value as serde::Deserialize>::deserialize(d)
                        .unwrap_or_else(|e| panic!("docs/argocd.md: invalid YAML block: {e}"));
                    if !v.is_null() {
                        out.push(v);
                    }
                }
            }
            Some(b) => {
                b.push_str(line);
                b.push('\n');
            }
            None => {}
        }
    }
    out
}

/// The sync-wave example of docs/argocd.md orders what depends on what: CRDs, then Secrets, then
/// the operator (wave 0, the chart's default), then tenants, then clients and APIs, then grants
/// (and so prunes in the reverse order: the operator and a tenant's Secret outlive the tenant,
/// the tenant outlives its clients, APIs and grants). Its CRD kustomization lists every CRD file.
#[test]
fn docs_sync_waves_put_tenants_between_the_operator_and_their_resources() {
    let wave = |v: &Value| -> i64 {
        let w = &v["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"];
        w.as_str()
            .unwrap_or_else(|| panic!("docs/argocd.md: no sync-wave on {v}"))
            .parse()
            .unwrap()
    };
    let docs = doc_yaml_documents();
    let mut waves: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut kustomized = None;
    for d in &docs {
        let kind = d["kind"].as_str().unwrap_or_default();
        match kind {
            "Kustomization" => {
                let w: i64 = d["commonAnnotations"]["argocd.argoproj.io/sync-wave"]
                    .as_str()
                    .expect("the CRD kustomization has a wave")
                    .parse()
                    .unwrap();
                waves.entry("CRDs".into()).or_default().push(w);
                kustomized = Some(
                    d["resources"]
                        .as_array()
                        .expect("resources")
                        .iter()
                        .map(|r| r.as_str().unwrap().to_string())
                        .collect::<std::collections::BTreeSet<_>>(),
                );
            }
            "SealedSecret" | "Secret" => waves.entry("Secret".into()).or_default().push(wave(d)),
            "Auth0Tenant"
            | "ClusterAuth0Tenant"
            | "Auth0Client"
            | "Auth0ClientGrant"
            | "Auth0ResourceServer" => waves.entry(kind.into()).or_default().push(wave(d)),
            _ => {}
        }
    }
    let max = |k: &str| *waves[k].iter().max().unwrap();
    let min = |k: &str| *waves[k].iter().min().unwrap();
    let operator = 0;
    assert!(max("CRDs") < min("Secret"), "{waves:?}");
    assert!(max("Secret") < operator, "{waves:?}");
    assert!(operator < min("Auth0Tenant"), "{waves:?}");
    assert!(max("Auth0Tenant") < min("Auth0Client"), "{waves:?}");
    assert!(max("Auth0Tenant") < min("Auth0ResourceServer"), "{waves:?}");
    assert!(max("Auth0Client") < min("Auth0ClientGrant"), "{waves:?}");
    assert!(
        max("Auth0ResourceServer") < min("Auth0ClientGrant"),
        "{waves:?}"
    );
    let crd_files: std::collections::BTreeSet<String> =
        auth0_operator::controller::kinds::crd_files()
            .into_iter()
            .map(|(f, _)| f.to_string())
            .collect();
    assert_eq!(
        kustomized.expect("docs/argocd.md has the CRD kustomization"),
        crd_files,
        "the CRD kustomization lists every file of crds/"
    );
    let doc = read(&root().join("docs/argocd.md"));
    for needle in ["InUse", "reverse", "needs its credentials"] {
        assert!(
            doc.contains(needle),
            "docs/argocd.md does not mention `{needle}`"
        );
    }
}
