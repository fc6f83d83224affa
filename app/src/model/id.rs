//! Ids and email addresses as types, read once where a request is read (serde), so no domain
//! function takes an id as text and parses it again.
//!
//! An id read from a client that is not a UUID is the nil id, which no row has: a malformed
//! id answers like a missing one, and like someone else's (404 alike), never as a separate
//! "bad request" that would tell an attacker which ids have the right shape.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub Uuid);

        impl $name {
            /// `text` as an id; anything that is not a UUID is the nil id, which no row has.
            pub fn read(text: &str) -> Self {
                Self(Uuid::parse_str(text.trim()).unwrap_or(Uuid::nil()))
            }
        }

        /// As text, the lower-case hyphenated form (written by hand: the browser bundle
        /// carries no formatting machinery for it).
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.0.hyphenated().encode_lower(&mut Uuid::encode_buffer()))
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Ok(Self::read(&String::deserialize(deserializer)?))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.0.hyphenated().encode_lower(&mut Uuid::encode_buffer()))
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

uuid_id!(
    /// A file's id (`file.file_id`).
    FileId
);
uuid_id!(
    /// An account's id (`app_user.app_user_id`).
    UserId
);
uuid_id!(
    /// An upload request's id (`upload_request.request_id`).
    RequestId
);
uuid_id!(
    /// A share link's id (`share_link.share_id`): names the link to its owner and admins;
    /// visitors hold its token instead.
    ShareId
);

/// An email address in the form accounts are kept under: trimmed, lower-case ASCII, checked
/// (`validate::email` makes one, with a message for the user when it cannot).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// For `validate::email` only, which has checked `address`.
    pub(crate) fn checked(address: String) -> Self {
        Self(address)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_from_text_and_write_back_alike() {
        let id = Uuid::from_u128(0x1234);
        let file = FileId::read(&format!(" {id} "));
        assert_eq!(file, FileId(id));
        assert_eq!(file.to_string(), id.to_string());
        let json = serde_json::to_string(&file).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<FileId>(&json).unwrap(), file);
    }

    #[test]
    fn a_malformed_id_is_one_no_row_has() {
        for text in ["not-a-uuid", "", "12_garbage"] {
            assert_eq!(FileId::read(text), FileId(Uuid::nil()), "{text}");
            let json = serde_json::to_string(text).unwrap();
            assert_eq!(
                serde_json::from_str::<UserId>(&json).unwrap(),
                UserId(Uuid::nil())
            );
        }
    }
}
