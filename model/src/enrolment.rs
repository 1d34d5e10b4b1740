//! Enrolment codes: how a new device signs in without anyone typing a token.
//!
//! An admin issues a one-time code for a user (`acme.K7M3-Q9XP-2DHC`): the
//! tenant's name, a dot, then 12 symbols of Crockford's base32 — 11 random ones
//! (55 bits) and a check symbol. The device sends it with its own device id to
//! `POST /v1/enrol`; the server exchanges it, once, for a device token bound to
//! that user and device. The check symbol lets a device (and the server) say
//! "mistyped" before any lookup, so a typo is never confused with a used or
//! expired code.
//!
//! Pure: the server draws the random symbols and stores only [`Code::hash`].

use crate::sha256_hex;

/// Crockford's base32 alphabet (no I, L, O, U).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Random symbols in a code (5 bits each).
pub const RANDOM_SYMBOLS: usize = 11;

/// Why a typed code is not one (before any lookup).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodeProblem {
    #[error("the code starts with the tenant's name and a dot, e.g. acme.K7M3-Q9XP-2DHC")]
    NoTenant,
    #[error("the tenant name {0:?} is not valid (a-z, 0-9 and '-')")]
    BadTenant(String),
    #[error("the code has {0} symbols after the tenant's name; it should have 12")]
    Length(usize),
    #[error("{0:?} is not a symbol of an enrolment code")]
    Symbol(char),
    #[error("the code's check symbol does not match: a symbol is mistyped")]
    Check,
}

impl CodeProblem {
    /// The refusal code the API answers with (every problem here is a typo).
    pub const REFUSAL: &'static str = "code-mistyped";
}

/// A well-formed enrolment code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Code {
    pub tenant: String,
    /// The 12 symbols, upper case, without separators.
    symbols: String,
}

fn value(c: u8) -> Option<u8> {
    // Crockford's decoding: case-insensitive, O reads as 0, I and L as 1.
    let c = match c.to_ascii_uppercase() {
        b'O' => b'0',
        b'I' | b'L' => b'1',
        c => c,
    };
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u8)
}

/// The check value: a weighted sum mod 37 (a prime above 32, so any single
/// substituted symbol and any swap of two neighbours changes it). Codes whose
/// check would be 32..36 are never issued, so the check is one more symbol of
/// the same alphabet.
fn check(values: &[u8]) -> u8 {
    let sum: u32 = values
        .iter()
        .enumerate()
        .map(|(i, &v)| (i as u32 + 1) * u32::from(v))
        .sum();
    (sum % 37) as u8
}

fn valid_tenant(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 32
        && t.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Code {
    /// A code for `tenant` from 11 random values (each taken mod 32), or None
    /// when their check value has no symbol (5 draws in 37): draw again.
    pub fn new(tenant: &str, random: [u8; RANDOM_SYMBOLS]) -> Option<Self> {
        let values: Vec<u8> = random.iter().map(|v| v % 32).collect();
        let check = *ALPHABET.get(usize::from(check(&values)))?;
        let mut symbols: String = values
            .iter()
            .map(|&v| ALPHABET[v as usize] as char)
            .collect();
        symbols.push(check as char);
        Some(Self {
            tenant: tenant.to_owned(),
            symbols,
        })
    }

    /// Reads a code as a person types it: any case, spaces and dashes anywhere
    /// after the dot, O for 0 and I or L for 1.
    pub fn parse(text: &str) -> Result<Self, CodeProblem> {
        let text = text.trim();
        let (tenant, rest) = text.split_once('.').ok_or(CodeProblem::NoTenant)?;
        let tenant = tenant.trim().to_ascii_lowercase();
        if !valid_tenant(&tenant) {
            return Err(CodeProblem::BadTenant(tenant));
        }
        let mut values = Vec::with_capacity(RANDOM_SYMBOLS + 1);
        for c in rest.chars() {
            if c == '-' || c.is_whitespace() {
                continue;
            }
            let v = u8::try_from(c)
                .ok()
                .and_then(value)
                .ok_or(CodeProblem::Symbol(c))?;
            values.push(v);
        }
        if values.len() != RANDOM_SYMBOLS + 1 {
            return Err(CodeProblem::Length(values.len()));
        }
        let (data, last) = values.split_at(RANDOM_SYMBOLS);
        if check(data) != last[0] {
            return Err(CodeProblem::Check);
        }
        Ok(Self {
            tenant,
            symbols: values
                .iter()
                .map(|&v| ALPHABET[v as usize] as char)
                .collect(),
        })
    }

    /// What the server stores (never the code itself).
    pub fn hash(&self) -> String {
        sha256_hex(self.to_string().as_bytes())
    }
}

impl std::fmt::Display for Code {
    /// `tenant.XXXX-XXXX-XXXX`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.symbols;
        write!(f, "{}.{}-{}-{}", self.tenant, &s[..4], &s[4..8], &s[8..])
    }
}

/// The first word of an enrolment QR code.
pub const QR_PREFIX: &str = "RUTA-ENROL";

/// What an enrolment QR code holds: `RUTA-ENROL <server URL> <code>` (neither
/// contains a space, so no escaping is needed).
pub fn qr_payload(server: &str, code: &Code) -> String {
    format!("{QR_PREFIX} {} {code}", server.trim())
}

/// The server and code in a scanned QR payload.
pub fn parse_qr_payload(payload: &str) -> Result<(String, Code), String> {
    let mut words = payload.split_whitespace();
    if words.next() != Some(QR_PREFIX) {
        return Err("this QR code is not a Ruta enrolment code".into());
    }
    let (Some(server), Some(code), None) = (words.next(), words.next(), words.next()) else {
        return Err("the enrolment QR code should hold a server address and a code".into());
    };
    let code = Code::parse(code).map_err(|e| e.to_string())?;
    Ok((server.to_owned(), code))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Codes over many draws, with 0 and 31 among their symbols.
    fn samples() -> Vec<Code> {
        (0u8..40)
            .filter_map(|seed| {
                let mut r = [0u8; RANDOM_SYMBOLS];
                for (i, v) in r.iter_mut().enumerate() {
                    *v = seed.wrapping_mul(7).wrapping_add(i as u8 * 13) % 32;
                }
                r[0] = 31;
                r[1] = 0;
                Code::new("acme", r)
            })
            .collect()
    }

    fn sample() -> Code {
        samples().remove(0)
    }

    #[test]
    fn a_code_reads_back_however_it_is_typed() {
        let code = sample();
        let text = code.to_string();
        assert_eq!(text.len(), "acme.".len() + 14);
        assert_eq!(Code::parse(&text), Ok(code.clone()));
        let sloppy = format!(" ACME.{} ", text[5..].to_lowercase().replace('-', " "));
        assert_eq!(Code::parse(&sloppy), Ok(code.clone()));
        // O for 0 and I/L for 1, as Crockford's base32 reads them.
        let zero = Code::new("acme", [0; RANDOM_SYMBOLS]).unwrap();
        let typed = zero.to_string().replace('0', "O");
        assert_eq!(Code::parse(&typed), Ok(zero.clone()));
        assert_eq!(code.hash(), Code::parse(&sloppy).unwrap().hash());
        assert_ne!(code.hash(), zero.hash());
    }

    #[test]
    fn draws_without_a_check_symbol_are_refused() {
        let all = (0u8..=255)
            .map(|s| Code::new("acme", [s; RANDOM_SYMBOLS]).is_some())
            .collect::<Vec<_>>();
        assert!(all.iter().any(|ok| *ok) && all.iter().any(|ok| !ok));
    }

    #[test]
    fn every_single_typo_and_neighbour_swap_is_caught() {
        let codes = samples();
        assert!(codes.len() > 20);
        for code in codes {
            typos_of(&code);
        }
    }

    fn typos_of(code: &Code) {
        let symbols: Vec<u8> = code.symbols.bytes().collect();
        for i in 0..symbols.len() {
            for &other in ALPHABET {
                if other == symbols[i] {
                    continue;
                }
                let mut typo = symbols.clone();
                typo[i] = other;
                let text = format!("acme.{}", String::from_utf8(typo).unwrap());
                assert_eq!(Code::parse(&text), Err(CodeProblem::Check), "{text}");
            }
            if i + 1 < symbols.len() && symbols[i] != symbols[i + 1] {
                let mut swap = symbols.clone();
                swap.swap(i, i + 1);
                let text = format!("acme.{}", String::from_utf8(swap).unwrap());
                assert_eq!(Code::parse(&text), Err(CodeProblem::Check), "{text}");
            }
        }
    }

    #[test]
    fn qr_payloads_carry_the_server_and_the_code() {
        let code = sample();
        let payload = qr_payload("https://ruta.example:8443/", &code);
        assert_eq!(
            parse_qr_payload(&payload),
            Ok(("https://ruta.example:8443/".to_owned(), code))
        );
        assert!(parse_qr_payload("https://example.com").is_err());
        assert!(parse_qr_payload("RUTA-ENROL http://x").is_err());
        let bad = parse_qr_payload("RUTA-ENROL http://x acme.0000").unwrap_err();
        assert!(bad.contains("symbols"), "{bad}");
    }

    #[test]
    fn malformed_codes_say_what_is_wrong() {
        let body = &sample().to_string()[5..];
        assert_eq!(Code::parse(body), Err(CodeProblem::NoTenant));
        assert_eq!(
            Code::parse(&format!("Ac_me.{body}")),
            Err(CodeProblem::BadTenant("ac_me".into()))
        );
        assert_eq!(Code::parse("acme.K7M3"), Err(CodeProblem::Length(4)));
        assert_eq!(
            Code::parse(&format!("acme.{}U", &body[..13])),
            Err(CodeProblem::Symbol('U'))
        );
        assert_eq!(
            Code::parse("acme.ÄÄÄÄ-0000-0000"),
            Err(CodeProblem::Symbol('Ä'))
        );
    }
}
