//! Request-body validation against the official Management API request schemas.
//!
//! The schemas come from `openapi-subset.json`, extracted from Auth0's OAS 3.1 document by
//! `scripts/extract-openapi-subset.py`. OAS 3.1 schemas are JSON Schema 2020-12 (nullable
//! fields are spelled `type: [.., "null"]`), so each request schema is validated through a
//! root document `{"$ref": "#/components/schemas/<Name>", "components": {..}}`, which makes
//! every `#/components/schemas/...` reference resolvable.
//!
//! Error messages mimic Auth0's (z-schema style): `Payload validation error: '<what>' on
//! property <dotted.path>.` with `errorCode: invalid_body`.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::{Value, json};

/// The official OpenAPI subset (request schemas plus their transitive components).
pub const OPENAPI_SUBSET: &str = include_str!("openapi-subset.json");

/// A request body the simulator validates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestOp {
    /// `POST /api/v2/clients` (`CreateClientRequestContent`)
    CreateClient,
    /// `PATCH /api/v2/clients/{id}` (`UpdateClientRequestContent`)
    UpdateClient,
    /// `POST /api/v2/client-grants` (`CreateClientGrantRequestContent`)
    CreateClientGrant,
    /// `PATCH /api/v2/client-grants/{id}` (`UpdateClientGrantRequestContent`)
    UpdateClientGrant,
    /// `POST /api/v2/resource-servers` (`CreateResourceServerRequestContent`)
    CreateResourceServer,
    /// `PATCH /api/v2/resource-servers/{id}` (`UpdateResourceServerRequestContent`)
    UpdateResourceServer,
    /// `POST /api/v2/clients/{id}/credentials` (`PostClientCredentialRequestContent`)
    CreateClientCredential,
    /// `PATCH /api/v2/clients/{id}/credentials/{credential_id}`
    /// (`PatchClientCredentialRequestContent`)
    UpdateClientCredential,
    /// `PATCH /api/v2/connections/{id}/clients` (`UpdateEnabledClientConnectionsRequestContent`)
    UpdateConnectionClients,
}

impl RequestOp {
    /// The OAS component name of the request schema.
    pub fn schema_name(self) -> &'static str {
        match self {
            RequestOp::CreateClient => "CreateClientRequestContent",
            RequestOp::UpdateClient => "UpdateClientRequestContent",
            RequestOp::CreateClientGrant => "CreateClientGrantRequestContent",
            RequestOp::UpdateClientGrant => "UpdateClientGrantRequestContent",
            RequestOp::CreateResourceServer => "CreateResourceServerRequestContent",
            RequestOp::UpdateResourceServer => "UpdateResourceServerRequestContent",
            RequestOp::CreateClientCredential => "PostClientCredentialRequestContent",
            RequestOp::UpdateClientCredential => "PatchClientCredentialRequestContent",
            RequestOp::UpdateConnectionClients => "UpdateEnabledClientConnectionsRequestContent",
        }
    }

    const ALL: [RequestOp; 9] = [
        RequestOp::CreateClient,
        RequestOp::UpdateClient,
        RequestOp::CreateClientGrant,
        RequestOp::UpdateClientGrant,
        RequestOp::CreateResourceServer,
        RequestOp::UpdateResourceServer,
        RequestOp::CreateClientCredential,
        RequestOp::UpdateClientCredential,
        RequestOp::UpdateConnectionClients,
    ];
}

struct Validators {
    validators: Vec<(RequestOp, jsonschema::Validator)>,
}

fn components() -> &'static Value {
    static C: OnceLock<Value> = OnceLock::new();
    C.get_or_init(|| {
        let doc: Value = serde_json::from_str(OPENAPI_SUBSET).expect("openapi-subset.json is JSON");
        doc.get("components").cloned().expect("components")
    })
}

/// A validator for one component schema of the subset.
fn compile(name: &str) -> Option<jsonschema::Validator> {
    components().get("schemas")?.get(name)?;
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{name}"),
        "components": components(),
    });
    let v = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&root)
        .unwrap_or_else(|e| panic!("schema {name} does not compile: {e}"));
    Some(v)
}

fn validators() -> &'static Validators {
    static V: OnceLock<Validators> = OnceLock::new();
    V.get_or_init(|| {
        let validators = RequestOp::ALL
            .iter()
            .map(|&op| {
                let v = compile(op.schema_name())
                    .unwrap_or_else(|| panic!("schema {} is not in the subset", op.schema_name()));
                (op, v)
            })
            .collect();
        Validators { validators }
    })
}

/// Validates `value` against the component schema `name` of [`OPENAPI_SUBSET`] (request
/// schemas, the response schemas the simulator's answers are checked against, and the enums
/// it checks query parameters with). Returns the first error as
/// `'<what>' on property <dotted.path>` (or `'<what>'` at the root).
///
/// # Panics
/// If `name` is not a schema of the subset.
pub fn validate_schema(name: &str, value: &Value) -> Result<(), String> {
    static CACHE: OnceLock<parking_lot::Mutex<HashMap<String, Arc<jsonschema::Validator>>>> =
        OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let v = {
        let mut c = cache.lock();
        match c.get(name) {
            Some(v) => v.clone(),
            None => {
                let v = Arc::new(
                    compile(name)
                        .unwrap_or_else(|| panic!("schema {name} is not in openapi-subset.json")),
                );
                c.insert(name.to_string(), v.clone());
                v
            }
        }
    };
    match v.iter_errors(value).next() {
        None => Ok(()),
        Some(err) => {
            let (what, path) = describe_error(&err);
            Err(if path.is_empty() {
                format!("'{what}'")
            } else {
                format!("'{what}' on property {path}")
            })
        }
    }
}

/// Validates a request body the way Auth0 does: the official request schema first, then the
/// semantic rules the schema cannot express (client metadata limits; `none` auth method with
/// the `client_credentials` grant). Returns the Auth0-style message on failure.
pub fn validate_request(op: RequestOp, body: &Value) -> Result<(), String> {
    let v = &validators()
        .validators
        .iter()
        .find(|(o, _)| *o == op)
        .expect("validator")
        .1;
    if let Some(err) = v.iter_errors(body).next() {
        return Err(format_error(&err));
    }
    match op {
        RequestOp::CreateClient | RequestOp::UpdateClient => {
            if let Some(md) = body.get("client_metadata") {
                validate_client_metadata(md, op == RequestOp::UpdateClient)?;
            }
            check_auth_method_grants(body)?;
        }
        RequestOp::CreateClientGrant => {
            if body.get("client_id").is_some() && body.get("default_for").is_some() {
                return Err(
                    "Payload validation error: 'client_id and default_for are mutually exclusive'."
                        .into(),
                );
            }
        }
        RequestOp::UpdateClientGrant
        | RequestOp::CreateResourceServer
        | RequestOp::UpdateResourceServer
        | RequestOp::CreateClientCredential
        | RequestOp::UpdateClientCredential
        | RequestOp::UpdateConnectionClients => {}
    }
    Ok(())
}

/// TF #266: "Application must not have Token Endpoint Authentication Method set to "none"
/// when client_credentials grant type is enabled". Applied to a client object (request body
/// or the merged result of a PATCH).
pub fn check_auth_method_grants(client: &Value) -> Result<(), String> {
    let none = client
        .get("token_endpoint_auth_method")
        .and_then(Value::as_str)
        == Some("none");
    let cc = client
        .get("grant_types")
        .and_then(Value::as_array)
        .is_some_and(|g| g.iter().any(|x| x == "client_credentials"));
    if none && cc {
        return Err("Application must not have Token Endpoint Authentication Method set to \"none\" when client_credentials grant type is enabled".into());
    }
    Ok(())
}

/// `client_metadata`: at most 10 keys (the schema checks that), string values of at most
/// 255 characters, keys of at most 255 characters from a restricted set. In a PATCH a
/// `null` value deletes the key.
fn validate_client_metadata(md: &Value, patch: bool) -> Result<(), String> {
    let Some(obj) = md.as_object() else {
        return Ok(()); // the schema already reported a type error
    };
    for (k, v) in obj {
        let prop = format!("client_metadata.{k}");
        if k.chars().count() > 255 {
            return Err(format!(
                "Payload validation error: 'String is too long ({} chars), maximum 255' on property {prop}.",
                k.chars().count()
            ));
        }
        if !k
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":,-+=_*?\"/\\()<>@\t ".contains(c))
        {
            return Err(format!(
                "Payload validation error: 'Invalid character in property name: {k}' on property client_metadata."
            ));
        }
        match v {
            Value::String(s) if s.chars().count() > 255 => {
                return Err(format!(
                    "Payload validation error: 'String is too long ({} chars), maximum 255' on property {prop}.",
                    s.chars().count()
                ));
            }
            Value::String(_) => {}
            Value::Null if patch => {}
            other => {
                return Err(format!(
                    "Payload validation error: 'Expected type string but found type {}' on property {prop}.",
                    json_type(other)
                ));
            }
        }
    }
    Ok(())
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn format_error(err: &jsonschema::ValidationError<'_>) -> String {
    let (what, path) = describe_error(err);
    if path.is_empty() {
        format!("Payload validation error: '{what}'.")
    } else {
        format!("Payload validation error: '{what}' on property {path}.")
    }
}

/// z-schema's wording of the error, and the dotted path of the offending value (empty at the
/// root).
fn describe_error(err: &jsonschema::ValidationError<'_>) -> (String, String) {
    let path: Vec<String> = err
        .instance_path()
        .as_str()
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    let instance: &Value = err.instance();
    let what = match err.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            format!(
                "Additional properties not allowed: {}",
                unexpected.join(",")
            )
        }
        ValidationErrorKind::Required { property } => format!(
            "Missing required property: {}",
            property
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| property.to_string())
        ),
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => t.to_string(),
                TypeKind::Multiple(set) => {
                    let mut names: Vec<String> = set.iter().map(|t| t.to_string()).collect();
                    names.retain(|n| n != "null");
                    names.join(",")
                }
            };
            format!(
                "Expected type {expected} but found type {}",
                json_type(instance)
            )
        }
        ValidationErrorKind::MaxLength { limit } => format!(
            "String is too long ({} chars), maximum {limit}",
            instance.as_str().map(|s| s.chars().count()).unwrap_or(0)
        ),
        ValidationErrorKind::MinLength { limit } => format!(
            "String is too short ({} chars), minimum {limit}",
            instance.as_str().map(|s| s.chars().count()).unwrap_or(0)
        ),
        ValidationErrorKind::Pattern { pattern } => format!(
            "String does not match pattern {pattern}: {}",
            instance.as_str().unwrap_or_default()
        ),
        ValidationErrorKind::Enum { .. } | ValidationErrorKind::Constant { .. } => {
            format!("No enum match for: {instance}")
        }
        ValidationErrorKind::MaxProperties { limit } => format!(
            "Too many properties defined ({}), maximum {limit}",
            instance.as_object().map(|o| o.len()).unwrap_or(0)
        ),
        ValidationErrorKind::MinProperties { limit } => format!(
            "Too few properties defined ({}), minimum {limit}",
            instance.as_object().map(|o| o.len()).unwrap_or(0)
        ),
        ValidationErrorKind::MaxItems { limit } => format!(
            "Array is too long ({}), maximum {limit}",
            instance.as_array().map(|a| a.len()).unwrap_or(0)
        ),
        ValidationErrorKind::MinItems { limit } => format!(
            "Array is too short ({}), minimum {limit}",
            instance.as_array().map(|a| a.len()).unwrap_or(0)
        ),
        ValidationErrorKind::Maximum { limit } => {
            format!("Value {instance} is greater than maximum {limit}")
        }
        ValidationErrorKind::Minimum { limit } => {
            format!("Value {instance} is less than minimum {limit}")
        }
        ValidationErrorKind::OneOfNotValid { .. } | ValidationErrorKind::AnyOf { .. } => {
            "Data does not match any schemas from 'oneOf'".to_string()
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => {
            "Data is valid against more than one schema from 'oneOf'".to_string()
        }
        _ => err.to_string(),
    };
    (what, path.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_compile_and_validate() {
        assert!(validate_request(RequestOp::CreateClient, &json!({"name": "x"})).is_ok());
        let e =
            validate_request(RequestOp::CreateClient, &json!({"name": "x", "foo": 1})).unwrap_err();
        assert_eq!(
            e,
            "Payload validation error: 'Additional properties not allowed: foo'."
        );
        let e = validate_request(
            RequestOp::UpdateClientGrant,
            &json!({"audience": "a", "client_id": "b"}),
        )
        .unwrap_err();
        assert_eq!(
            e,
            "Payload validation error: 'Additional properties not allowed: audience,client_id'."
        );
        assert!(validate_request(RequestOp::UpdateClient, &json!({"refresh_token": null})).is_ok());
        assert!(
            validate_request(RequestOp::UpdateClient, &json!({"cross_origin_loc": null})).is_ok()
        );
        let e = validate_request(RequestOp::CreateClient, &json!({"name": "a<b"})).unwrap_err();
        assert!(e.contains("on property name."), "{e}");
    }
}
