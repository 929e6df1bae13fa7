//! What Auth0 returns for keys and certificates it is given: the RFC 7638 JWK thumbprint
//! (SHA-256, base64url) of the RSA public key in a `CERTIFICATE`, `PUBLIC KEY` or
//! `RSA PUBLIC KEY` PEM (a resource server's token-encryption key; a client credential's
//! `kid`), and a certificate's SHA-256 thumbprint, expiry and subject DN (client credentials of
//! type `x509_cert` / `cert_subject_dn`); and the dates of credentials.
//!
//! Nothing here parses by hand: PEM with `pem` (the first block, whatever text surrounds it,
//! as before), DER with the RustCrypto crates (`x509-cert`, `spki`, `pkcs1`), dates with
//! `jiff`, the thumbprint with `jsonwebtoken`'s JWK.

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, Jwk, RSAKeyParameters, RSAKeyType, ThumbprintHash,
};
use ring::digest;
use rsa::pkcs1::{self, der::Decode as _};
use rsa::pkcs8::spki::{ObjectIdentifier, SubjectPublicKeyInfoRef};
use x509_cert::Certificate;
use x509_cert::der::oid::db::{rfc3280, rfc4519, rfc5912};

/// base64url without padding.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The label and DER of the first PEM block in `pem`.
fn pem_der(pem: &str) -> Option<(String, Vec<u8>)> {
    let block = pem::parse(pem).ok()?;
    (!block.contents().is_empty()).then(|| (block.tag().to_string(), block.into_contents()))
}

/// `(n, e)` of a PKCS#1 `RSAPublicKey`, big-endian without leading zeros.
fn rsa_from_pkcs1(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let key = pkcs1::RsaPublicKey::from_der(der).ok()?;
    Some((
        key.modulus.as_bytes().to_vec(),
        key.public_exponent.as_bytes().to_vec(),
    ))
}

/// `(n, e)` of an RSA `SubjectPublicKeyInfo` (`rsaEncryption` or `id-RSASSA-PSS`).
fn rsa_from_spki(spki: &SubjectPublicKeyInfoRef<'_>) -> Option<(Vec<u8>, Vec<u8>)> {
    let rsa = [rfc5912::RSA_ENCRYPTION, rfc5912::ID_RSASSA_PSS];
    if !rsa.contains(&spki.algorithm.oid) {
        return None;
    }
    rsa_from_pkcs1(spki.subject_public_key.as_bytes()?)
}

/// The RSA public key `(n, e)` (big-endian, no leading zeros) of a `CERTIFICATE`,
/// `PUBLIC KEY` (SPKI) or `RSA PUBLIC KEY` (PKCS#1) PEM; `None` for anything else (other key
/// types, private keys, garbage).
pub fn rsa_from_pem(pem: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    use x509_cert::der::referenced::OwnedToRef as _;
    let (label, der) = pem_der(pem)?;
    match label.as_str() {
        "PUBLIC KEY" => rsa_from_spki(&SubjectPublicKeyInfoRef::from_der(&der).ok()?),
        "RSA PUBLIC KEY" => rsa_from_pkcs1(&der),
        "CERTIFICATE" => {
            let cert = Certificate::from_der(&der).ok()?;
            rsa_from_spki(&cert.tbs_certificate.subject_public_key_info.owned_to_ref())
        }
        _ => None,
    }
    .filter(|(n, e)| n.len() >= 64 && !e.is_empty())
}

/// What Auth0 reports of an X.509 certificate credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    /// base64url(SHA-256(DER)): `thumbprint_sha256` of an `x509_cert` credential
    /// (reproduces the recorded value of TestAccClientAuthenticationMethodsSelfSignedTLSClientAuth).
    pub thumbprint_sha256: String,
    /// `notAfter` as UNIX seconds.
    pub not_after: i64,
    /// The subject's attributes in certificate order, one `KEY=value` a line, as Auth0
    /// returns `subject_dn` (recorded: `C=es\nST=Madrid\n...\nCN=Developer Experience`).
    pub subject_dn: String,
}

/// Certificate facts of a `CERTIFICATE` PEM; `None` when `pem` is no certificate.
pub fn cert_info(pem: &str) -> Option<CertInfo> {
    let (label, der) = pem_der(pem)?;
    if label != "CERTIFICATE" {
        return None;
    }
    let cert = Certificate::from_der(&der).ok()?;
    let tbs = &cert.tbs_certificate;
    let not_after = i64::try_from(tbs.validity.not_after.to_unix_duration().as_secs()).ok()?;
    let subject_dn = tbs
        .subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .map(|atv| {
            format!(
                "{}={}",
                attribute_name(&atv.oid),
                String::from_utf8_lossy(atv.value.value())
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    Some(CertInfo {
        thumbprint_sha256: b64url(digest::digest(&digest::SHA256, &der).as_ref()),
        not_after,
        subject_dn,
    })
}

/// The names Auth0 gives attribute types in `subject_dn` (recorded: `C`, `ST`, `L`, `O`,
/// `OU`, `CN`); other types in dotted form.
fn attribute_name(oid: &ObjectIdentifier) -> String {
    static NAMES: LazyLock<[(ObjectIdentifier, &str); 11]> = LazyLock::new(|| {
        [
            (rfc4519::CN, "CN"),
            (rfc4519::SERIAL_NUMBER, "serialNumber"),
            (rfc4519::C, "C"),
            (rfc4519::L, "L"),
            (rfc4519::ST, "ST"),
            (rfc4519::STREET, "street"),
            (rfc4519::O, "O"),
            (rfc4519::OU, "OU"),
            (rfc3280::EMAIL_ADDRESS, "emailAddress"),
            (rfc4519::DC, "DC"),
            (rfc4519::UID, "UID"),
        ]
    });
    NAMES
        .iter()
        .find(|(o, _)| o == oid)
        .map_or_else(|| oid.to_string(), |(_, name)| (*name).to_string())
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, the form Auth0 gives credential dates in (clamped to
/// years -9999..=9999).
pub fn iso8601_ms(unix_ms: i64) -> String {
    let t = jiff::Timestamp::from_millisecond(unix_ms).unwrap_or(if unix_ms < 0 {
        jiff::Timestamp::MIN
    } else {
        jiff::Timestamp::MAX
    });
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// RFC 3339 §5.6 `date-time`, the grammar Auth0's `format: date-time` check applies (jiff's
/// own parser also takes ISO 8601 and RFC 9557 forms Auth0 refuses: no seconds, basic format,
/// `+01` offsets, `[zone]` annotations).
static RFC3339: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$",
    )
    .expect("RFC 3339 pattern")
});

/// An RFC 3339 date-time (`2095-05-13T09:33:13Z`, fractions and offsets allowed) → UNIX ms.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    if !RFC3339.is_match(s) {
        return None;
    }
    Some(s.parse::<jiff::Timestamp>().ok()?.as_millisecond())
}

/// RFC 7638 thumbprint of an RSA key given as `(n, e)` (big-endian, no leading zeros).
pub fn rsa_thumbprint(n: &[u8], e: &[u8]) -> String {
    Jwk {
        common: CommonParameters::default(),
        algorithm: AlgorithmParameters::RSA(RSAKeyParameters {
            key_type: RSAKeyType::RSA,
            n: b64url(n),
            e: b64url(e),
        }),
    }
    .thumbprint(ThumbprintHash::SHA256)
}

/// RFC 7638 thumbprint of the RSA key in `pem`. A PEM that is not an RSA key or certificate
/// (the simulator does not model Auth0's error for it) is hashed as text instead.
pub fn jwk_thumbprint(pem: &str) -> String {
    match rsa_from_pem(pem) {
        Some((n, e)) => rsa_thumbprint(&n, &e),
        None => b64url(digest::digest(&digest::SHA256, pem.as_bytes()).as_ref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        let ms = parse_rfc3339_ms("2095-05-13T09:33:13Z").unwrap();
        assert_eq!(iso8601_ms(ms), "2095-05-13T09:33:13.000Z");
        let ms = parse_rfc3339_ms("2024-02-29T12:34:56.7+01:00").unwrap();
        assert_eq!(iso8601_ms(ms), "2024-02-29T11:34:56.700Z");
        assert_eq!(
            parse_rfc3339_ms("1970-01-01t00:00:01.2345z"),
            Some(1234),
            "lower case, fraction truncated to ms"
        );
        assert_eq!(
            parse_rfc3339_ms("2001-01-01 00:00:00-01:30"),
            Some(978_312_600_000)
        );
        assert_eq!(iso8601_ms(-1), "1969-12-31T23:59:59.999Z");
        // Not RFC 3339 date-times (jiff alone would take most of them).
        for bad in [
            "2024-02-29",
            "2024-02-29T12:34Z",
            "20240229T123456Z",
            "2024-02-29T12:34:56+01",
            "2024-02-29T12:34:56+0100",
            "2024-02-29T12:34:56Z[UTC]",
            "2024-02-29T12:34:56,5Z",
            "2024-02-29T12:34:56.Z",
            "2024-02-29T12:34:56",
            "2023-02-29T12:34:56Z",
            "2024-13-01T00:00:00Z",
            " 2024-02-29T12:34:56Z",
        ] {
            assert_eq!(parse_rfc3339_ms(bad), None, "{bad}");
        }
    }

    /// RFC 7638 §3.1's example key and thumbprint.
    #[test]
    fn rfc7638_example() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let n = URL_SAFE_NO_PAD.decode(n).unwrap();
        assert_eq!(
            rsa_thumbprint(&n, &[1, 0, 1]),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn rsa_keys_from_every_pem_form() {
        use rsa::pkcs1::EncodeRsaPublicKey as _;
        use rsa::pkcs8::EncodePublicKey as _;
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024)
            .unwrap()
            .to_public_key();
        let want = {
            use rsa::traits::PublicKeyParts as _;
            (key.n().to_bytes_be(), key.e().to_bytes_be())
        };
        let pem = |label: &str, der: &[u8]| pem::encode(&pem::Pem::new(label, der.to_vec()));
        let spki = pem("PUBLIC KEY", key.to_public_key_der().unwrap().as_bytes());
        let pkcs1 = pem("RSA PUBLIC KEY", key.to_pkcs1_der().unwrap().as_bytes());
        assert_eq!(rsa_from_pem(&spki), Some(want.clone()));
        assert_eq!(
            rsa_from_pem(&format!("a preamble\n{spki}\ntrailing text")),
            Some(want.clone())
        );
        assert_eq!(rsa_from_pem(&pkcs1), Some(want));
        assert_eq!(
            rsa_from_pem(&spki.replace("PUBLIC KEY", "PRIVATE KEY")),
            None
        );
        assert_eq!(rsa_from_pem("not a pem"), None);
        // Another key type's SPKI (an Ed25519 key, RFC 8410 §10.1).
        let ed = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
        assert_eq!(rsa_from_pem(ed), None);
        assert_eq!(cert_info(&spki), None);
    }
}
