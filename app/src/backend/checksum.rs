//! SHA-256 checksums as S3 spells them (base64), and the composite checksum S3 gives an object
//! assembled from parts: the SHA-256 of the parts' binary digests, concatenated in part order,
//! followed by `-<number of parts>`. Also the MD5s of `Content-MD5` (base64) and the multipart
//! ETag AWS gives an object assembled from parts: the MD5 of the parts' binary MD5s, in hex,
//! followed by `-<number of parts>`.

use base64::{engine::general_purpose::STANDARD, Engine};
use md5::Md5 as Md5Hasher;
use sha2::{Digest as _, Sha256};

/// A part's SHA-256.
pub type Digest = [u8; 32];

/// A part's MD5.
pub type Md5 = [u8; 16];

/// A `Content-MD5` sent by a client: the base64 of exactly 16 bytes, or None.
pub fn parse_md5(text: &str) -> Option<Md5> {
    STANDARD.decode(text.trim()).ok()?.try_into().ok()
}

pub fn encode_md5(md5: &Md5) -> String {
    STANDARD.encode(md5)
}

/// The ETag AWS gives an object assembled from parts with these MD5s (in part order), without
/// its quotes: hex of the MD5 of the concatenated MD5s, then `-<number of parts>`.
pub fn multipart_etag(parts: &[Md5]) -> String {
    let mut hasher = Md5Hasher::new();
    for part in parts {
        hasher.update(part);
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("{hex}-{}", parts.len())
}

/// Whether a multipart object's ETag says anything about its parts' MD5s: AWS's form, 32 hex
/// digits then `-<parts>`. Other stores (and AWS with SSE-KMS) use ETags of their own.
pub fn etag_is_md5_of_parts(etag: &str) -> bool {
    let etag = etag.trim_matches('"');
    match etag.split_once('-') {
        Some((hex, count)) => {
            hex.len() == 32
                && hex.bytes().all(|b| b.is_ascii_hexdigit())
                && !count.is_empty()
                && count.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

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
/// parts are reported as recorded. Some stores leave the composite's `-<parts>` out: the
/// digest alone is the same checksum.
pub fn stored_matches(recorded: &str, stored: &str) -> bool {
    let bare = |checksum: &str| -> String {
        match checksum.rsplit_once('-') {
            Some((digest, count)) if count.bytes().all(|b| b.is_ascii_digit()) => digest.into(),
            _ => checksum.into(),
        }
    };
    recorded == stored
        || bare(recorded) == bare(stored)
        || parse(recorded).is_some_and(|digest| bare(stored) == bare(&composite(&[digest])))
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
    fn a_composite_without_its_part_count_is_the_same_checksum() {
        let (a, b) = (digest(b"a"), digest(b"b"));
        let two = composite(&[a, b]);
        let bare = two.trim_end_matches("-2");
        assert!(stored_matches(&two, bare));
        assert!(!stored_matches(
            &two,
            composite(&[b, a]).trim_end_matches("-2")
        ));
        // One part: its own digest, or the composite of it, with or without the count.
        let one = recorded(&[a]);
        let one_composite = composite(&[a]);
        assert!(stored_matches(&one, one_composite.trim_end_matches("-1")));
        assert!(!stored_matches(&one, &encode(&b)));
        // Base64 has no '-': only a trailing count is taken off.
        assert!(!stored_matches(&two, &format!("{bare}-x")));
    }

    #[test]
    fn the_multipart_etag_is_the_md5_of_the_part_md5s() {
        // Two parts of 5 MiB of 'a' and 1 byte 'b', as AWS computes it: md5(md5(p1) || md5(p2)).
        let part = |bytes: &[u8]| -> Md5 { Md5Hasher::digest(bytes).into() };
        let (p1, p2) = (part(&vec![b'a'; 5 << 20]), part(b"b"));
        let mut both = p1.to_vec();
        both.extend_from_slice(&p2);
        let expected: String = Md5Hasher::digest(&both)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        assert_eq!(multipart_etag(&[p1, p2]), format!("{expected}-2"));
        assert!(etag_is_md5_of_parts(&format!("\"{expected}-2\"")));
        for other in [
            "abc",
            "\"0123\"",
            &expected,
            "z".repeat(32).as_str(),
            &format!("{expected}-"),
        ] {
            assert!(!etag_is_md5_of_parts(other), "{other}");
        }
        assert_eq!(parse_md5(&encode_md5(&p1)), Some(p1));
        assert_eq!(parse_md5(&STANDARD.encode([0u8; 15])), None);
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
