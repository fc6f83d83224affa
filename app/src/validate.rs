//! Input rules shared by the browser (early hints) and the server (the authority). File names
//! are checked on the server only: their rules read Unicode property tables the browser bundle
//! does not carry.

#[cfg(feature = "ssr")]
mod file_names;
#[cfg(feature = "ssr")]
pub use file_names::{file_name, FILE_NAME_MAX_CHARS};

use crate::model::Email;

/// Passwords: long enough to resist guessing, short enough to hash cheaply. Counted in
/// characters; every character counts (no silent truncation).
pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 1024;
/// RFC 5321's path limit.
pub const EMAIL_MAX_CHARS: usize = 254;

pub const PASSWORD_RULE: &str = "8 to 1024 characters.";

/// Trims and lower-cases an email address and checks its form. Only ASCII addresses are
/// accepted: look-alike letters from other scripts (Cyrillic "а" for Latin "a", ...) would
/// otherwise give two accounts that read the same.
pub fn email(input: &str) -> Result<Email, String> {
    let email = input.trim().to_ascii_lowercase();
    if email.is_empty() {
        return Err("Enter your email address.".into());
    }
    if email.chars().count() > EMAIL_MAX_CHARS {
        return Err(format!(
            "An email address has at most {EMAIL_MAX_CHARS} characters."
        ));
    }
    if !email.is_ascii() {
        return Err(
            "Use plain ASCII letters in the email address (no accented or look-alike characters)."
                .into(),
        );
    }
    let invalid = || Err("Enter a valid email address, like name@example.com.".into());
    let Some((local, domain)) = email.rsplit_once('@') else {
        return invalid();
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if local_ok && domain_ok {
        Ok(Email::checked(email))
    } else {
        invalid()
    }
}

/// Checks a new password against the rule.
pub fn new_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars == 0 {
        return Err("Choose a password.".into());
    }
    if chars < PASSWORD_MIN_CHARS {
        return Err(format!(
            "Use at least {PASSWORD_MIN_CHARS} characters for your password."
        ));
    }
    if chars > PASSWORD_MAX_CHARS {
        return Err(format!(
            "Use at most {PASSWORD_MAX_CHARS} characters for your password."
        ));
    }
    Ok(())
}

/// Media types a file may be declared as: `type/subtype` of a registered top-level type, no
/// parameters. Empty means `application/octet-stream`.
pub fn content_type(input: &str) -> Result<String, String> {
    let value = input.trim().to_ascii_lowercase();
    if value.is_empty() {
        return Ok("application/octet-stream".into());
    }
    const TOP_LEVEL: [&str; 7] = [
        "application",
        "audio",
        "font",
        "image",
        "model",
        "text",
        "video",
    ];
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 100
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
    };
    match value.split_once('/') {
        Some((top, sub)) if TOP_LEVEL.contains(&top) && token(sub) => Ok(value),
        _ => Err(format!("{:?} is not an allowed file type.", input.trim())),
    }
}

/// `123`, `500MB`, `100GiB`, `1.5TB`: bytes, with decimal (kB, MB, GB, TB) or binary (KiB, MiB,
/// GiB, TiB) units. Settings and an admin's quota change read sizes alike.
pub fn size(input: &str) -> Result<u64, String> {
    let input = input.trim();
    let split = input
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(input.len());
    let (number, unit) = input.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{input:?} is not a size such as 100GiB"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        other => {
            return Err(format!(
                "unknown size unit {other:?} (use B, MB, GB, TB, MiB, GiB, TiB)"
            ))
        }
    };
    let bytes = number * multiplier as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(format!("{input:?} is out of range"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_decimal_and_binary_units() {
        assert_eq!(size("123").unwrap(), 123);
        assert_eq!(size("500MB").unwrap(), 500_000_000);
        assert_eq!(size("100GiB").unwrap(), 100 << 30);
        assert_eq!(size("1.5 TB").unwrap(), 1_500_000_000_000);
        assert_eq!(size("2TiB").unwrap(), 2 << 40);
        assert!(size("ten").is_err());
        assert!(size("5 parsecs").is_err());
        assert!(size("-5GB").is_err());
        assert!(size("").is_err());
    }

    #[test]
    fn content_types_must_be_plain_media_types() {
        assert_eq!(content_type("").unwrap(), "application/octet-stream");
        assert_eq!(content_type("Video/MP4").unwrap(), "video/mp4");
        assert_eq!(
            content_type("application/vnd.ms-excel").unwrap(),
            "application/vnd.ms-excel"
        );
        for bad in [
            "text",
            "multipart/form-data",
            "text/html; charset=utf-8",
            "x/y",
            "image/<svg>",
            "application/",
        ] {
            assert!(content_type(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn email_is_trimmed_and_lower_cased() {
        assert_eq!(
            email("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn email_accepts_common_forms() {
        for ok in [
            "a.b+tag@sub.example.co.uk",
            "x_y-z@example.io",
            "o'neil@example.com",
        ] {
            assert!(email(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn email_rejects_malformed_addresses() {
        for bad in [
            "",
            "   ",
            "plain",
            "@example.com",
            "a@",
            "a@example",
            "a..b@example.com",
            ".a@example.com",
            "a.@example.com",
            "a@-example.com",
            "a@example-.com",
            "a b@example.com",
            "a@exa mple.com",
            "a@example..com",
            "<script>@example.com",
        ] {
            assert!(email(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn email_rejects_look_alikes() {
        // Cyrillic "а" (U+0430) in place of Latin "a".
        let error = email("\u{430}da@example.com").unwrap_err();
        assert!(error.contains("ASCII"), "{error}");
    }

    #[test]
    fn email_rejects_overlong_addresses() {
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(email(&long).unwrap_err().contains("at most"));
    }

    #[test]
    fn password_length_rule_counts_characters() {
        assert!(new_password("").is_err());
        assert!(new_password("1234567").is_err());
        assert!(new_password("12345678").is_ok());
        // Eight characters, more bytes: counts as eight.
        assert!(new_password("éééééééé").is_ok());
        assert!(new_password(&"x".repeat(1024)).is_ok());
        assert!(new_password(&"x".repeat(1025)).is_err());
    }
}
