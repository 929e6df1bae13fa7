//! The credentials Secret of an `Auth0Client`: its shape ([`shape`], pure), its keys and
//! templates ([`template`], pure) and its guarded writes and deletes ([`store`]).

pub mod shape;
pub mod store;
pub mod template;
