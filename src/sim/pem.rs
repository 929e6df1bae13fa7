//! Just enough PEM/DER to compute what Auth0 returns for a resource server's token-encryption
//! key: the RFC 7638 JWK thumbprint (SHA-256, base64url) of the RSA public key in a
//! `CERTIFICATE` or `PUBLIC KEY` PEM.

use ring::digest;

/// base64url without padding.
pub fn b64url(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut out = Vec::new();
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            c if c.is_ascii_whitespace() => continue,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    Some(out)
}

/// One DER TLV: (tag, content, rest).
fn tlv(d: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, d) = d.split_first()?;
    let (&l0, mut d) = d.split_first()?;
    let len = if l0 < 0x80 {
        usize::from(l0)
    } else {
        let n = usize::from(l0 & 0x7f);
        if n == 0 || n > 4 || d.len() < n {
            return None;
        }
        let len = d[..n]
            .iter()
            .fold(0usize, |a, b| (a << 8) | usize::from(*b));
        d = &d[n..];
        len
    };
    (d.len() >= len).then(|| (tag, &d[..len], &d[len..]))
}

/// The content of a `SubjectPublicKeyInfo` SEQUENCE → (n, e) of an RSA key.
fn rsa_from_spki(spki: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (_, _alg, rest) = tlv(spki)?;
    let (tag, bits, _) = tlv(rest)?;
    if tag != 0x03 || bits.is_empty() {
        return None;
    }
    let (_, key, _) = tlv(&bits[1..])?; // RSAPublicKey SEQUENCE
    let (_, n, rest) = tlv(key)?;
    let (_, e, _) = tlv(rest)?;
    let strip = |x: &[u8]| {
        let i = x.iter().position(|b| *b != 0).unwrap_or(x.len());
        x[i..].to_vec()
    };
    Some((strip(n), strip(e)))
}

fn rsa_from_pem(pem: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    let body: String = pem
        .lines()
        .filter(|l| !l.trim_start().starts_with("-----"))
        .collect();
    let der = b64_decode(&body)?;
    let (_, outer, _) = tlv(&der)?;
    if pem.contains("BEGIN PUBLIC KEY") {
        return rsa_from_spki(outer);
    }
    // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version?, serial, sigAlg,
    //   issuer, validity, subject, subjectPublicKeyInfo, ... }, ... }
    let (_, tbs, _) = tlv(outer)?;
    let mut rest = tbs;
    if rest.first() == Some(&0xa0) {
        rest = tlv(rest)?.2;
    }
    for _ in 0..5 {
        rest = tlv(rest)?.2;
    }
    let (_, spki, _) = tlv(rest)?;
    rsa_from_spki(spki)
}

/// RFC 7638 thumbprint of the RSA key in `pem`. A PEM that is not an RSA key or certificate
/// (the simulator does not model Auth0's error for it) is hashed as text instead.
pub fn jwk_thumbprint(pem: &str) -> String {
    let input = match rsa_from_pem(pem) {
        Some((n, e)) => format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            b64url(&e),
            b64url(&n)
        ),
        None => pem.to_string(),
    };
    b64url(digest::digest(&digest::SHA256, input.as_bytes()).as_ref())
}
