//! Uploads that may be resumed: what the browser keeps about each one (in localStorage), so
//! that picking the same file again after a reload continues where it stopped. The parts
//! themselves are never trusted from here: S3's list (`uploaded_parts`) says what arrived.

use serde::{Deserialize, Serialize};

use crate::model::{FileId, Integrity};

/// How many unfinished uploads are remembered; the oldest are forgotten first.
pub const MAX_REMEMBERED: usize = 50;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    pub file_id: FileId,
    pub name: String,
    pub size: u64,
    /// The file's lastModified (ms): a changed file with the same name is not the same file.
    pub last_modified: f64,
    pub part_size: u64,
    pub part_count: u32,
    /// What the storage checks each part against, which decides the digests sent with it.
    /// Uploads remembered before it was kept were all `Sha256`.
    #[serde(default)]
    pub integrity: Integrity,
}

impl Saved {
    pub fn matches(&self, name: &str, size: u64, last_modified: f64) -> bool {
        self.name == name && self.size == size && self.last_modified == last_modified
    }
}

/// The remembered upload of this very file, if any.
pub fn find(saved: &[Saved], name: &str, size: u64, last_modified: f64) -> Option<Saved> {
    saved
        .iter()
        .rev()
        .find(|s| s.matches(name, size, last_modified))
        .cloned()
}

/// `saved` with `entry` added (replacing an older entry for the same file).
pub fn remember(mut saved: Vec<Saved>, entry: Saved) -> Vec<Saved> {
    saved.retain(|s| {
        s.file_id != entry.file_id && !s.matches(&entry.name, entry.size, entry.last_modified)
    });
    saved.push(entry);
    let excess = saved.len().saturating_sub(MAX_REMEMBERED);
    saved.drain(..excess);
    saved
}

pub fn forget(mut saved: Vec<Saved>, file_id: FileId) -> Vec<Saved> {
    saved.retain(|s| s.file_id != file_id);
    saved
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> FileId {
        FileId(uuid::Uuid::from_u128(n))
    }

    fn entry(n: u128, name: &str, modified: f64) -> Saved {
        Saved {
            file_id: id(n),
            name: name.into(),
            size: 100,
            last_modified: modified,
            part_size: 16 << 20,
            part_count: 1,
            integrity: Integrity::Sha256,
        }
    }

    #[test]
    fn the_same_file_is_found_and_a_changed_one_is_not() {
        let saved = vec![entry(1, "video.mp4", 1.0)];
        assert_eq!(find(&saved, "video.mp4", 100, 1.0).unwrap().file_id, id(1));
        assert!(find(&saved, "video.mp4", 100, 2.0).is_none());
        assert!(find(&saved, "video.mp4", 101, 1.0).is_none());
        assert!(find(&saved, "other.mp4", 100, 1.0).is_none());
    }

    #[test]
    fn remembering_replaces_the_same_file_and_keeps_the_newest() {
        let saved = remember(vec![entry(1, "video.mp4", 1.0)], entry(2, "video.mp4", 1.0));
        assert_eq!(saved, vec![entry(2, "video.mp4", 1.0)]);
        let mut many = Vec::new();
        for n in 0..60 {
            many = remember(many, entry(n, &format!("f{n}"), 1.0));
        }
        assert_eq!(many.len(), MAX_REMEMBERED);
        assert_eq!(many[0].file_id, id(10));
    }

    #[test]
    fn forgetting_removes_by_id() {
        let saved = vec![entry(1, "x", 1.0), entry(2, "y", 1.0)];
        assert_eq!(forget(saved, id(1)), vec![entry(2, "y", 1.0)]);
    }
}
