//! Key material the operator makes for applications: RSA key pairs for private-key JWT clients
//! (the private half goes only into the credentials Secret, the public half to Auth0) and
//! client secrets for staged rotations. Nothing here is logged or put in an error message.

use base64::Engine as _;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, Jwk, RSAKeyParameters, RSAKeyType, ThumbprintHash,
};
use rsa::{
    RsaPrivateKey,
    pkcs1::DecodeRsaPrivateKey as _,
    pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, EncodePublicKey as _},
    traits::PublicKeyParts as _,
};

/// RSA modulus size: Auth0 requires at least 2048 bits for private-key JWT.
const RSA_BITS: usize = 2048;

/// The characters of a client secret the operator generates (Auth0's own secrets use the
/// base64url alphabet) and its length.
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
pub const SECRET_LENGTH: usize = 64;

/// A private key as the Secret holds it (PKCS#8 PEM) with what Auth0 and workloads need.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyPair {
    /// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub private_pem: String,
    /// SPKI PEM of the public half, as registered with Auth0.
    pub public_pem: String,
    /// The RFC 7638 JWK thumbprint, which Auth0 uses as the credential's `kid`.
    pub kid: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// `der` as PEM with `label`: 64-column lines, LF line ends.
fn pem(label: &str, der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new(label, der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn from_private(key: &RsaPrivateKey) -> Option<KeyPair> {
    let public = key.to_public_key();
    let jwk = Jwk {
        common: CommonParameters::default(),
        algorithm: AlgorithmParameters::RSA(RSAKeyParameters {
            key_type: RSAKeyType::RSA,
            n: b64url(&public.n().to_bytes_be()),
            e: b64url(&public.e().to_bytes_be()),
        }),
    };
    Some(KeyPair {
        private_pem: pem("PRIVATE KEY", key.to_pkcs8_der().ok()?.as_bytes()),
        public_pem: pem("PUBLIC KEY", public.to_public_key_der().ok()?.as_bytes()),
        kid: jwk.thumbprint(ThumbprintHash::SHA256),
    })
}

/// A new RSA-2048 key pair. CPU-bound (a fraction of a second): run it off the async threads.
pub fn generate() -> KeyPair {
    let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, RSA_BITS)
        .expect("RSA key generation with the OS random source");
    from_private(&key).expect("a generated RSA key encodes")
}

/// [`generate`] on the blocking pool.
pub async fn generate_async() -> KeyPair {
    tokio::task::spawn_blocking(generate)
        .await
        .unwrap_or_else(|_| generate())
}

/// The key pair of a private key PEM (PKCS#8 or PKCS#1), if it is one.
pub fn parse_private(pem_text: &str) -> Option<KeyPair> {
    if !pem_text.trim_start().starts_with("-----BEGIN") {
        return None;
    }
    let block = pem::parse(pem_text).ok()?;
    let key = match block.tag() {
        "PRIVATE KEY" => RsaPrivateKey::from_pkcs8_der(block.contents()).ok()?,
        "RSA PRIVATE KEY" => RsaPrivateKey::from_pkcs1_der(block.contents()).ok()?,
        _ => return None,
    };
    let mut pair = from_private(&key)?;
    // Keep the text as it was written (the Secret's value), so hashes over it stay stable.
    pair.private_pem = pem_text.to_string();
    Some(pair)
}

/// A new client secret: 64 characters of the base64url alphabet from the OS random source.
pub fn generate_secret() -> String {
    use ring::rand::SecureRandom as _;
    let rng = ring::rand::SystemRandom::new();
    let mut bytes = [0u8; SECRET_LENGTH];
    rng.fill(&mut bytes)
        .expect("the OS random source is available");
    bytes
        .iter()
        .map(|b| SECRET_ALPHABET[(*b & 63) as usize] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_round_trips_and_its_kid_is_the_jwk_thumbprint() {
        let k = generate();
        assert!(k.private_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(k.public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        let again = parse_private(&k.private_pem).unwrap();
        assert_eq!(again, k);
        // The simulator computes Auth0's kid independently from the public PEM.
        #[cfg(feature = "sim")]
        assert_eq!(k.kid, crate::sim::pem::jwk_thumbprint(&k.public_pem));
        assert!(!format!("{k:?}").contains("PRIVATE"));
        assert_eq!(parse_private("not a key"), None);
        assert_eq!(parse_private(&k.public_pem), None);
    }

    /// The PEM forms as before (64-column lines, LF, a final newline), the kid as RFC 7638
    /// spells it out, and the Secret's text read back however it was re-wrapped.
    #[test]
    fn pem_text_and_kid_of_a_key() {
        let k = generate();
        for (text, label) in [
            (&k.private_pem, "PRIVATE KEY"),
            (&k.public_pem, "PUBLIC KEY"),
        ] {
            let lines: Vec<&str> = text.split('\n').collect();
            assert_eq!(lines[0], format!("-----BEGIN {label}-----"));
            assert_eq!(lines[lines.len() - 2], format!("-----END {label}-----"));
            assert_eq!(lines[lines.len() - 1], "", "ends with a newline");
            let body = &lines[1..lines.len() - 2];
            assert!(body[..body.len() - 1].iter().all(|l| l.len() == 64));
            assert!((1..=64).contains(&body[body.len() - 1].len()));
            assert!(!text.contains('\r'));
        }
        let key = RsaPrivateKey::from_pkcs8_der(
            &base64::engine::general_purpose::STANDARD
                .decode(
                    k.private_pem
                        .lines()
                        .filter(|l| !l.starts_with("-----"))
                        .collect::<String>(),
                )
                .unwrap(),
        )
        .unwrap();
        let jwk = format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            b64url(&key.e().to_bytes_be()),
            b64url(&key.n().to_bytes_be())
        );
        assert_eq!(
            k.kid,
            b64url(ring::digest::digest(&ring::digest::SHA256, jwk.as_bytes()).as_ref())
        );
        // CRLF, indentation, surrounding blank lines; the PKCS#1 form.
        let crlf = k.private_pem.replace('\n', "\r\n");
        let indented: String = k
            .private_pem
            .lines()
            .map(|l| format!("  {l}  \n"))
            .collect();
        let pkcs1 = {
            use rsa::pkcs1::EncodeRsaPrivateKey as _;
            pem("RSA PRIVATE KEY", key.to_pkcs1_der().unwrap().as_bytes())
        };
        for text in [crlf, indented, format!("\n\n{}\n\n", k.private_pem), pkcs1] {
            let pair = parse_private(&text).unwrap_or_else(|| panic!("{text:?} parses"));
            assert_eq!(
                (&pair.kid, &pair.public_pem, &pair.private_pem),
                (&k.kid, &k.public_pem, &text)
            );
        }
        // Text before the key: not a key (a secret that happens to hold one).
        assert_eq!(parse_private(&format!("x\n{}", k.private_pem)), None);
        let junk = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n";
        assert_eq!(parse_private(junk), None);
    }

    #[test]
    fn generated_secrets_are_64_url_safe_characters_and_differ() {
        let a = generate_secret();
        let b = generate_secret();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| SECRET_ALPHABET.contains(&c)));
        assert_ne!(a, b);
    }
}
