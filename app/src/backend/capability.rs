//! What share links and upload requests have in common: each is a capability, a token of
//! 256 random bits that only its holder has (the database keeps its SHA-256), with a lifetime
//! typed by its maker.

use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use sha2::{Digest, Sha256};

/// A link's lifetime as typed: a number and a unit (`m`, `h`, `d`; none: days).
pub fn read_ttl(text: &str, max: Duration, default: Duration) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(default.min(max));
    }
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "d"),
    };
    let seconds = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 24 * 3600,
        _ => return Err("Write how long, such as 12h, 7d or 30d.".into()),
    };
    let ttl = number
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .map(|n| Duration::from_secs(n.saturating_mul(seconds)))
        .ok_or_else(|| "Write how long, such as 12h, 7d or 30d.".to_owned())?;
    if ttl > max {
        return Err(format!("A link can last at most {}.", span(max)));
    }
    Ok(ttl)
}

/// A lifetime in words: `30 days`, `12 hours`, `90 seconds`.
pub fn span(duration: Duration) -> String {
    let s = duration.as_secs();
    let (n, unit) = match s {
        s if s >= 86_400 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s >= 3600 && s % 3600 == 0 => (s / 3600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// A new token (what the link carries) and the hash that is stored.
pub fn new_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A token of the right shape: 43 base64url characters. Anything else is unknown at once.
pub fn well_formed(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);
    const MONTH: Duration = Duration::from_secs(30 * 24 * 3600);

    #[test]
    fn lifetimes_read_with_units_and_stay_under_the_most() {
        assert_eq!(read_ttl("", MONTH, WEEK), Ok(WEEK));
        assert_eq!(
            read_ttl("", Duration::from_secs(3), WEEK),
            Ok(Duration::from_secs(3))
        );
        assert_eq!(
            read_ttl("12h", MONTH, WEEK),
            Ok(Duration::from_secs(12 * 3600))
        );
        assert_eq!(
            read_ttl("2", MONTH, WEEK),
            Ok(Duration::from_secs(2 * 86_400))
        );
        assert_eq!(
            read_ttl(" 30m ", MONTH, WEEK),
            Ok(Duration::from_secs(1800))
        );
        assert!(read_ttl("31d", MONTH, WEEK)
            .unwrap_err()
            .contains("30 days"));
        assert!(read_ttl("0d", MONTH, WEEK).is_err());
        assert!(read_ttl("soon", MONTH, WEEK).is_err());
        assert!(read_ttl("7w", MONTH, WEEK).is_err());
    }

    #[test]
    fn tokens_carry_256_bits_and_only_their_hash_is_kept() {
        let (token, hash) = new_token();
        assert!(well_formed(&token));
        assert_eq!(hash, token_hash(&token));
        assert_ne!(new_token().0, token);
        assert!(!well_formed("short"));
        assert!(!well_formed(&format!("{}=", &token[..42])));
    }

    #[test]
    fn spans_read_in_the_largest_whole_unit() {
        assert_eq!(span(MONTH), "30 days");
        assert_eq!(span(Duration::from_secs(3600)), "1 hour");
        assert_eq!(span(Duration::from_secs(90)), "90 seconds");
    }
}
