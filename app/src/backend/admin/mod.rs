//! What admins can see and do across every account. Each function takes an [`Admin`], which
//! only [`Admin::check`] makes: the role is checked here, in the domain, whatever calls it.

pub mod files;
pub mod overview;
pub mod uploads;
pub mod users;

use std::net::IpAddr;

use sqlx::{Postgres, QueryBuilder};
use time::{Date, Duration, OffsetDateTime};

use super::{
    audit::{self, Actor, Event},
    state::AppState,
    users::User,
    Error,
};
use crate::model::Role;

/// A signed-in, enabled admin, and the address they act from.
#[derive(Debug, Clone)]
pub struct Admin {
    user: User,
    ip: IpAddr,
}

impl Admin {
    /// `user` as an admin, or `Forbidden`.
    pub fn check(user: User, ip: IpAddr) -> Result<Self, Error> {
        if user.role == Role::Admin && !user.disabled {
            Ok(Self { user, ip })
        } else {
            Err(Error::Forbidden)
        }
    }

    pub fn user(&self) -> &User {
        &self.user
    }

    pub fn actor(&self) -> Actor {
        Actor::user(&self.user, Some(self.ip))
    }

    /// Records what this admin did.
    async fn record(&self, state: &AppState, event: Event<'_>) -> anyhow::Result<()> {
        audit::record(&state.db, &self.actor(), event).await
    }
}

/// An inclusive range of days (UTC) from a filter's `from` and `to`, each YYYY-MM-DD or empty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayRange {
    from: Option<Date>,
    to: Option<Date>,
}

impl DayRange {
    /// A day that is not YYYY-MM-DD, or a range that ends before it starts, is malformed.
    pub fn parse(from: &str, to: &str) -> Result<Self, Error> {
        let day = |text: &str, name: &str| -> Result<Option<Date>, Error> {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            parse_day(text)
                .map(Some)
                .ok_or_else(|| Error::Malformed(format!("{name} must be a day as YYYY-MM-DD")))
        };
        let range = Self {
            from: day(from, "from")?,
            to: day(to, "to")?,
        };
        if let (Some(from), Some(to)) = (range.from, range.to) {
            if to < from {
                return Err(Error::Malformed("the range ends before it starts".into()));
            }
        }
        Ok(range)
    }

    /// `and column >= from and column < to + 1 day`, for the days given.
    pub fn push_conditions(&self, query: &mut QueryBuilder<'_, Postgres>, column: &str) {
        let midnight = |day: Date| OffsetDateTime::new_utc(day, time::Time::MIDNIGHT);
        if let Some(from) = self.from {
            query
                .push(format!(" and {column} >= "))
                .push_bind(midnight(from));
        }
        // After the calendar's last day (9999-12-31) there is nothing to leave out.
        let end = self
            .to
            .and_then(|to| midnight(to).checked_add(Duration::days(1)));
        if let Some(end) = end {
            query.push(format!(" and {column} < ")).push_bind(end);
        }
    }
}

/// YYYY-MM-DD, a day that exists.
fn parse_day(text: &str) -> Option<Date> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shaped {
        return None;
    }
    let year = text[..4].parse().ok()?;
    let month = time::Month::try_from(text[5..7].parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(year, month, text[8..].parse().ok()?).ok()
}

/// Keeps the first `page` of `rows` (fetched with one more than a page) and says where the
/// next page starts, if there is one.
pub fn next_page<T>(rows: &mut Vec<T>, page: i64, cursor: impl Fn(&T) -> String) -> Option<String> {
    let page = usize::try_from(page).unwrap_or(0);
    if rows.len() > page {
        rows.truncate(page);
        rows.last().map(cursor)
    } else {
        None
    }
}

/// A cursor from the client, read with `parse`: None for the first page; one the server never
/// handed out is malformed.
pub fn read_cursor<T>(
    cursor: Option<&str>,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, Error> {
    cursor
        .filter(|c| !c.is_empty())
        .map(|c| parse(c).ok_or_else(|| Error::Malformed("invalid cursor".into())))
        .transpose()
}

/// `%part%` for ILIKE, with the pattern's own wildcards taken literally.
pub fn contains_pattern(part: &str) -> String {
    let escaped = part
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_ranges_take_days_and_refuse_the_rest() {
        assert_eq!(DayRange::parse("", "").unwrap(), DayRange::default());
        let range = DayRange::parse("2026-11-01", "2026-11-28").unwrap();
        assert_eq!(range.from.unwrap().to_string(), "2026-11-01");
        for (from, to) in [
            ("yesterday", ""),
            ("", "2026-13-01"),
            ("2026-11-02", "2026-11-01"),
        ] {
            assert!(
                matches!(DayRange::parse(from, to), Err(Error::Malformed(_))),
                "{from} {to}"
            );
        }
    }

    #[test]
    fn substrings_match_wildcards_literally() {
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn a_page_ends_where_the_next_begins() {
        let mut rows = vec![1, 2, 3];
        assert_eq!(next_page(&mut rows, 2, |n| n.to_string()), Some("2".into()));
        assert_eq!(rows, [1, 2]);
        let mut rows = vec![1, 2];
        assert_eq!(next_page(&mut rows, 2, |n| n.to_string()), None);
    }
}
