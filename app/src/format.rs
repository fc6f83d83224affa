//! Text for people and for protocols: sizes, durations and percentages as the pages show them,
//! and the percent-encoding of URLs and download names. Shared by the server and the browser.

/// Percent-encodes every byte of `value` that `keep` does not keep.
fn percent_encode(value: &str, keep: impl Fn(u8) -> bool) -> String {
    value
        .bytes()
        .map(|b| {
            if keep(b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A path for a query parameter (`?next=`): unreserved characters and `/` stay as they are.
pub fn url_encode(value: &str) -> String {
    percent_encode(value, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/')
    })
}

/// `Content-Disposition` for a download: an ASCII fallback name for old clients and the
/// exact UTF-8 name in RFC 6266's `filename*`.
pub fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    // RFC 5987's attr-char: letters, digits and !#$&+-.^_`|~ stay as they are.
    let encoded = percent_encode(name, |b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
            )
    });
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// Text for HTML markup built as a string (`inner_html`): the characters that could end an
/// element or a quoted attribute, escaped.
pub fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Whole percent done, 0 to 100; an empty file is 100 % once done.
pub fn percent(done: u64, total: u64) -> u8 {
    if total == 0 {
        return 100;
    }
    ((done.min(total) as f64 / total as f64) * 100.0).floor() as u8
}

/// "1.5 MiB", "12 B".
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// "2 h 05 min", "3 min 20 s", "45 s".
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_is_floored_and_bounded() {
        assert_eq!(percent(0, 0), 100);
        assert_eq!(percent(999, 1000), 99);
        assert_eq!(percent(1000, 1000), 100);
        assert_eq!(percent(2000, 1000), 100);
    }

    #[test]
    fn human_units() {
        assert_eq!(bytes(12), "12 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(40 << 20), "40.0 MiB");
        assert_eq!(duration(45.2), "45 s");
        assert_eq!(duration(200.0), "3 min 20 s");
        assert_eq!(duration(7500.0), "2 h 05 min");
    }

    #[test]
    fn disposition_has_an_ascii_fallback_and_the_exact_name() {
        assert_eq!(
            content_disposition("report.pdf"),
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
        );
        assert_eq!(
            content_disposition("été \"final\".txt"),
            "attachment; filename=\"_t_ _final_.txt\"; filename*=UTF-8''%C3%A9t%C3%A9%20%22final%22.txt"
        );
    }

    #[test]
    fn next_paths_keep_their_slashes_and_encode_the_rest() {
        assert_eq!(url_encode("/files?page=2 é"), "/files%3Fpage%3D2%20%C3%A9");
    }
}
