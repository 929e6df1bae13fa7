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

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use auth0_operator::crd::{Auth0Client, Auth0ClientGrant, reason};
use mlua::{Lua, LuaOptions, LuaSerdeExt, StdLib, Table, serde::SerializeOptions};
use serde_json::{Value, json};

const EXPECTED_HEALTH: &str = "test.auth0.operator.dev/expected-health";
const EXPECTED_MESSAGE: &str = "test.auth0.operator.dev/expected-message";
const KEY_PREFIX: &str = "resource.customizations.health.auth0.operator.dev_";

/// The two kinds: (kind, script file, sample file prefix).
const KINDS: [(&str, &str, &str); 2] = [
    ("Auth0Client", "health-auth0client.lua", "auth0client"),
    (
        "Auth0ClientGrant",
        "health-auth0clientgrant.lua",
        "auth0clientgrant",
    ),
];

/// Cases every kind must have a sample for.
const COMMON_CASES: &[&str] = &[
    "no-status",
    "no-ready-condition",
    "stale-generation",
    "ready",
    "reconciling",
    "rate-limited",
    "auth0-error",
    "invalid-spec",
    "not-found",
    "kubernetes-error",
    "other-reason",
    "empty-message",
    "ready-unknown",
    "deleting",
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
            let (prefix, case) = KINDS
                .iter()
                // Longest prefix first: `auth0clientgrant-…` also starts with `auth0client`.
                .rev()
                .find_map(|(_, _, p)| {
                    stem.strip_prefix(p)
                        .and_then(|rest| rest.strip_prefix('-'))
                        .map(|case| (p.to_string(), case.to_string()))
                })
                .unwrap_or_else(|| {
                    panic!("{name}: not named <auth0client|auth0clientgrant>-<case>.yaml")
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
fn every_case_has_a_sample_for_both_kinds() {
    let have: Vec<(String, String)> = samples()
        .into_iter()
        .map(|(_, prefix, case, _)| (prefix, case))
        .collect();
    let mut wanted: Vec<(&str, &str)> = Vec::new();
    for (_, _, prefix) in KINDS {
        wanted.extend(COMMON_CASES.iter().map(|c| (prefix, *c)));
    }
    // Reasons only one kind can have.
    wanted.push(("auth0client", "secret-conflict"));
    wanted.push(("auth0clientgrant", "client-not-ready"));
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
            _ => serde_json::from_value::<Auth0ClientGrant>(obj.clone())
                .map(|o| serde_json::to_value(o).unwrap()),
        }
        .unwrap_or_else(|e| panic!("{name}: not a valid object: {e}"));
        pretty_assertions::assert_eq!(round_trip, obj, "{name}: fields lost in a round trip");
    }
}

/// Every reason the operator writes lands in the intended health, for both kinds.
#[test]
fn every_operator_reason_is_classified() {
    let waiting = [
        reason::CLIENT_NOT_READY,
        reason::RECONCILING,
        reason::RATE_LIMITED,
        reason::AUTH0_UNAVAILABLE,
    ];
    let failing = [
        reason::AUTH0_ERROR,
        reason::SECRET_CONFLICT,
        reason::INVALID_SPEC,
        reason::NOT_FOUND,
        reason::KUBERNETES_ERROR,
    ];
    for (kind, file, _) in KINDS {
        let script = script(file);
        let obj = |status: &str, reason: &str| {
            json!({
                "apiVersion": "auth0.operator.dev/v1alpha1",
                "kind": kind,
                "metadata": {"name": "x", "namespace": "ns", "generation": 7},
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
        };
        let health = |status: &str, r: &str| run_health(&script, &obj(status, r)).unwrap();
        let synced = health("True", reason::SYNCED);
        assert_eq!(synced.status, "Healthy", "{kind}");
        assert_eq!(synced.message.as_deref(), Some("Synced happened"));
        for r in waiting {
            assert_eq!(health("False", r).status, "Progressing", "{kind} {r}");
        }
        for r in failing {
            let h = health("False", r);
            assert_eq!(h.status, "Degraded", "{kind} {r}");
            assert_eq!(h.message, Some(format!("{r} happened")), "{kind} {r}");
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
    for (_, file, _) in KINDS {
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
