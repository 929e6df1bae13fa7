//! Every spec field of every managed kind reaches Auth0.
//!
//! `Auth0Client.requirePushedAuthorizationRequests` was once declared, documented and accepted
//! by the API server, and never sent to Auth0 (no request model, no diff, no listing field).
//! This test makes that impossible to repeat without a red test:
//!
//! 1. It walks each managed kind's CRD schema (`openAPIV3Schema.properties.spec`, generated from
//!    the Rust types, so no hand-written field list) and generates two full specs: every
//!    property set, recursively into objects, arrays of objects and maps, with a different value
//!    for every leaf in variant 2 (booleans flipped, other integers, other strings, another enum
//!    value). Mutually exclusive fields are covered by one case per alternative.
//! 2. Every leaf is either sent to Auth0 at its snake_case path (or at the path named in
//!    [`KindRules::renamed`]), or listed as operator-only with a reason. Fields that can only be
//!    set at creation are listed as create-only. Tables naming a field the schema no longer has
//!    fail the test, so they cannot rot.
//! 3. Create: the create body built from variant 1 holds every non-operator-only leaf's value
//!    (lists compare as sets; maps: every user key with its value).
//! 4. PATCH: with variant 1's create body as what Auth0 has (read back through the response
//!    model, and for clients through the listing's `fields=` projection), the update for variant
//!    2 holds every leaf that is neither operator-only nor create-only, with variant 2's value; the
//!    update for variant 1 against the same state is empty (no perpetual diff).
//!
//! A new spec field therefore fails here until the builders in `controller::build` send it (or
//! it is listed below as operator-only, with its reason).

use std::collections::{BTreeMap, BTreeSet};

use auth0_operator::{
    auth0::{Client, ClientGrant, ResourceServer},
    controller::inventory::CLIENT_FIELDS,
    crd::{Auth0Client, Auth0ClientGrantSpec, Auth0ClientSpec, Auth0ResourceServerSpec},
};
use serde_json::{Map, Value, json};

// ---------------------------------------------------------------------------------------------
// The tables
// ---------------------------------------------------------------------------------------------

/// What the test needs to know about a managed kind beyond its schema. Paths are relative to
/// `spec`, `.` between properties, `[]` for the items of an array (`scopes[].value`); an entry
/// covers the whole subtree under it.
struct KindRules {
    kind: &'static str,
    /// Fields the operator acts on itself and never sends to Auth0, each with the reason.
    operator_only: &'static [(&'static str, &'static str)],
    /// Fields sent on create and immutable afterwards (never in a PATCH body), with the reason.
    create_only: &'static [(&'static str, &'static str)],
    /// Fields whose Auth0 name is not the snake_case of the CRD name: (CRD path, Auth0 path).
    renamed: &'static [(&'static str, &'static str)],
    /// Groups of top-level fields of which exactly one is set (each alternative gets a case).
    exclusive: &'static [&'static [&'static str]],
    /// The `fields=` projection the operator lists these objects with (what it sees of them).
    listing: Option<&'static [&'static str]>,
    /// Builds the Auth0 bodies for (variant 1, variant 2).
    bodies: fn(&Value, &Value) -> Bodies,
}

/// The managed kinds. `Auth0Tenant` and `ClusterAuth0Tenant` are left out on purpose: they tell
/// the operator how to reach a tenant (domain, credentials Secret, rate limit, allowed
/// namespaces) and create nothing in Auth0, so none of their fields has a request body to reach.
const KINDS: &[KindRules] = &[
    KindRules {
        kind: "Auth0Client",
        operator_only: &[
            (
                "tenantRef",
                "selects the tenant (and its credentials) the operator talks to",
            ),
            (
                "deletionPolicy",
                "decides whether the operator deletes the client on removal",
            ),
            (
                "secretName",
                "names the Kubernetes Secret the credentials are written to",
            ),
            (
                "secretTemplate",
                "shapes the Kubernetes Secret the credentials are written to",
            ),
            (
                "authentication",
                "reaches Auth0 as registered keys and client_authentication_methods, not as a client body field (tests/rotation.rs)",
            ),
            (
                "rotation",
                "decides when the operator rotates the credential (tests/rotation.rs)",
            ),
            (
                "managementPolicy",
                "decides whether the operator writes to Auth0 at all (tests/import.rs)",
            ),
            (
                "clientId",
                "adopts an existing client by id instead of creating one",
            ),
            (
                "connections",
                "reaches Auth0 on the per-connection endpoints (PATCH /connections/{id}/clients), not as a client body field (tests/connections.rs)",
            ),
        ],
        create_only: &[],
        renamed: &[],
        exclusive: &[],
        listing: Some(CLIENT_FIELDS),
        bodies: client_bodies,
    },
    KindRules {
        kind: "Auth0ClientGrant",
        operator_only: &[
            (
                "managementPolicy",
                "decides whether the operator writes to Auth0 at all (tests/import.rs)",
            ),
            (
                "grantId",
                "adopts an existing grant by id instead of creating one",
            ),
            (
                "tenantRef",
                "selects the tenant (and its credentials) the operator talks to",
            ),
            (
                "deletionPolicy",
                "decides whether the operator deletes the grant on removal",
            ),
            (
                "clientRef",
                "resolved by the operator to the referenced Auth0Client's client id",
            ),
            (
                "resourceServerRef",
                "resolved by the operator to the referenced Auth0ResourceServer's identifier",
            ),
        ],
        create_only: &[
            (
                "clientId",
                "a grant's client cannot change (Auth0 has no client_id in its PATCH)",
            ),
            (
                "audience",
                "a grant's API cannot change (Auth0 has no audience in its PATCH)",
            ),
        ],
        renamed: &[("scopes", "scope")],
        exclusive: &[
            &["clientRef", "clientId"],
            &["audience", "resourceServerRef"],
        ],
        listing: None,
        bodies: grant_bodies,
    },
    KindRules {
        kind: "Auth0ResourceServer",
        operator_only: &[
            (
                "managementPolicy",
                "decides whether the operator writes to Auth0 at all (tests/import.rs)",
            ),
            (
                "tenantRef",
                "selects the tenant (and its credentials) the operator talks to",
            ),
            (
                "deletionPolicy",
                "decides whether the operator deletes the API on removal",
            ),
            (
                "adopt",
                "lets the operator take over an existing API with the same identifier",
            ),
            (
                "allowedConsumers",
                "the namespaces whose grants may use the API (the trust boundary; tests/trust_boundary.rs)",
            ),
        ],
        create_only: &[(
            "identifier",
            "Auth0 cannot change an API's identifier (not in its PATCH)",
        )],
        renamed: &[],
        exclusive: &[],
        listing: None,
        bodies: resource_server_bodies,
    },
];

const TENANT_KINDS: &[&str] = &["Auth0Tenant", "ClusterAuth0Tenant"];

// ---------------------------------------------------------------------------------------------
// The builders, called as the operator calls them
// ---------------------------------------------------------------------------------------------

/// The bodies built for one case.
struct Bodies {
    /// The create body for variant 1.
    create: Value,
    /// The PATCH body for variant 2 against variant 1's create body as Auth0's state.
    patch: Value,
    /// The PATCH body for variant 1 against the same state, when not empty.
    idle_patch: Option<Value>,
}

/// Deserializes a generated spec; the generator only produces schema-valid JSON, so a failure
/// means the Rust type and its schema disagree.
fn spec_of<T: serde::de::DeserializeOwned>(kind: &str, v: &Value) -> T {
    serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("{kind}: generated spec does not deserialize ({e}): {v:#}"))
}

fn to_json<T: serde::Serialize>(body: &T) -> Value {
    serde_json::to_value(body).expect("request bodies serialize")
}

/// `body` plus `extra`, read back through a response model (what a GET would give).
fn as_observed<T: serde::de::DeserializeOwned>(body: &Value, extra: Value) -> T {
    let mut state = body.as_object().expect("bodies are objects").clone();
    state.extend(extra.as_object().expect("extra is an object").clone());
    serde_json::from_value(Value::Object(state)).expect("a create body reads as a response")
}

fn client_bodies(v1: &Value, v2: &Value) -> Bodies {
    // The credential lifecycle fields (operator-only above, tested in tests/rotation.rs) hold
    // durations and a method the generator's strings cannot make valid: left out here.
    let lifecycle_free = |v: &Value| {
        let mut v = v.clone();
        if let Some(o) = v.as_object_mut() {
            o.remove("authentication");
            o.remove("rotation");
        }
        v
    };
    let (v1, v2) = (&lifecycle_free(v1), &lifecycle_free(v2));
    let (s1, s2): (Auth0ClientSpec, Auth0ClientSpec) =
        (spec_of("Auth0Client", v1), spec_of("Auth0Client", v2));
    for s in [&s1, &s2] {
        auth0_operator::controller::client::spec::validate_client_spec(s)
            .expect("the generated Auth0Client spec is valid");
    }
    let mut cr = Auth0Client::new("every-field", s1.clone());
    cr.metadata.namespace = Some("team-a".into());
    cr.metadata.uid = Some("uid-every-field".into());
    let tags = auth0_operator::controller::client::spec::ownership_tags(&cr);
    let create = to_json(&auth0_operator::controller::client::spec::client_create(
        &s1,
        tags.clone(),
    ));
    // The operator sees clients through its listing, which asks only for CLIENT_FIELDS.
    let mut listed = create.as_object().unwrap().clone();
    listed.retain(|k, _| CLIENT_FIELDS.contains(&k.as_str()));
    let observed: Client = as_observed(&Value::Object(listed), json!({"client_id": "c-1"}));
    let idle = auth0_operator::controller::client::spec::client_update(&s1, &tags, &observed);
    Bodies {
        create,
        patch: to_json(&auth0_operator::controller::client::spec::client_update(
            &s2, &tags, &observed,
        )),
        idle_patch: (!idle.is_empty()).then(|| to_json(&idle)),
    }
}

/// What the operator resolves `clientRef` / `resourceServerRef` to.
const RESOLVED_CLIENT_ID: &str = "resolved-client-id";
const RESOLVED_AUDIENCE: &str = "https://resolved.example.com/";

fn grant_bodies(v1: &Value, v2: &Value) -> Bodies {
    let (s1, s2): (Auth0ClientGrantSpec, Auth0ClientGrantSpec) = (
        spec_of("Auth0ClientGrant", v1),
        spec_of("Auth0ClientGrant", v2),
    );
    for s in [&s1, &s2] {
        auth0_operator::controller::grant::spec::validate_grant_spec(s, None)
            .expect("the generated Auth0ClientGrant spec is valid");
    }
    let client_id = s1.client_id.as_deref().unwrap_or(RESOLVED_CLIENT_ID);
    let audience = s1.audience.as_deref().unwrap_or(RESOLVED_AUDIENCE);
    let create = to_json(&auth0_operator::controller::grant::spec::grant_create(
        &s1, client_id, audience,
    ));
    let observed: ClientGrant = as_observed(&create, json!({"id": "cgr_1"}));
    let idle = auth0_operator::controller::grant::spec::grant_update(&s1, &observed);
    Bodies {
        create,
        patch: to_json(&auth0_operator::controller::grant::spec::grant_update(
            &s2, &observed,
        )),
        idle_patch: (!idle.is_empty()).then(|| to_json(&idle)),
    }
}

fn resource_server_bodies(v1: &Value, v2: &Value) -> Bodies {
    let (s1, s2): (Auth0ResourceServerSpec, Auth0ResourceServerSpec) = (
        spec_of("Auth0ResourceServer", v1),
        spec_of("Auth0ResourceServer", v2),
    );
    for s in [&s1, &s2] {
        auth0_operator::controller::resource_server::spec::validate_resource_server_spec(s, None)
            .expect("the generated Auth0ResourceServer spec is valid");
    }
    let create =
        to_json(&auth0_operator::controller::resource_server::spec::resource_server_create(&s1));
    let observed: ResourceServer = as_observed(&create, json!({"id": "rs_1"}));
    let idle =
        auth0_operator::controller::resource_server::spec::resource_server_update(&s1, &observed);
    Bodies {
        create,
        patch: to_json(
            &auth0_operator::controller::resource_server::spec::resource_server_update(
                &s2, &observed,
            ),
        ),
        idle_patch: (!idle.is_empty()).then(|| to_json(&idle)),
    }
}

// ---------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------

/// One step of a path through a spec (or a body).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Seg {
    Prop(String),
    /// Every item of an array.
    Item,
}

type Path = Vec<Seg>;

fn show(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Prop(p) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(p);
            }
            Seg::Item => s.push_str("[]"),
        }
    }
    s
}

fn parse(s: &str) -> Path {
    let mut path = Vec::new();
    for part in s.split('.') {
        let mut name = part;
        let mut items = 0;
        while let Some(rest) = name.strip_suffix("[]") {
            name = rest;
            items += 1;
        }
        path.push(Seg::Prop(name.to_string()));
        path.extend(std::iter::repeat_n(Seg::Item, items));
    }
    path
}

fn snake_case(camel: &str) -> String {
    let mut out = String::new();
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The Auth0 path of a spec path: the longest renamed prefix, then snake_case for the rest.
fn auth0_path(rules: &KindRules, path: &[Seg]) -> Path {
    let (prefix, target) = rules
        .renamed
        .iter()
        .map(|(from, to)| (parse(from), parse(to)))
        .filter(|(from, _)| path.starts_with(from))
        .max_by_key(|(from, _)| from.len())
        .unwrap_or_default();
    let rest = path[prefix.len()..].iter().map(|seg| match seg {
        Seg::Prop(p) => Seg::Prop(snake_case(p)),
        Seg::Item => Seg::Item,
    });
    target.into_iter().chain(rest).collect()
}

fn listed_in(table: &[(&str, &str)], path: &[Seg]) -> bool {
    table.iter().any(|(p, _)| path.starts_with(&parse(p)))
}

/// Every value at `path` (arrays fan out at `[]`).
fn values_at(v: &Value, path: &[Seg]) -> Vec<Value> {
    match path.split_first() {
        None => vec![v.clone()],
        Some((Seg::Prop(p), rest)) => v.get(p).map(|x| values_at(x, rest)).unwrap_or_default(),
        Some((Seg::Item, rest)) => v
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|x| values_at(x, rest))
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Walking the schema and generating specs
// ---------------------------------------------------------------------------------------------

/// How a leaf's value is compared with the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// A boolean, integer or string (as a set when under an array of objects).
    Scalar,
    /// An array of scalars, compared as a set.
    List,
    /// A map (`additionalProperties`): every key of the spec with its value.
    Map,
}

/// One walk of a spec schema, generating the spec of one variant (1 or 2).
struct Walk {
    variant: u8,
    /// Makes every generated integer different from every other.
    counter: i64,
    leaves: BTreeMap<Path, Shape>,
    /// Every node visited (for the table checks).
    nodes: BTreeSet<Path>,
}

impl Walk {
    fn new(variant: u8) -> Self {
        Walk {
            variant,
            counter: 0,
            leaves: BTreeMap::new(),
            nodes: BTreeSet::new(),
        }
    }

    fn value(&mut self, schema: &Value, path: &Path) -> Value {
        self.nodes.insert(path.clone());
        let at = show(path);
        match schema["type"].as_str() {
            Some("object") => {
                if let Some(props) = schema["properties"].as_object() {
                    let mut out = Map::new();
                    for (name, sub) in props {
                        let mut p = path.clone();
                        p.push(Seg::Prop(name.clone()));
                        out.insert(name.clone(), self.value(sub, &p));
                    }
                    Value::Object(out)
                } else if schema["additionalProperties"].is_object() {
                    self.leaves.insert(path.clone(), Shape::Map);
                    let values = &schema["additionalProperties"];
                    let slug = slug(path);
                    let keys = [
                        format!("{slug}-shared"),
                        format!("{slug}-only-v{}", self.variant),
                    ];
                    let mut out = Map::new();
                    for (n, key) in keys.into_iter().enumerate() {
                        out.insert(key, self.scalar(values, path, n));
                    }
                    Value::Object(out)
                } else {
                    panic!("spec.{at}: an object with neither properties nor additionalProperties")
                }
            }
            Some("array") => {
                let items = &schema["items"];
                let mut item_path = path.clone();
                item_path.push(Seg::Item);
                if items["type"] == "object" {
                    Value::Array((0..2).map(|_| self.value(items, &item_path)).collect())
                } else {
                    self.nodes.insert(item_path);
                    self.leaves.insert(path.clone(), Shape::List);
                    Value::Array((0..2).map(|n| self.scalar(items, path, n)).collect())
                }
            }
            _ => {
                self.leaves.insert(path.clone(), Shape::Scalar);
                self.scalar(schema, path, 0)
            }
        }
    }

    /// A scalar for the `n`th item (or key) at `path`, different in each variant.
    fn scalar(&mut self, schema: &Value, path: &Path, n: usize) -> Value {
        let at = show(path);
        let v = usize::from(self.variant - 1);
        if let Some(allowed) = schema["enum"].as_array() {
            assert!(
                allowed.len() >= 2,
                "spec.{at}: an enum with one value cannot differ between variants"
            );
            return allowed[(v + n) % allowed.len()].clone();
        }
        self.counter += 1;
        match schema["type"].as_str() {
            Some("boolean") => Value::Bool(self.variant == 1),
            Some("integer") => {
                let min = schema["minimum"].as_f64().unwrap_or(0.0) as i64;
                let value = min + 10 * self.counter + i64::from(self.variant);
                if let Some(max) = schema["maximum"].as_f64() {
                    assert!(
                        value <= max as i64,
                        "spec.{at}: {value} is over the maximum"
                    );
                }
                json!(value)
            }
            Some("string") => {
                let value = format!("v{}-{}-{}", self.variant, slug(path), self.counter);
                if let Some(max) = schema["maxLength"].as_u64() {
                    assert!(value.len() as u64 <= max, "spec.{at}: {value} is too long");
                }
                json!(value)
            }
            other => panic!("spec.{at}: type {other:?} is not supported by this test; extend it"),
        }
    }
}

/// Lowercase letters, digits and single dashes: valid for every string pattern in the specs
/// (DNS names, client ids, metadata keys, names).
fn slug(path: &[Seg]) -> String {
    show(path)
        .to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

// ---------------------------------------------------------------------------------------------
// Comparing
// ---------------------------------------------------------------------------------------------

/// Why `got` (the values at the mapped path of a body) does not hold `want` (the spec's).
fn mismatch(shape: Shape, want: &[Value], got: &[Value]) -> Option<String> {
    if got.is_empty() || got.iter().all(Value::is_null) {
        return Some("is missing".to_string());
    }
    let set = |vs: &[Value], flatten: bool| -> BTreeSet<String> {
        vs.iter()
            .flat_map(|v| match (flatten, v) {
                (true, Value::Array(items)) => items.clone(),
                _ => vec![v.clone()],
            })
            .map(|v| v.to_string())
            .collect()
    };
    match shape {
        Shape::Scalar | Shape::List => {
            let flatten = shape == Shape::List;
            let (want, got) = (set(want, flatten), set(got, flatten));
            let show = |s: BTreeSet<String>| s.into_iter().collect::<Vec<_>>().join(", ");
            (want != got).then(|| format!("is {}, expected {}", show(got), show(want)))
        }
        Shape::Map => {
            let merged = |vs: &[Value]| -> Map<String, Value> {
                vs.iter()
                    .filter_map(Value::as_object)
                    .flat_map(|m| m.clone())
                    .collect()
            };
            let (want, got) = (merged(want), merged(got));
            let wrong: Vec<String> = want
                .iter()
                .filter(|(k, v)| got.get(*k) != Some(v))
                .map(|(k, v)| format!("{k}: {v} (found {:?})", got.get(k)))
                .collect();
            (!wrong.is_empty()).then(|| format!("lacks {}", wrong.join(", ")))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

fn spec_schemas(kind: &str) -> Vec<Value> {
    let crd = auth0_operator::controller::kinds::crds()
        .into_iter()
        .find(|c| c.spec.names.kind == kind)
        .unwrap_or_else(|| panic!("no CRD for {kind}"));
    crd.spec
        .versions
        .iter()
        .map(|v| {
            let schema = v
                .schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref())
                .unwrap_or_else(|| panic!("{kind} {} has no schema", v.name));
            serde_json::to_value(schema).unwrap()["properties"]["spec"].clone()
        })
        .collect()
}

/// Each combination of one field per exclusive group: (fields to keep out of the spec).
fn cases(rules: &KindRules) -> Vec<Vec<&'static str>> {
    let mut cases: Vec<Vec<&'static str>> = vec![vec![]];
    for group in rules.exclusive {
        cases = cases
            .into_iter()
            .flat_map(|dropped| {
                group.iter().map(move |chosen| {
                    let mut d = dropped.clone();
                    d.extend(group.iter().filter(|f| *f != chosen));
                    d
                })
            })
            .collect();
    }
    cases
}

/// Field counts of one kind, printed for the record.
#[derive(Debug, Default)]
struct Counts {
    leaves: usize,
    mapped: usize,
    operator_only: usize,
    create_only: usize,
}

fn check_kind(rules: &KindRules, schema: &Value, problems: &mut Vec<String>) -> Counts {
    let kind = rules.kind;
    let mut problem = |p: String| problems.push(format!("{kind} {p}"));
    let (mut w1, mut w2) = (Walk::new(1), Walk::new(2));
    let root = Path::new();
    let full1 = w1.value(schema, &root);
    let full2 = w2.value(schema, &root);
    assert_eq!(
        w1.leaves, w2.leaves,
        "{kind}: both variants walk the same leaves"
    );
    assert!(
        !w1.leaves.is_empty(),
        "{kind}: the walk found no spec fields"
    );

    // The tables name only fields the schema has (they cannot rot).
    let tables = [
        ("operator-only", rules.operator_only),
        ("create-only", rules.create_only),
    ];
    for (table, entries) in tables {
        for (field, _) in entries {
            if !w1.nodes.contains(&parse(field)) {
                problem(format!(
                    "spec.{field} is in the {table} table but not in the schema"
                ));
            }
        }
    }
    for (field, to) in rules.renamed {
        if !w1.nodes.contains(&parse(field)) {
            problem(format!(
                "spec.{field} is in the renamed table but not in the schema"
            ));
        } else if auth0_path(
            &KindRules {
                renamed: &[],
                ..*rules
            },
            &parse(field),
        ) == parse(to)
        {
            problem(format!(
                "spec.{field} is renamed to {to}, which is its default name"
            ));
        }
    }
    for field in rules.exclusive.iter().flat_map(|g| g.iter()) {
        if !w1.nodes.contains(&parse(field)) {
            problem(format!(
                "spec.{field} is in an exclusive group but not in the schema"
            ));
        }
    }
    for (field, _) in rules.create_only {
        if listed_in(rules.operator_only, &parse(field)) {
            problem(format!(
                "spec.{field} is both operator-only and create-only"
            ));
        }
    }

    let mut counts = Counts {
        leaves: w1.leaves.len(),
        ..Counts::default()
    };
    let mut visited = BTreeSet::new();
    for dropped in cases(rules) {
        let case = |full: &Value| {
            let mut spec = full.clone();
            for field in &dropped {
                spec.as_object_mut().unwrap().remove(*field);
            }
            spec
        };
        let (v1, v2) = (case(&full1), case(&full2));
        let bodies = (rules.bodies)(&v1, &v2);
        let label = if dropped.is_empty() {
            String::new()
        } else {
            format!(" (without {})", dropped.join(", "))
        };
        if let Some(idle) = &bodies.idle_patch {
            problem(format!(
                "spec{label}: the update for the unchanged spec against what Auth0 has is not \
                 empty (a perpetual diff): {idle}"
            ));
        }
        for (path, &shape) in &w1.leaves {
            let want1 = values_at(&v1, path);
            if want1.is_empty() {
                continue; // left out in this case
            }
            visited.insert(path.clone());
            let field = format!("spec.{}", show(path));
            let to = auth0_path(rules, path);
            let shown = show(&to);
            if listed_in(rules.operator_only, path) {
                // Operator-only really means it: Auth0 is never told.
                if !values_at(&bodies.create, &to).is_empty() {
                    problem(format!(
                        "{field} is listed as operator-only but the create body has {shown}"
                    ));
                }
                continue;
            }
            if let Some(why) = mismatch(shape, &want1, &values_at(&bodies.create, &to)) {
                problem(format!(
                    "{field} did not reach the create body{label}: {shown} {why}"
                ));
            }
            if let (Some(listing), Some(Seg::Prop(top))) = (rules.listing, to.first())
                && !listing.contains(&top.as_str())
            {
                problem(format!(
                    "{field}: {top} is not in the listing's fields= projection, so the \
                     operator never sees what Auth0 has and would PATCH it forever"
                ));
            }
            let in_patch = values_at(&bodies.patch, &to);
            if listed_in(rules.create_only, path) {
                if !in_patch.is_empty() {
                    problem(format!(
                        "{field} is create-only but the PATCH body{label} has {shown}"
                    ));
                }
                continue;
            }
            if let Some(why) = mismatch(shape, &values_at(&v2, path), &in_patch) {
                problem(format!(
                    "{field} did not reach the PATCH body{label}: {shown} {why}"
                ));
            }
        }
    }
    for path in w1.leaves.keys() {
        if !visited.contains(path) {
            problem(format!("spec.{} is set in no case", show(path)));
        }
        if listed_in(rules.operator_only, path) {
            counts.operator_only += 1;
        } else {
            counts.mapped += 1;
            if listed_in(rules.create_only, path) {
                counts.create_only += 1;
            }
        }
    }
    counts
}

#[test]
fn every_spec_field_reaches_the_create_and_patch_bodies() {
    // Every CRD is either a managed kind checked here or a tenant kind (see KINDS).
    let all: BTreeSet<String> = auth0_operator::controller::kinds::crds()
        .iter()
        .map(|c| c.spec.names.kind.clone())
        .collect();
    let known: BTreeSet<String> = KINDS
        .iter()
        .map(|k| k.kind)
        .chain(TENANT_KINDS.iter().copied())
        .map(String::from)
        .collect();
    assert_eq!(
        all, known,
        "a kind was added or removed: add it to KINDS (or TENANT_KINDS if it creates nothing in Auth0)"
    );

    let mut problems = Vec::new();
    for rules in KINDS {
        for schema in spec_schemas(rules.kind) {
            let c = check_kind(rules, &schema, &mut problems);
            println!(
                "{}: {} leaves walked, {} mapped (of which {} create-only), {} operator-only",
                rules.kind, c.leaves, c.mapped, c.create_only, c.operator_only
            );
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

/// The walk itself: the generator covers nested objects, arrays of objects and maps, and the
/// two variants differ in every leaf.
#[test]
fn the_walk_sets_every_leaf_and_varies_it() {
    let schema = json!({"type": "object", "properties": {
        "flag": {"type": "boolean"},
        "count": {"type": "integer", "minimum": 1, "maximum": 100},
        "kind": {"type": "string", "enum": ["a", "b"]},
        "nested": {"type": "object", "properties": {"name": {"type": "string"}}},
        "list": {"type": "array", "items": {"type": "string"}},
        "objects": {"type": "array", "items": {"type": "object", "properties": {
            "value": {"type": "string"}}}},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}}
    }});
    let (mut w1, mut w2) = (Walk::new(1), Walk::new(2));
    let v1 = w1.value(&schema, &Path::new());
    let v2 = w2.value(&schema, &Path::new());
    let leaves: Vec<String> = w1.leaves.keys().map(|p| show(p)).collect();
    assert_eq!(
        leaves,
        [
            "count",
            "flag",
            "kind",
            "labels",
            "list",
            "nested.name",
            "objects[].value"
        ]
    );
    for (path, &shape) in &w1.leaves {
        let (a, b) = (values_at(&v1, path), values_at(&v2, path));
        assert!(!a.is_empty(), "{} is not set", show(path));
        assert!(
            mismatch(shape, &b, &a).is_some(),
            "{} is the same in both variants",
            show(path)
        );
        assert!(mismatch(shape, &a, &a).is_none(), "{}", show(path));
    }
    assert_eq!(
        auth0_path(&KINDS[1], &parse("scopes")),
        parse("scope"),
        "renames apply"
    );
    assert_eq!(
        show(&auth0_path(
            &KINDS[0],
            &parse("refreshToken.idleTokenLifetime")
        )),
        "refresh_token.idle_token_lifetime"
    );
}

/// The tables cannot rot: an entry naming a field the schema does not have is a failure.
#[test]
fn tables_naming_missing_fields_fail() {
    let stale = KindRules {
        operator_only: &[
            ("tenantRef", "-"),
            ("deletionPolicy", "-"),
            ("adopt", "-"),
            ("allowedConsumers", "-"),
            ("managementPolicy", "-"),
            ("noLongerThere", "-"),
        ],
        create_only: &[("identifier", "-"), ("scopes[].gone", "-")],
        renamed: &[("tokenDialect", "token_dialect")],
        ..KINDS[2]
    };
    let mut problems = Vec::new();
    for schema in spec_schemas(stale.kind) {
        check_kind(&stale, &schema, &mut problems);
    }
    assert_eq!(
        problems,
        [
            "Auth0ResourceServer spec.noLongerThere is in the operator-only table but not in the schema",
            "Auth0ResourceServer spec.scopes[].gone is in the create-only table but not in the schema",
            "Auth0ResourceServer spec.tokenDialect is renamed to token_dialect, which is its default name",
        ]
    );
}
