//! SHA-256 checksums as S3 spells them (base64), and the composite checksum S3 gives an object
//! assembled from parts: the SHA-256 of the parts' binary digests, concatenated in part order,
//! followed by `-<number of parts>`.

use base64::{engine::general_purpose::STANDARD, Engine};
use sha2::{Digest as _, Sha256};

/// A part's SHA-256.
pub type Digest = [u8; 32];

/// A digest sent by a client: the base64 of exactly 32 bytes, or None.
pub fn parse(text: &str) -> Option<Digest> {
    STANDARD.decode(text.trim()).ok()?.try_into().ok()
}

pub fn encode(digest: &Digest) -> String {
    STANDARD.encode(digest)
}

/// The SHA-256 of `bytes`, as S3 spells it.
pub fn of_bytes(bytes: &[u8]) -> String {
    encode(&Sha256::digest(bytes).into())
}

/// What S3 reports for an object assembled from parts with these digests (in part order).
pub fn composite(parts: &[Digest]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    format!("{}-{}", encode(&hasher.finalize().into()), parts.len())
}

/// The checksum Haul records for a file: for one part, that part's SHA-256, which is the
/// SHA-256 of the whole file (what `sha256sum` prints, in base64); for more, the composite.
pub fn recorded(parts: &[Digest]) -> String {
    match parts {
        [only] => encode(only),
        _ => composite(parts),
    }
}

/// Whether the checksum the storage reports for an object is the one recorded for its file.
/// A one-part file records its own SHA-256, which the storage may report as the composite of
/// that one part (`<SHA-256 of the digest>-1`); a 0-byte file's object and files of more
/// parts are reported as recorded.
pub fn stored_matches(recorded: &str, stored: &str) -> bool {
    recorded == stored || parse(recorded).is_some_and(|digest| stored == composite(&[digest]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(bytes: &[u8]) -> Digest {
        Sha256::digest(bytes).into()
    }

    #[test]
    fn the_empty_file_has_the_well_known_digest() {
        assert_eq!(
            of_bytes(b""),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn composite_hashes_the_concatenated_part_digests() {
        let (a, b) = (digest(b"first part"), digest(b"second part"));
        let mut both = a.to_vec();
        both.extend_from_slice(&b);
        assert_eq!(composite(&[a, b]), format!("{}-2", of_bytes(&both)));
        // It is not the digest of the file: that would need every byte again.
        assert_ne!(
            composite(&[a, b]).trim_end_matches("-2"),
            of_bytes(b"first partsecond part")
        );
    }

    #[test]
    fn one_part_records_the_files_own_sha256() {
        let only = digest(b"the whole file");
        assert_eq!(recorded(&[only]), of_bytes(b"the whole file"));
        assert_eq!(recorded(&[only, only]), composite(&[only, only]));
    }

    #[test]
    fn a_one_part_file_matches_its_own_digest_and_its_composite() {
        let only = digest(b"the whole file");
        let recorded = recorded(&[only]);
        assert!(stored_matches(&recorded, &recorded));
        assert!(stored_matches(&recorded, &composite(&[only])));
        let other = digest(b"other bytes");
        assert!(!stored_matches(&recorded, &encode(&other)));
        assert!(!stored_matches(&recorded, &composite(&[other])));
        // More parts: only the composite itself.
        let two = composite(&[only, other]);
        assert!(stored_matches(&two, &two));
        assert!(!stored_matches(&two, &composite(&[other, only])));
    }

    #[test]
    fn only_base64_of_32_bytes_parses() {
        let good = of_bytes(b"x");
        assert_eq!(parse(&good).map(|d| encode(&d)), Some(good.clone()));
        for bad in [
            "",
            "not base64!",
            &good[..20],
            "AAAA",
            &format!("{good}AAAA"),
            &good.replace('=', ""),
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
