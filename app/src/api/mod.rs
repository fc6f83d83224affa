//! Server functions: thin, public HTTP endpoints under /api/. Each one checks the session
//! itself (through `require_user`/`require_admin`) and calls into `backend`.
//!
//! Module names: a module about a kind of record is plural, like its table's rows
//! (`files`, `uploads`, `users`, here and in `backend`); one about a concern is singular
//! (`auth`, `session`, `storage`, `admin`).

pub mod admin;
pub mod auth;
pub mod client;
pub mod files;
pub mod notifications;
pub mod requests;
pub mod shares;
pub mod uploads;

#[cfg(feature = "ssr")]
mod guard;
#[cfg(feature = "ssr")]
pub use guard::*;

/// Where to go after signing in: only a local path, never another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[cfg(feature = "ssr")]
    #[test]
    fn the_proxy_appended_address_wins_over_forged_ones() {
        let mut headers = axum::http::HeaderMap::new();
        headers.append("x-forwarded-for", "6.6.6.6, 10.0.0.1".parse().unwrap());
        headers.append("x-forwarded-for", "203.0.113.7".parse().unwrap());
        assert_eq!(
            super::guard::last_forwarded_for(&headers),
            Some("203.0.113.7".parse().unwrap())
        );
        assert_eq!(
            super::guard::last_forwarded_for(&axum::http::HeaderMap::new()),
            None
        );
    }

    /// A forged address before an entry that does not parse as a bare address is never taken.
    #[cfg(feature = "ssr")]
    #[test]
    fn only_the_last_forwarded_entry_counts_with_or_without_its_port() {
        let last = |values: &[&str]| {
            let mut headers = axum::http::HeaderMap::new();
            for value in values {
                headers.append("x-forwarded-for", value.parse().unwrap());
            }
            super::guard::last_forwarded_for(&headers)
        };
        let ip = |text: &str| Some(text.parse::<std::net::IpAddr>().unwrap());
        assert_eq!(last(&["1.2.3.4, 203.0.113.9:51234"]), ip("203.0.113.9"));
        assert_eq!(last(&["1.2.3.4", "[2001:db8::1]:443"]), ip("2001:db8::1"));
        assert_eq!(last(&["1.2.3.4, unknown"]), None);
        assert_eq!(last(&["1.2.3.4", "not an address"]), None);
        assert_eq!(last(&["1.2.3.4, "]), None);
    }

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/account?tab=1")), "/account?tab=1");
        assert_eq!(safe_next(None), "/");
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "evil",
            "/a\nb",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
    }
}
