//! Checking the simulator's access tokens the way a workload's API would: the RS256 signature
//! against the published keys (with `ring`, not with the signer's own crate), then the claims;
//! and RSA key pairs for private-key JWT.

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

/// An RSA key pair as PEM: (PKCS#8 private key, PKCS#1 private key, public key).
pub fn pem_key_pair() -> (String, String, String) {
    use rsa::pkcs1::EncodeRsaPrivateKey as _;
    use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _};
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let pem = |label: &str, der: &[u8]| {
        pem::encode_config(
            &pem::Pem::new(label, der),
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        )
    };
    (
        pem("PRIVATE KEY", private.to_pkcs8_der().unwrap().as_bytes()),
        pem(
            "RSA PRIVATE KEY",
            private.to_pkcs1_der().unwrap().as_bytes(),
        ),
        pem(
            "PUBLIC KEY",
            private
                .to_public_key()
                .to_public_key_der()
                .unwrap()
                .as_bytes(),
        ),
    )
}

/// A private-key JWT client assertion (RFC 7523) the way a workload makes one from what the
/// credentials Secret holds: PKCS#8 `pem`, `kid`, `alg` (RS256, RS384 or PS256); `iss` = `sub`
/// = `client_id`, `aud` = `https://{domain}/`, one minute, a fresh `jti`. Signed with ring.
pub fn client_assertion(pem: &str, kid: &str, alg: &str, client_id: &str, domain: &str) -> String {
    use ring::rand::SecureRandom as _;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("PEM base64");
    let key = ring::signature::RsaKeyPair::from_pkcs8(&der).expect("a PKCS#8 RSA key");
    let rng = ring::rand::SystemRandom::new();
    let mut jti = [0u8; 16];
    rng.fill(&mut jti).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = serde_json::json!({"alg": alg, "typ": "JWT", "kid": kid});
    let claims = serde_json::json!({
        "iss": client_id, "sub": client_id, "aud": format!("https://{domain}/"),
        "iat": now, "exp": now + 60, "jti": URL_SAFE_NO_PAD.encode(jti),
    });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let padding: &dyn ring::signature::RsaEncoding = match alg {
        "RS256" => &ring::signature::RSA_PKCS1_SHA256,
        "RS384" => &ring::signature::RSA_PKCS1_SHA384,
        "PS256" => &ring::signature::RSA_PSS_SHA256,
        other => panic!("unsupported alg {other}"),
    };
    let mut sig = vec![0u8; key.public().modulus_len()];
    key.sign(padding, &rng, input.as_bytes(), &mut sig)
        .expect("signed");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}
