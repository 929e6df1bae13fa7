//! Replays the real Auth0 traffic recorded by the Terraform provider
//! (`tests/data/recordings`, trimmed by `scripts/trim-recordings.py`) against the simulator.
//!
//! For every interaction on a modelled endpoint (clients, client credentials, client grants,
//! resource servers)
//! the simulator must answer with the recorded status code, and its JSON body must contain
//! every top-level key of the recorded body. Ids are mapped from recorded to
//! simulator-assigned values as resources are created. Interactions on endpoints the
//! simulator deliberately does not model are skipped and reported by endpoint.
//!
//! Client answers (POST /clients, GET and PATCH /clients/{id}, and each client of a recorded
//! `GET /clients` list that the replay created or seeded) are compared strictly: the same
//! keys both ways, and every value equal (ids mapped), except what the recorder's artifacts
//! below explain. Three figures are asserted exactly: interactions with the recorded status,
//! client answers with the recorded keys, and values equal to the recorded ones.
//!
//! Known artifacts of the recorder (see the INDEX of the reference recordings) are tolerated
//! and counted separately:
//! - `/clients` responses were re-serialized through go-auth0's `management.Client`, which
//!   always adds `signing_keys` (even to `fields=`-filtered responses) and replaces their
//!   value by `[{"cert":"[REDACTED]"}]`, replaces a present `client_secret` by
//!   `"[REDACTED]"` (so only its presence is compared), drops every field the struct does not
//!   have (it has no `tenant`, `global` or `callback_url_template`, which Auth0 returns: the
//!   OAS client schemas and Auth0's own webhooks example show them), adds `length`/`next`
//!   to lists, spelled `cross_origin_authentication` as `cross_origin_auth` in old versions,
//!   and clobbered 400 error bodies (only the status is compared for those).
//! - Clients referenced before any recorded creation (imported / created by an unmodelled
//!   endpoint) are seeded out of band from their first recorded 200 body.
//! - Resource servers referenced before any recorded creation (the tenant's system
//!   Management API, whose id the recorder replaced by `xxxxxxxxxxxxxxxxxxxx`) are mapped to
//!   the simulator's API with the recorded identifier.
//! - The recorder rewrote the tenant domain to `…-dev.eu.auth0.com` except in one cassette
//!   (`TestAccResourceServer_ACR`, `…-dev.us.auth0.com`); each cassette is replayed against a
//!   simulated tenant of the domain it names.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use auth0_operator::sim::{SimConfig, Simulator};
use serde_json::{Value, json};

const DOMAIN: &str = "terraform-provider-auth0-dev.eu.auth0.com";
const DOMAIN_US: &str = "terraform-provider-auth0-dev.us.auth0.com";

#[derive(Default, Debug, Clone, Copy)]
struct Tally {
    total: usize,
    matched: usize,
    artifact_tolerated: usize,
}

/// Keys go-auth0's `management.Client` does not have: the recorder dropped them from every
/// client answer it re-serialized.
const NOT_IN_SDK_CLIENT: &[&str] = &["tenant", "global", "callback_url_template"];

/// The strict comparison of client answers.
#[derive(Default, Debug, Clone, Copy)]
struct ClientFigures {
    /// Client objects compared / with the recorded keys (artifacts aside).
    objects: usize,
    keys_matched: usize,
    /// Values compared (keys present in both) / equal to the recorded ones.
    values: usize,
    values_matched: usize,
    /// List items of the recorded tenant that the replay did not create (not comparable).
    foreign_list_items: usize,
}

/// Compares one client answer with the recorded one (ids mapped). Returns the problems and
/// whether an artifact was tolerated.
fn compare_client(
    rec: &Value,
    got: &Value,
    fields_filtered: bool,
    sdk_knew_coa: bool,
    fig: &mut ClientFigures,
) -> (Vec<String>, bool) {
    let (Some(rec), Some(got)) = (rec.as_object(), got.as_object()) else {
        fig.objects += 1;
        return (
            vec![format!("not an object: {}", truncate(&got.to_string()))],
            false,
        );
    };
    let mut problems = Vec::new();
    let mut tolerated = false;
    fig.objects += 1;
    let mut keys_ok = true;
    for k in rec.keys() {
        if got.contains_key(k) {
            continue;
        }
        let artifact = (k == "signing_keys" && fields_filtered)
            || (k == "cross_origin_auth" && got.contains_key("cross_origin_authentication"));
        if artifact {
            tolerated = true;
        } else {
            keys_ok = false;
            problems.push(format!("missing key `{k}`"));
        }
    }
    for k in got.keys() {
        if rec.contains_key(k) {
            continue;
        }
        if NOT_IN_SDK_CLIENT.contains(&k.as_str())
            || (k == "cross_origin_authentication"
                && (rec.contains_key("cross_origin_auth") || !sdk_knew_coa))
        {
            tolerated = true;
        } else {
            keys_ok = false;
            problems.push(format!(
                "extra key `{k}`: {}",
                truncate(&got[k].to_string())
            ));
        }
    }
    if keys_ok {
        fig.keys_matched += 1;
    }
    for (k, want) in rec {
        let have = match got.get(k) {
            Some(v) => v,
            None if k == "cross_origin_auth" => match got.get("cross_origin_authentication") {
                Some(v) => v,
                None => continue,
            },
            None => continue,
        };
        fig.values += 1;
        // Rewritten by the recorder: only their presence is comparable.
        if matches!(k.as_str(), "client_secret" | "signing_keys") {
            fig.values_matched += 1;
            tolerated = true;
            continue;
        }
        if have == want {
            fig.values_matched += 1;
        } else {
            problems.push(format!(
                "`{k}`: {} != recorded {}",
                truncate(&have.to_string()),
                truncate(&want.to_string())
            ));
        }
    }
    (problems, tolerated)
}

fn category(path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("/api/v2/")?;
    let segs: Vec<&str> = rest.split('/').collect();
    match segs.as_slice() {
        ["clients"] | ["clients", _] | ["clients", _, "rotate-secret"] => Some("clients"),
        ["clients", _, "credentials"] | ["clients", _, "credentials", _] => {
            Some("client-credentials")
        }
        ["client-grants"] | ["client-grants", _] => Some("client-grants"),
        ["resource-servers"] | ["resource-servers", _] => Some("resource-servers"),
        _ => None,
    }
}

/// `METHOD /templated/path` for the not-modelled report.
fn endpoint_template(method: &str, path: &str) -> String {
    let t: Vec<String> = path
        .trim_start_matches("/api/v2")
        .split('/')
        .map(|s| {
            if s.starts_with("cgr_") {
                "{grant_id}".into()
            } else if s.starts_with("cred_") {
                "{credential_id}".into()
            } else if s.starts_with("org_") {
                "{org_id}".into()
            } else if s.starts_with("uap_") || s.starts_with("cop_") {
                "{id}".into()
            } else if s.len() == 32 || s.starts_with("tpc_") {
                "{client_id}".into()
            } else {
                s.to_string()
            }
        })
        .collect();
    format!("{method} {}", t.join("/"))
}

fn substitute(s: &str, ids: &HashMap<String, String>) -> String {
    let mut keys: Vec<&String> = ids.keys().collect();
    keys.sort_by_key(|k| std::cmp::Reverse(k.len()));
    let mut out = s.to_string();
    for k in keys {
        out = out.replace(k.as_str(), &ids[k]);
    }
    out
}

fn substitute_value(v: &Value, ids: &HashMap<String, String>) -> Value {
    serde_json::from_str(&substitute(&v.to_string(), ids)).expect("json")
}

/// A Management API token; without the scopes that reveal secrets when the cassette was
/// recorded without them (see [`recorded_without_secret_scopes`]).
async fn token(
    http: &reqwest::Client,
    sim: &Simulator,
    domain: &str,
    secret_scopes: bool,
) -> String {
    let scope: Vec<&str> = auth0_operator::sim::DEFAULT_SCOPES
        .iter()
        .copied()
        .filter(|s| secret_scopes || !matches!(*s, "read:client_keys" | "read:client_credentials"))
        .collect();
    let r: Value = http
        .post(format!("{}/oauth/token", sim.base_url()))
        .json(&json!({
            "grant_type": "client_credentials",
            "client_id": "mgmt-id",
            "client_secret": "mgmt-secret",
            "audience": format!("https://{domain}/api/v2/"),
            "scope": scope.join(" "),
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["access_token"].as_str().unwrap().to_string()
}

/// A cassette whose plain `GET /clients/{id}` of a client without
/// `client_authentication_methods` lacks `client_secret` was recorded with a token that had
/// neither `read:client_keys` nor `read:client_credentials` (Auth0 returns the secret to every
/// other such read; the POST answer has it whatever the scopes):
/// TestAccDataSourceClientGrantOrganizations.
fn recorded_without_secret_scopes(doc: &Value) -> bool {
    doc["interactions"].as_array().unwrap().iter().any(|it| {
        let path = it["path"].as_str().unwrap();
        it["method"] == "GET"
            && it["status"] == 200
            && it["query"].is_null()
            && path.starts_with("/api/v2/clients/")
            && path.matches('/').count() == 4
            && it["response_body"].get("client_secret").is_none()
            && it["response_body"]
                .get("client_authentication_methods")
                .is_none()
    })
}

struct Outcome {
    per_cassette: BTreeMap<String, Tally>,
    per_category: BTreeMap<&'static str, Tally>,
    not_modelled: BTreeMap<String, usize>,
    failures: Vec<String>,
    total_interactions: usize,
    /// Modelled interactions answered with the recorded status.
    status_matched: usize,
    clients: ClientFigures,
}

async fn replay_all() -> Outcome {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/recordings");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "recordings missing in {}", dir.display());
    // reqwest is built with `rustls-no-provider`; plain http still needs a provider installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let mut out = Outcome {
        per_cassette: BTreeMap::new(),
        per_category: BTreeMap::new(),
        not_modelled: BTreeMap::new(),
        failures: Vec::new(),
        total_interactions: 0,
        status_matched: 0,
        clients: ClientFigures::default(),
    };
    for file in files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let name = doc["cassette"]
            .as_str()
            .unwrap()
            .trim_end_matches(".yaml")
            .to_string();
        let domain = if doc.to_string().contains(DOMAIN_US) {
            DOMAIN_US
        } else {
            DOMAIN
        };
        let sim = Simulator::start(SimConfig::new(domain, "mgmt-id", "mgmt-secret"))
            .await
            .unwrap();
        let tok = token(&http, &sim, domain, !recorded_without_secret_scopes(&doc)).await;
        // Recorded by a go-auth0 whose `management.Client` spelled the field
        // `cross_origin_auth`: Auth0's `cross_origin_authentication` was dropped from every
        // answer.
        let sdk_knew_coa = doc.to_string().contains("\"cross_origin_authentication\"");
        let mut ids: HashMap<String, String> = HashMap::new();
        let mut tally = Tally::default();
        for (i, it) in doc["interactions"].as_array().unwrap().iter().enumerate() {
            out.total_interactions += 1;
            let method = it["method"].as_str().unwrap();
            let rec_path = it["path"].as_str().unwrap();
            let Some(cat) = category(rec_path) else {
                *out.not_modelled
                    .entry(endpoint_template(method, rec_path))
                    .or_default() += 1;
                continue;
            };
            let rec_status = it["status"].as_u64().unwrap() as u16;
            let rec_body = &it["response_body"];

            // Seed clients that exist before the recording starts (imports, CIMD).
            if let ["clients", id] = rec_path
                .trim_start_matches("/api/v2/")
                .split('/')
                .collect::<Vec<_>>()[..]
                && !ids.contains_key(id)
                && rec_status == 200
                && method == "GET"
                && rec_body.get("name").is_some()
            {
                let mut seed = rec_body.clone();
                for k in ["client_id", "client_secret", "signing_keys"] {
                    seed.as_object_mut().unwrap().remove(k);
                }
                let c = sim.create_client_out_of_band(seed);
                let sim_id = c["client_id"].as_str().unwrap().to_string();
                // The recorded state, not the defaults of a new client: drop what the
                // recorded body lacks (but what the recorder always drops).
                let extra: serde_json::Map<String, Value> = c
                    .as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| {
                        let k = k.as_str();
                        // Kept: what the recorder drops or rewrites.
                        let recorder_artifact = NOT_IN_SDK_CLIENT.contains(&k)
                            || matches!(k, "client_secret" | "signing_keys")
                            || (k == "cross_origin_authentication"
                                && (rec_body.get("cross_origin_auth").is_some() || !sdk_knew_coa));
                        rec_body.get(k).is_none() && !recorder_artifact
                    })
                    .map(|k| (k.clone(), Value::Null))
                    .collect();
                sim.patch_client_out_of_band(&sim_id, Value::Object(extra));
                ids.insert(id.to_string(), sim_id);
            }

            // Seed credentials that exist before the recording starts (imports): their PEM is
            // not recorded, so they are stored as recorded, without key material.
            if cat == "client-credentials"
                && method == "GET"
                && rec_status == 200
                && let ["clients", cid, "credentials", cred] = rec_path
                    .trim_start_matches("/api/v2/")
                    .split('/')
                    .collect::<Vec<_>>()[..]
                && !ids.contains_key(cred)
                && let Some(sim_cid) = ids.get(cid)
            {
                let seeded = sim.seed_credential_view(sim_cid, rec_body.clone());
                let new_id = seeded["id"].as_str().unwrap().to_string();
                // A client seeded earlier names the credential by its recorded id.
                let mut rename = HashMap::new();
                rename.insert(cred.to_string(), new_id.clone());
                let client = sim.client(sim_cid).unwrap();
                let refs: serde_json::Map<String, Value> = [
                    "client_authentication_methods",
                    "signed_request_object",
                    "token_vault_privileged_access",
                ]
                .iter()
                .filter_map(|k| {
                    client
                        .get(*k)
                        .map(|v| (k.to_string(), substitute_value(v, &rename)))
                })
                .collect();
                sim.patch_client_out_of_band(sim_cid, Value::Object(refs));
                ids.insert(cred.to_string(), new_id);
            }

            // Map APIs that exist before the recording starts (the system Management API).
            if cat == "resource-servers"
                && rec_status == 200
                && let Some(rec_id) = rec_body["id"].as_str()
                && !ids.contains_key(rec_id)
                && let Some(identifier) = rec_body["identifier"].as_str()
                && let Some(rs) = sim.resource_server(identifier)
            {
                ids.insert(rec_id.to_string(), rs["id"].as_str().unwrap().to_string());
            }

            let path = substitute(rec_path, &ids);
            let query = it["query"].as_str().map(|q| substitute(q, &ids));
            let url = match &query {
                Some(q) => format!("{}{path}?{q}", sim.base_url()),
                None => format!("{}{path}", sim.base_url()),
            };
            let mut req = http
                .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
                .bearer_auth(&tok);
            if !it["request_body"].is_null() {
                req = req.json(&substitute_value(&it["request_body"], &ids));
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            let body: Value = if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap()
            };

            // Learn id mappings from creations.
            if status == rec_status && (200..300).contains(&status) && method == "POST" {
                for k in ["client_id", "id"] {
                    if let (Some(r), Some(s)) = (rec_body[k].as_str(), body[k].as_str())
                        && (k == "id" || rec_path == "/api/v2/clients")
                    {
                        ids.insert(r.to_string(), s.to_string());
                    }
                }
            }

            let mut problems = Vec::new();
            let mut tolerated = false;
            if status == rec_status {
                out.status_matched += 1;
            }
            if status != rec_status {
                problems.push(format!(
                    "status {status} != recorded {rec_status}: {}",
                    truncate(&text)
                ));
            } else if cat == "client-credentials"
                && let Some(rec_list) = rec_body.as_array()
            {
                // Lists: the same credentials (by kid/thumbprint/subject and name), in any
                // order (the recorded order is not stable).
                let key = |c: &Value| {
                    format!(
                        "{}|{}|{}|{}",
                        c["kid"], c["thumbprint_sha256"], c["subject_dn"], c["name"]
                    )
                };
                let mut want: Vec<String> = rec_list.iter().map(key).collect();
                let mut got: Vec<String> = body.as_array().into_iter().flatten().map(key).collect();
                want.sort();
                got.sort();
                if want != got {
                    problems.push(format!("list {got:?} != recorded {want:?}"));
                }
            } else if let Some(rec_obj) = rec_body.as_object() {
                let clobbered = rec_status >= 400 && !rec_obj.contains_key("statusCode");
                let fields_filtered = query.as_deref().is_some_and(|q| q.contains("fields="));
                if clobbered {
                    tolerated = true;
                } else if cat == "clients"
                    && (200..300).contains(&rec_status)
                    && !rec_obj.contains_key("clients")
                {
                    // One client: strictly.
                    let rec_mapped = substitute_value(rec_body, &ids);
                    let (p, t) = compare_client(
                        &rec_mapped,
                        &body,
                        fields_filtered,
                        sdk_knew_coa,
                        &mut out.clients,
                    );
                    problems.extend(p);
                    tolerated |= t;
                } else {
                    // Resource servers are compared by value too (ids mapped), not only by
                    // key: the defaults, echoes and derived fields (`thumbprint_sha256`) must
                    // be exactly what Auth0 returned. A system API's `scopes` list depends on
                    // the tenant's age and feature flags and is tolerated.
                    let rec_mapped = substitute_value(&Value::Object(rec_obj.clone()), &ids);
                    for k in rec_obj.keys() {
                        // Credentials are compared by value too (kid, alg, thumbprint, subject,
                        // expiry, name), except their generated ids and timestamps.
                        if cat == "client-credentials"
                            && (200..300).contains(&rec_status)
                            && !matches!(k.as_str(), "id" | "created_at" | "updated_at")
                            && body.get(k).is_some()
                            && body[k] != rec_mapped[k]
                        {
                            problems.push(format!(
                                "`{k}`: {} != recorded {}",
                                truncate(&body[k].to_string()),
                                truncate(&rec_mapped[k].to_string())
                            ));
                            continue;
                        }
                        if cat == "resource-servers"
                            && (200..300).contains(&rec_status)
                            && body.get(k).is_some()
                            && body[k] != rec_mapped[k]
                        {
                            if k == "scopes" && rec_obj.get("is_system") == Some(&json!(true)) {
                                tolerated = true;
                            } else {
                                problems.push(format!(
                                    "`{k}`: {} != recorded {}",
                                    truncate(&body[k].to_string()),
                                    truncate(&rec_mapped[k].to_string())
                                ));
                            }
                            continue;
                        }
                        if body.get(k).is_some() {
                            continue;
                        }
                        let artifact = (cat == "clients" && k == "signing_keys" && fields_filtered)
                            || (cat == "clients"
                                && (k == "length" || k == "next")
                                && rec_obj.contains_key("clients"))
                            || (k == "cross_origin_auth"
                                && body.get("cross_origin_authentication").is_some());
                        if artifact {
                            tolerated = true;
                        } else {
                            problems.push(format!("missing key `{k}`"));
                        }
                    }
                    // A client list: each recorded client the replay created (or seeded),
                    // strictly; the recorded tenant's other clients are not comparable.
                    if cat == "clients"
                        && (200..300).contains(&rec_status)
                        && let Some(rec_list) = rec_obj.get("clients").and_then(Value::as_array)
                    {
                        let got_list = body["clients"].as_array().cloned().unwrap_or_default();
                        for rec_c in rec_list {
                            let Some(sim_id) = rec_c["client_id"].as_str().and_then(|r| ids.get(r))
                            else {
                                out.clients.foreign_list_items += 1;
                                continue;
                            };
                            let rec_mapped = substitute_value(rec_c, &ids);
                            match got_list.iter().find(|c| c["client_id"] == sim_id.as_str()) {
                                Some(got_c) => {
                                    let (p, t) = compare_client(
                                        &rec_mapped,
                                        got_c,
                                        fields_filtered,
                                        sdk_knew_coa,
                                        &mut out.clients,
                                    );
                                    problems.extend(
                                        p.into_iter()
                                            .map(|p| format!("list item {}: {p}", rec_c["name"])),
                                    );
                                    tolerated |= t;
                                }
                                None => {
                                    out.clients.objects += 1;
                                    problems.push(format!(
                                        "list item {} is not in the list",
                                        rec_c["name"]
                                    ));
                                }
                            }
                        }
                    }
                }
            }
            let t = out.per_category.entry(cat).or_default();
            t.total += 1;
            tally.total += 1;
            if problems.is_empty() {
                t.matched += 1;
                tally.matched += 1;
                if tolerated {
                    t.artifact_tolerated += 1;
                    tally.artifact_tolerated += 1;
                }
            } else {
                out.failures.push(format!(
                    "{name}#{i} {method} {rec_path}{}: {}",
                    it["query"]
                        .as_str()
                        .map(|q| format!("?{q}"))
                        .unwrap_or_default(),
                    problems.join("; ")
                ));
            }
        }
        out.per_cassette.insert(name, tally);
        sim.shutdown().await;
    }
    out
}

fn truncate(s: &str) -> String {
    s.chars().take(300).collect()
}

#[tokio::test]
async fn recorded_auth0_traffic_replays_against_the_simulator() {
    let out = replay_all().await;
    println!("== auth0-sim conformance against recorded Auth0 traffic ==");
    for (name, t) in &out.per_cassette {
        println!(
            "  {name:<70} {:>3}/{:<3} (tolerated artifacts: {})",
            t.matched, t.total, t.artifact_tolerated
        );
    }
    let mut modelled = Tally::default();
    for (cat, t) in &out.per_category {
        println!(
            "  category {cat:<18} {:>4}/{:<4} (tolerated artifacts: {})",
            t.matched, t.total, t.artifact_tolerated
        );
        modelled.total += t.total;
        modelled.matched += t.matched;
        modelled.artifact_tolerated += t.artifact_tolerated;
    }
    let skipped: usize = out.not_modelled.values().sum();
    println!("  not modelled ({skipped} interactions):");
    for (ep, n) in &out.not_modelled {
        println!("    {ep:<70} x{n}");
    }
    println!(
        "  TOTAL modelled: {}/{} matching; {} interactions in all, {} not modelled",
        modelled.matched, modelled.total, out.total_interactions, skipped
    );
    let c = out.clients;
    println!(
        "  status: {}/{} as recorded",
        out.status_matched, modelled.total
    );
    println!(
        "  client answers: keys {}/{}, values {}/{} ({} clients of the recorded tenant's lists not comparable)",
        c.keys_matched, c.objects, c.values_matched, c.values, c.foreign_list_items
    );
    for f in &out.failures {
        println!("  MISMATCH {f}");
    }
    // Exact figures: a regression (or a change in the recordings) must fail this test.
    assert_eq!(out.total_interactions, 1703, "recordings changed");
    assert!(
        out.failures.is_empty(),
        "{} mismatches:\n{}",
        out.failures.len(),
        out.failures.join("\n")
    );
    assert_eq!((modelled.matched, modelled.total), EXPECTED_MODELLED);
    assert_eq!(
        (out.status_matched, modelled.total),
        EXPECTED_STATUS,
        "statuses"
    );
    assert_eq!(
        (c.keys_matched, c.objects),
        EXPECTED_CLIENT_KEYS,
        "client answers' keys"
    );
    assert_eq!(
        (c.values_matched, c.values),
        EXPECTED_CLIENT_VALUES,
        "client answers' values"
    );
    assert_eq!(skipped, EXPECTED_NOT_MODELLED);
    for (cat, want) in EXPECTED_PER_CATEGORY {
        let t = out.per_category[cat];
        assert_eq!((t.matched, t.total), *want, "category {cat}");
    }
}

const EXPECTED_MODELLED: (usize, usize) = (1626, 1626);
const EXPECTED_STATUS: (usize, usize) = (1626, 1626);
const EXPECTED_NOT_MODELLED: usize = 77;
const EXPECTED_CLIENT_KEYS: (usize, usize) = (960, 960);
const EXPECTED_CLIENT_VALUES: (usize, usize) = (12963, 12963);
const EXPECTED_PER_CATEGORY: &[(&str, (usize, usize))] = &[
    ("clients", (1012, 1012)),
    ("client-credentials", (201, 201)),
    ("client-grants", (62, 62)),
    ("resource-servers", (351, 351)),
];
