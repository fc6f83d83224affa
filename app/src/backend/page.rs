//! Paging, the one way every list pages: a page is `PAGE_SIZE` rows fetched with one more
//! (`limit()`), whose last row names where the next page starts (`next_page`). A cursor is
//! the last row's sort key and id (`Key` for a number or a time, `TextKey` for a name), or a
//! plain number (the audit log's entry id); one
//! the server never handed out is malformed. Filters share the day range and the
//! contains-pattern.

use sqlx::{Postgres, QueryBuilder};
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use super::Error;

/// Rows on a page, in every list.
pub const PAGE_SIZE: i64 = 50;

/// What a list fetches: a page and one more, which says whether a next page exists.
pub fn limit() -> i64 {
    PAGE_SIZE + 1
}

/// Where a keyset page starts: the sort key of the last row shown (a time in microseconds,
/// or a size in bytes) and its id, as `KEY_ID` in a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub key: i64,
    pub id: Uuid,
}

impl Key {
    pub fn new(key: i64, id: Uuid) -> Self {
        Self { key, id }
    }

    /// The key of a row sorted by time.
    pub fn at(time: OffsetDateTime, id: Uuid) -> Self {
        Self::new(micros(time), id)
    }

    pub fn parse(cursor: &str) -> Option<Self> {
        let (key, id) = cursor.split_once('_')?;
        Some(Self::new(key.parse().ok()?, Uuid::parse_str(id).ok()?))
    }

    /// The key as a time, when PostgreSQL can compare it: years 1 to 9999 (it holds none
    /// before 4713 BC, and a bound it cannot hold is an error, not an empty page).
    pub fn time(&self) -> Result<OffsetDateTime, Error> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.key) * 1000)
            .ok()
            .filter(|time| (1..=9999).contains(&time.year()))
            .ok_or_else(malformed)
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}", self.key, self.id)
    }
}

/// Where a keyset page of a list sorted by text starts: the text key of the last row shown
/// (a lower-cased name) and its id, as `KEY_ID` in a URL like `Key` (read from the right: the
/// text may hold `_`, an id never does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextKey {
    pub key: String,
    pub id: Uuid,
}

impl TextKey {
    /// Longer than any key the server hands out (a name of 255 characters, lower-cased).
    const MAX_BYTES: usize = 2048;

    pub fn new(key: impl Into<String>, id: Uuid) -> Self {
        Self {
            key: key.into(),
            id,
        }
    }

    pub fn parse(cursor: &str) -> Option<Self> {
        let (key, id) = cursor.rsplit_once('_')?;
        if key.len() > Self::MAX_BYTES || key.contains('\0') {
            return None;
        }
        Some(Self::new(key, Uuid::parse_str(id).ok()?))
    }
}

impl std::fmt::Display for TextKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}", self.key, self.id)
    }
}

/// A time's microseconds since 1970, the key of a list sorted by time.
pub fn micros(time: OffsetDateTime) -> i64 {
    i64::try_from(time.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

fn malformed() -> Error {
    Error::Malformed("invalid cursor".into())
}

/// Keeps the first page of `rows` (fetched with `limit()`) and says where the next page
/// starts, if there is one.
pub fn next_page<T>(rows: &mut Vec<T>, cursor: impl Fn(&T) -> String) -> Option<String> {
    let page = usize::try_from(PAGE_SIZE).unwrap_or(0);
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
        .map(|c| parse(c).ok_or_else(malformed))
        .transpose()
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
    fn cursors_round_trip() {
        let time = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_000).unwrap();
        let id = Uuid::new_v4();
        let key = Key::parse(&Key::at(time, id).to_string()).unwrap();
        assert_eq!((key.time().unwrap(), key.id), (time, id));
        assert_eq!(Key::parse("garbage"), None);
        // Numbers a client made up are checked, never multiplied blindly.
        assert_eq!(Key::parse(&format!("{}_{id}", i128::MAX)), None);
        assert!(Key::new(i64::MIN, id).time().is_err());
        // Times the time crate holds but PostgreSQL does not (about 5950 BC).
        assert!(Key::new(-250_000_000_000_000_000, id).time().is_err());
        // Year 1 is the first it takes.
        let year_one = OffsetDateTime::new_utc(
            Date::from_calendar_date(1, time::Month::January, 1).unwrap(),
            time::Time::MIDNIGHT,
        );
        assert_eq!(Key::at(year_one, id).time().unwrap(), year_one);
    }

    #[test]
    fn text_cursors_round_trip_whatever_the_text_holds() {
        let id = Uuid::new_v4();
        for text in ["", "report_2024_final.pdf", "a b/c?d&e=f", "été_ü"] {
            let key = TextKey::new(text, id);
            assert_eq!(TextKey::parse(&key.to_string()), Some(key), "{text:?}");
        }
        assert_eq!(TextKey::parse("garbage"), None);
        assert_eq!(TextKey::parse(&format!("{id}_x")), None);
        assert_eq!(TextKey::parse(&format!("a\0b_{id}")), None);
        assert_eq!(TextKey::parse(&format!("{}_{id}", "a".repeat(5000))), None);
    }

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
        let size = PAGE_SIZE as usize;
        let mut rows: Vec<usize> = (1..=size + 1).collect();
        assert_eq!(
            next_page(&mut rows, |n| n.to_string()),
            Some(size.to_string())
        );
        assert_eq!(rows.len(), size);
        let mut rows: Vec<usize> = (1..=size).collect();
        assert_eq!(next_page(&mut rows, |n| n.to_string()), None);
        assert_eq!(rows.len(), size);
    }
}
