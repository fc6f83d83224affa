//! How a file is cut into parts. Shared by the server (which decides) and the browser's upload
//! engine (which slices), and covered by plain `cargo test`.

use serde::{Deserialize, Serialize};

pub const KIB: u64 = 1024;
pub const MIB: u64 = 1024 * KIB;
pub const GIB: u64 = 1024 * MIB;
pub const TIB: u64 = 1024 * GIB;

/// S3's limits: parts of 5 MiB to 5 GiB (the last may be smaller), at most 10 000 of them.
pub const S3_MIN_PART: u64 = 5 * MIB;
pub const S3_MAX_PART: u64 = 5 * GIB;
pub const S3_MAX_PARTS: u64 = 10_000;
/// Haul's default part size: big enough to keep request overhead low, small enough that a
/// retry re-sends little.
pub const DEFAULT_PART_SIZE: u64 = 16 * MIB;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Bytes in every part but the last.
    pub part_size: u64,
    /// At least 1 (a 0-byte file is one empty PUT).
    pub part_count: u32,
}

impl Plan {
    /// One pre-signed PUT, no multipart upload.
    pub fn is_single(&self) -> bool {
        self.part_count == 1
    }

    /// Byte range `[start, end)` of part `number` (1-based) of a file of `size` bytes.
    pub fn range(&self, size: u64, number: u32) -> (u64, u64) {
        let start = u64::from(number.saturating_sub(1)) * self.part_size;
        let end = (start + self.part_size).min(size);
        (start.min(size), end)
    }
}

/// Parts a large file is cut into, about: past `PARTS_AIMED` parts of `min_part_size`, the parts
/// grow with the file (up to `GROWN_PART_MAX`), so a 50 GiB upload signs and records about a
/// thousand parts rather than 3 200. Each part is a URL signed, a digest row written and a
/// PUT, so fewer parts are less work for the server and the database, and fewer requests.
/// What a larger part costs is bounded by `GROWN_PART_MAX`: a failed part sends that much
/// again, and the browser holds the part being hashed twice (its buffer and Web Crypto's copy).
pub const PARTS_AIMED: u64 = 1024;
/// The largest part the growth gives: 64 MiB is 5 s to send again at 100 Mbit/s, and 128 MiB
/// of the browser's memory while it is hashed. Past 64 GiB the parts stay this size until
/// S3's 10 000 parts make them grow again (625 GiB).
pub const GROWN_PART_MAX: u64 = 64 * MIB;

/// `min_part_size` (the HAUL_PART_SIZE setting) or larger: about `PARTS_AIMED` parts up to
/// `GROWN_PART_MAX` each, and always few enough for S3 (10 000 parts).
pub fn plan(size: u64, min_part_size: u64) -> Result<Plan, String> {
    let min_part_size = min_part_size.clamp(S3_MIN_PART, S3_MAX_PART);
    let grown = size.div_ceil(PARTS_AIMED).min(GROWN_PART_MAX);
    let needed = size.div_ceil(S3_MAX_PARTS);
    let part_size = min_part_size.max(grown).max(needed).div_ceil(MIB) * MIB;
    if part_size > S3_MAX_PART {
        return Err(format!(
            "A file can be at most {} GiB in S3 (10 000 parts of 5 GiB).",
            S3_MAX_PART * S3_MAX_PARTS / GIB
        ));
    }
    let part_count = size.div_ceil(part_size).max(1);
    Ok(Plan {
        part_size,
        part_count: u32::try_from(part_count).map_err(|_| "too many parts".to_owned())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_s3_bounds(size: u64, plan: Plan) {
        assert!(
            u64::from(plan.part_count) <= S3_MAX_PARTS,
            "{size}: {plan:?}"
        );
        assert!(
            plan.part_size >= S3_MIN_PART && plan.part_size <= S3_MAX_PART,
            "{size}: {plan:?}"
        );
        assert_eq!(plan.part_size % MIB, 0);
        // The parts cover the file exactly.
        let (_, end) = plan.range(size, plan.part_count);
        assert_eq!(end, size);
        assert!(u64::from(plan.part_count - 1) * plan.part_size < size.max(1));
    }

    #[test]
    fn one_byte_is_a_single_put() {
        let plan = plan(1, DEFAULT_PART_SIZE).unwrap();
        assert_eq!(
            plan,
            Plan {
                part_size: DEFAULT_PART_SIZE,
                part_count: 1
            }
        );
        assert!(plan.is_single());
        assert_eq!(plan.range(1, 1), (0, 1));
    }

    #[test]
    fn zero_bytes_is_one_empty_put() {
        let plan = plan(0, DEFAULT_PART_SIZE).unwrap();
        assert_eq!(plan.part_count, 1);
        assert_eq!(plan.range(0, 1), (0, 0));
    }

    #[test]
    fn exactly_one_part_is_a_single_put_and_one_byte_more_is_two_parts() {
        assert_eq!(
            plan(DEFAULT_PART_SIZE, DEFAULT_PART_SIZE)
                .unwrap()
                .part_count,
            1
        );
        let over = plan(DEFAULT_PART_SIZE + 1, DEFAULT_PART_SIZE).unwrap();
        assert_eq!(over.part_count, 2);
        assert_eq!(
            over.range(DEFAULT_PART_SIZE + 1, 2),
            (DEFAULT_PART_SIZE, DEFAULT_PART_SIZE + 1)
        );
    }

    #[test]
    fn five_gib_uses_the_default_part_size() {
        let size = 5 * GIB;
        let plan = plan(size, DEFAULT_PART_SIZE).unwrap();
        assert_eq!(plan.part_size, DEFAULT_PART_SIZE);
        assert_eq!(plan.part_count, 320);
        check_s3_bounds(size, plan);
    }

    #[test]
    fn up_to_sixteen_gib_the_parts_keep_the_set_size() {
        let plan = plan(16 * GIB, DEFAULT_PART_SIZE).unwrap();
        assert_eq!((plan.part_size, plan.part_count), (DEFAULT_PART_SIZE, 1024));
    }

    #[test]
    fn fifty_gib_goes_in_about_a_thousand_larger_parts() {
        let size = 50 * GIB;
        let plan = plan(size, DEFAULT_PART_SIZE).unwrap();
        assert_eq!((plan.part_size, plan.part_count), (50 * MIB, 1024));
        check_s3_bounds(size, plan);
        // 50 GB as a user counts it: 47 MiB parts.
        let plan = super::plan(50_000_000_000, DEFAULT_PART_SIZE).unwrap();
        assert_eq!((plan.part_size, plan.part_count), (47 * MIB, 1015));
    }

    #[test]
    fn grown_parts_stop_at_64_mib_until_s3s_limit_makes_them_grow() {
        let plan100 = plan(100 * GIB, DEFAULT_PART_SIZE).unwrap();
        assert_eq!((plan100.part_size, plan100.part_count), (64 * MIB, 1600));
        let plan1t = plan(TIB, DEFAULT_PART_SIZE).unwrap();
        assert_eq!(plan1t.part_size, 105 * MIB);
        check_s3_bounds(TIB, plan1t);
    }

    #[test]
    fn a_larger_set_part_size_is_kept() {
        assert_eq!(plan(50 * GIB, 128 * MIB).unwrap().part_size, 128 * MIB);
    }

    #[test]
    fn ten_tib_grows_the_parts_to_stay_within_ten_thousand() {
        let size = 10 * TIB;
        let plan = plan(size, DEFAULT_PART_SIZE).unwrap();
        // ceil(10 TiB / 10 000) = 1 099 511 628 bytes, rounded up to 1049 MiB.
        assert_eq!(plan.part_size, 1049 * MIB);
        check_s3_bounds(size, plan);
    }

    #[test]
    fn beyond_what_s3_can_hold_is_refused() {
        assert!(plan(S3_MAX_PART * S3_MAX_PARTS + 1, DEFAULT_PART_SIZE).is_err());
    }

    #[test]
    fn a_small_configured_part_size_is_raised_to_s3s_minimum() {
        assert_eq!(plan(100 * MIB, MIB).unwrap().part_size, S3_MIN_PART);
    }

    #[test]
    fn odd_sizes_stay_within_bounds() {
        for size in [
            2,
            5 * MIB - 1,
            16 * MIB * 10_000 + 1,
            123_456_789_012,
            48 * TIB,
        ] {
            check_s3_bounds(size, plan(size, DEFAULT_PART_SIZE).unwrap());
        }
    }
}
