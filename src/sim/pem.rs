//! Just enough PEM/DER to compute what Auth0 returns for keys and certificates it is given:
//! the RFC 7638 JWK thumbprint (SHA-256, base64url) of the RSA public key in a `CERTIFICATE`,
//! `PUBLIC KEY` or `RSA PUBLIC KEY` PEM (a resource server's token-encryption key; a client
//! credential's `kid`), and a certificate's SHA-256 thumbprint, expiry and subject DN (client
//! credentials of type `x509_cert` / `cert_subject_dn`).

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
    Some((strip_int(n), strip_int(e)))
}

/// The DER inside the first PEM block, with its label (`CERTIFICATE`, `PUBLIC KEY`, ...).
fn pem_der(pem: &str) -> Option<(String, Vec<u8>)> {
    let begin = pem.find("-----BEGIN ")?;
    let rest = &pem[begin + 11..];
    let label_end = rest.find("-----")?;
    let label = rest[..label_end].to_string();
    let body_start = label_end + 5;
    let end = rest[body_start..].find("-----END ")? + body_start;
    let der = b64_decode(&rest[body_start..end])?;
    (!der.is_empty()).then_some((label, der))
}

fn strip_int(x: &[u8]) -> Vec<u8> {
    let i = x.iter().position(|b| *b != 0).unwrap_or(x.len());
    x[i..].to_vec()
}

/// The fields of a certificate's `tbsCertificate` (content of the outer SEQUENCE):
/// (validity content, subject content, subjectPublicKeyInfo content).
fn tbs_fields(cert_der: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version?, serial, sigAlg,
    //   issuer, validity, subject, subjectPublicKeyInfo, ... }, ... }
    let (_, outer, _) = tlv(cert_der)?;
    let (_, tbs, _) = tlv(outer)?;
    let mut rest = tbs;
    if rest.first() == Some(&0xa0) {
        rest = tlv(rest)?.2;
    }
    for _ in 0..3 {
        rest = tlv(rest)?.2;
    }
    let (_, validity, rest) = tlv(rest)?;
    let (_, subject, rest) = tlv(rest)?;
    let (_, spki, _) = tlv(rest)?;
    Some((validity, subject, spki))
}

/// The RSA public key `(n, e)` (big-endian, no leading zeros) of a `CERTIFICATE`,
/// `PUBLIC KEY` (SPKI) or `RSA PUBLIC KEY` (PKCS#1) PEM; `None` for anything else (other key
/// types, private keys, garbage).
pub fn rsa_from_pem(pem: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    let (label, der) = pem_der(pem)?;
    match label.as_str() {
        "PUBLIC KEY" => rsa_from_spki(tlv(&der)?.1),
        "RSA PUBLIC KEY" => {
            let (_, key, _) = tlv(&der)?;
            let (t1, n, rest) = tlv(key)?;
            let (t2, e, _) = tlv(rest)?;
            (t1 == 0x02 && t2 == 0x02).then(|| (strip_int(n), strip_int(e)))
        }
        "CERTIFICATE" => rsa_from_spki(tbs_fields(&der)?.2),
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
    let (validity, subject, _) = tbs_fields(&der)?;
    let (_, _, rest) = tlv(validity)?;
    let (tag, not_after, _) = tlv(rest)?;
    let not_after = asn1_time(tag, not_after)?;
    let mut parts = Vec::new();
    let mut rdns = subject;
    while !rdns.is_empty() {
        let (_, set, next) = tlv(rdns)?;
        rdns = next;
        let mut atvs = set;
        while !atvs.is_empty() {
            let (_, atv, next) = tlv(atvs)?;
            atvs = next;
            let (_, oid, rest) = tlv(atv)?;
            let (_, value, _) = tlv(rest)?;
            parts.push(format!(
                "{}={}",
                attribute_name(oid),
                String::from_utf8_lossy(value)
            ));
        }
    }
    Some(CertInfo {
        thumbprint_sha256: b64url(digest::digest(&digest::SHA256, &der).as_ref()),
        not_after,
        subject_dn: parts.join("\n"),
    })
}

fn attribute_name(oid: &[u8]) -> String {
    match oid {
        [0x55, 0x04, 3] => "CN".into(),
        [0x55, 0x04, 5] => "serialNumber".into(),
        [0x55, 0x04, 6] => "C".into(),
        [0x55, 0x04, 7] => "L".into(),
        [0x55, 0x04, 8] => "ST".into(),
        [0x55, 0x04, 9] => "street".into(),
        [0x55, 0x04, 10] => "O".into(),
        [0x55, 0x04, 11] => "OU".into(),
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01] => "emailAddress".into(),
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => "DC".into(),
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01] => "UID".into(),
        _ => {
            // Dotted form.
            let mut arcs: Vec<u64> = Vec::new();
            let mut acc = 0u64;
            for b in oid {
                acc = (acc << 7) | u64::from(b & 0x7f);
                if b & 0x80 == 0 {
                    arcs.push(acc);
                    acc = 0;
                }
            }
            let mut out = Vec::new();
            if let Some(first) = arcs.first() {
                let (a, b) = if *first < 80 {
                    (first / 40, first % 40)
                } else {
                    (2, first - 80)
                };
                out.push(a.to_string());
                out.push(b.to_string());
            }
            out.extend(arcs.iter().skip(1).map(u64::to_string));
            out.join(".")
        }
    }
}

/// UTCTime (0x17, `YYMMDDHHMMSSZ`) or GeneralizedTime (0x18, `YYYYMMDDHHMMSSZ`) → UNIX seconds.
fn asn1_time(tag: u8, v: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(v).ok()?.strip_suffix('Z')?;
    let (year, rest) = match tag {
        0x17 if s.len() == 12 => {
            let yy: i64 = s[..2].parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &s[2..])
        }
        0x18 if s.len() == 14 => (s[..4].parse().ok()?, &s[4..]),
        _ => return None,
    };
    let n = |i: usize| rest.get(i..i + 2).and_then(|x| x.parse::<i64>().ok());
    Some(days_from_civil(year, n(0)?, n(2)?) * 86400 + n(4)? * 3600 + n(6)? * 60 + n(8)?)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `(year, month, day)` of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, the form Auth0 gives credential dates in.
pub fn iso8601_ms(unix_ms: i64) -> String {
    let secs = unix_ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86400));
    let t = secs.rem_euclid(86400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        t / 3600,
        t / 60 % 60,
        t % 60,
        unix_ms.rem_euclid(1000)
    )
}

/// An RFC 3339 date-time (`2095-05-13T09:33:13Z`, fractions and offsets allowed) → UNIX ms.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<i64>().ok());
    let (y, mo, d, h, mi, sec) = (
        n(0..4)?,
        n(5..7)?,
        n(8..10)?,
        n(11..13)?,
        n(14..16)?,
        n(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut ms = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let f = &frac[..digits.min(3)];
        ms = f.parse::<i64>().ok()? * 10_i64.pow(3 - f.len() as u32);
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) => {
            let v = o[1..3].parse::<i64>().ok()? * 3600 + o[4..6].parse::<i64>().ok()? * 60;
            if o.starts_with('-') { -v } else { v }
        }
        _ => return None,
    };
    Some(((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) - offset) * 1000 + ms)
}

/// RFC 7638 thumbprint of an RSA key given as `(n, e)`.
pub fn rsa_thumbprint(n: &[u8], e: &[u8]) -> String {
    let input = format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, b64url(e), b64url(n));
    b64url(digest::digest(&digest::SHA256, input.as_bytes()).as_ref())
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
        assert_eq!(parse_rfc3339_ms("2024-02-29"), None);
        assert_eq!(
            asn1_time(0x17, b"330513093313Z"),
            parse_rfc3339_ms("2033-05-13T09:33:13Z").map(|m| m / 1000)
        );
    }
}
