//! auth0-operator: reconciles `Auth0Client` and `Auth0ClientGrant` custom resources against the
//! Auth0 Management API v2.

pub mod auth0;
pub mod config;
pub mod crd;

#[cfg(feature = "sim")]
pub mod sim;

#[cfg(feature = "envtest")]
pub mod envtest;
