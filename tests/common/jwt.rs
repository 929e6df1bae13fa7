//! Checking the simulator's access tokens the way a workload's API would: the RS256 signature
//! against the published keys (with `ring`, not with the signer's own crate), then the claims.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// The JSON of one base64url segment of a JWT.
pub fn b64url_json(s: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap()
}

/// Checks `token`'s RS256 signature against the JWKS; returns (header, claims).
pub fn verify(token: &str, jwks: &Value) -> Result<(Value, Value), String> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err("not a JWS".into());
    }
    let header = b64url_json(parts[0]);
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .ok_or("no key with this kid")?;
    let n = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(key["e"].as_str().unwrap()).unwrap();
    let sig = URL_SAFE_NO_PAD
        .decode(parts[2])
        .map_err(|e| e.to_string())?;
    ring::signature::RsaPublicKeyComponents { n: &n, e: &e }
        .verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &sig,
        )
        .map_err(|_| "bad signature".to_string())?;
    Ok((header, b64url_json(parts[1])))
}
