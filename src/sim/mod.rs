//! Auth0 simulator
