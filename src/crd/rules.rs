//! The sentences of the CRDs' CEL rules (`x-kubernetes-validations[].message`), in one place.
//!
//! API servers before 1.25 drop CEL rules, so the operator refuses the same specs itself
//! (`Ready=False`, reason `InvalidSpec`) with a message that starts with, or carries, the same
//! sentence: a user reads the same words whichever side refused. `tests/cel_rules.rs` proves each
//! rule on the API server (422) and in the operator (`InvalidSpec`).

/// `Auth0Client.spec`: `clientId` cannot be added, removed or changed.
pub const CLIENT_ID_IMMUTABLE: &str =
    "clientId is immutable: it can only be set when the resource is created";
/// `Auth0Client.spec`: `clientMetadata` keys under the operator's prefix.
pub const CLIENT_METADATA_RESERVED: &str =
    "clientMetadata keys starting with k8s_operator_ are reserved for the operator";
/// `Auth0Client.spec`: a public application with the client-credentials grant.
pub const PUBLIC_APP_CLIENT_CREDENTIALS: &str =
    "tokenEndpointAuthMethod none (a public application) cannot use the client_credentials grant";
/// `spec.tenantRef` of every managed kind.
pub const TENANT_REF_IMMUTABLE: &str = "tenantRef is immutable";
/// `Auth0Client.spec`: `tokenEndpointAuthMethod` with `privateKeyJwt`.
pub const AUTH_METHOD_WITH_PRIVATE_KEY_JWT: &str = "tokenEndpointAuthMethod cannot be set with authentication.method privateKeyJwt (Auth0 keeps the two apart)";
/// `Auth0Client.spec`: `rotation.strategy` with `privateKeyJwt`.
pub const ROTATION_STRATEGY_CLIENT_SECRET_ONLY: &str = "rotation.strategy is for the clientSecret method only: private-key JWT rotations always overlap";
/// `Auth0Client.spec`: template variables of the other authentication method.
pub const TEMPLATE_VARIABLES_OF_METHOD: &str = "secretTemplate.data may use $(clientSecret) only with authentication.method clientSecret, and $(privateKey), $(keyId) and $(algorithm) only with privateKeyJwt";
/// `Auth0Client.spec`: `Observe` with rotation or a key to register.
pub const OBSERVE_CANNOT_ROTATE: &str = "managementPolicy Observe cannot rotate credentials or register keys: remove rotation and authentication.method privateKeyJwt, or use Manage";
/// `Auth0Client.spec.authentication`.
pub const ALGORITHM_PRIVATE_KEY_JWT_ONLY: &str =
    "authentication.algorithm is for the privateKeyJwt method only";
/// `Auth0Client.spec.rotation`.
pub const ROTATION_EVERY_AT_LEAST_1H: &str = "rotation.every must be at least 1h";
/// `Auth0Client.spec.rotation`.
pub const ROTATION_OVERLAP_SHORTER: &str = "rotation.overlap must be shorter than rotation.every";
/// `Auth0Client.spec.secretTemplate.data`: keys.
pub const TEMPLATE_DATA_KEYS: &str =
    "secretTemplate.data keys must consist of letters, digits, '-', '_' or '.'";
/// `Auth0Client.spec.secretTemplate.data`: values.
pub const TEMPLATE_VARIABLES: &str = "secretTemplate.data may only use the variables $(clientId), $(clientSecret), $(privateKey), $(keyId), $(algorithm), $(domain), $(issuer), $(tokenEndpoint), $(jwksUri) and $(json) ($$ escapes a $)";
/// `Auth0Client.spec.secretTemplate.metadata`: labels.
pub const TEMPLATE_LABELS: &str = "secretTemplate.metadata.labels cannot set app.kubernetes.io/managed-by or keys under auth0.operator.dev/ (the operator's own)";
/// `Auth0Client.spec.secretTemplate.metadata`: annotations.
pub const TEMPLATE_ANNOTATIONS: &str = "secretTemplate.metadata.annotations cannot set keys under auth0.operator.dev/ (the operator's own)";

/// `Auth0Client.spec.secretTemplate.type`.
pub const TEMPLATE_TYPE: &str = "secretTemplate.type must be Opaque or a type outside kubernetes.io/ and k8s.io/ (a Kubernetes type such as kubernetes.io/service-account-token makes the cluster act on the Secret)";
/// `Auth0Client.spec.secretTemplate.metadata`: Kubernetes' own annotations.
pub const TEMPLATE_KUBERNETES_ANNOTATIONS: &str = "secretTemplate.metadata.annotations cannot set keys under kubernetes.io/ or k8s.io/ (Kubernetes acts on them)";

/// `Auth0ClientGrant.spec`.
pub const GRANT_ONE_CLIENT: &str = "exactly one of clientRef and clientId must be set";
/// `Auth0ClientGrant.spec`.
pub const GRANT_CLIENT_ID_IMMUTABLE: &str = "clientId is immutable";
/// `Auth0ClientGrant.spec`.
pub const GRANT_CLIENT_REF_IMMUTABLE: &str = "clientRef is immutable";
/// `Auth0ClientGrant.spec`.
pub const GRANT_ONE_AUDIENCE: &str = "exactly one of audience and resourceServerRef must be set";
/// `Auth0ClientGrant.spec`.
pub const GRANT_AUDIENCE_IMMUTABLE: &str = "audience is immutable";
/// `Auth0ClientGrant.spec`.
pub const GRANT_RESOURCE_SERVER_REF_IMMUTABLE: &str = "resourceServerRef is immutable";
/// `Auth0ClientGrant.spec`.
pub const GRANT_ID_IMMUTABLE: &str =
    "grantId is immutable: it can only be set when the resource is created";

/// `Auth0ResourceServer.spec.identifier`.
pub const IDENTIFIER_IMMUTABLE: &str = "identifier is immutable";

/// `spec.domain` of both tenant kinds.
pub const DOMAIN_IMMUTABLE: &str = "domain is immutable";
