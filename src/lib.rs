//! auth0-operator: reconciles `Auth0Client` and `Auth0ClientGrant` custom resources against the
//! Auth0 Management API v2.

pub mod auth0;

#[cfg(feature = "sim")]
pub mod sim;
