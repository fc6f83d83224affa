//! Data shapes shared by the server and the browser. Nothing secret lives here.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    /// The database's spelling; anything unknown is the least privileged role.
    pub fn from_db(role: &str) -> Self {
        match role {
            "admin" => Role::Admin,
            _ => Role::User,
        }
    }
}

/// The signed-in user as the browser sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub email: String,
    pub role: Role,
    pub quota_bytes: u64,
    pub used_bytes: u64,
    pub reserved_bytes: u64,
}
