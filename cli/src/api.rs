//! Haul's HTTP API as the command line calls it: the same `/api/` endpoints as the browser,
//! with `Authorization: Bearer <token>` instead of a session. Server functions take forms (or
//! JSON for `sign_parts`) and answer JSON; an error answers its status with the server's error
//! as JSON (`"NotFound"`, `{"Invalid":[…]}`, …), and a refused token says why in
//! `WWW-Authenticate`.

use std::{cell::RefCell, time::Duration};

use serde::{de::DeserializeOwned, Deserialize};
use serde_json::Value;
use transfer::{
    engine::CallError,
    wire::{PartDigest, SignedPart, UploadedPart},
};
use uuid::Uuid;

/// A file as the server records it (the fields the command line uses).
#[derive(Debug, Clone, Deserialize)]
pub struct RemoteFile {
    pub id: Uuid,
    pub name: String,
    pub size_bytes: u64,
    pub status: String,
    pub created_at: String,
    #[serde(default)]
    pub failure: Option<String>,
    #[serde(default)]
    pub checksum: Option<String>,
    pub part_size: u64,
    #[serde(default)]
    pub integrity: String,
}

#[derive(Debug, Deserialize)]
pub struct NewUpload {
    pub file: RemoteFile,
    pub part_size: u64,
    pub part_count: u32,
}

#[derive(Debug, Deserialize)]
pub struct FilePage {
    pub files: Vec<RemoteFile>,
    pub next_cursor: Option<String>,
}

pub struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
    /// The last refusal of the token itself (401/403), to exit with its own code.
    pub token_refused: RefCell<Option<String>>,
}

impl Api {
    pub fn new(base: &str, token: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(20))
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("haul/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            token_refused: RefCell::new(None),
        })
    }

    fn url(&self, endpoint: &str) -> String {
        format!("{}/api/{endpoint}", self.base)
    }

    /// POSTs `form` to `endpoint`; answers its JSON, or the error sorted for the core.
    pub async fn form<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> Result<T, CallError> {
        let request = self.http.post(self.url(endpoint)).form(form);
        self.send(request).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, CallError> {
        let response = request.bearer_auth(&self.token).send().await.map_err(|e| {
            CallError::Transient(format!("Could not reach the server: {}", plain(&e)))
        })?;
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.bytes().await.map_err(|e| {
            CallError::Transient(format!("The server's answer was cut off: {}", plain(&e)))
        })?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&body).map_err(|e| {
                CallError::Failed(format!("The server answered something unexpected: {e}"))
            });
        }
        let error = sort(status, &body, challenge.as_deref());
        if matches!(status, 401 | 403) {
            *self.token_refused.borrow_mut() = Some(error.words().to_owned());
        }
        Err(error)
    }

    /// Starts an upload; with `part_size`, parts of at least that many bytes.
    pub async fn start_with(
        &self,
        name: &str,
        size: u64,
        content_type: &str,
        part_size: Option<u64>,
    ) -> Result<NewUpload, CallError> {
        let size = size.to_string();
        let form = [
            ("name", name),
            ("size", &size),
            ("content_type", content_type),
        ];
        let mut request = self.http.post(self.url("start_upload")).form(&form);
        if let Some(part_size) = part_size {
            request = request.header("haul-part-size", part_size);
        }
        self.send(request).await
    }

    pub async fn sign_parts(
        &self,
        id: Uuid,
        parts: Vec<PartDigest>,
    ) -> Result<Vec<SignedPart>, CallError> {
        let body = serde_json::json!({ "file_id": id, "parts": parts });
        let request = self.http.post(self.url("sign_parts")).json(&body);
        self.send(request).await
    }

    pub async fn uploaded_parts(&self, id: Uuid) -> Result<Vec<UploadedPart>, CallError> {
        self.form("uploaded_parts", &[("file_id", &id.to_string())])
            .await
    }

    pub async fn complete(&self, id: Uuid) -> Result<RemoteFile, CallError> {
        self.form("complete_upload", &[("file_id", &id.to_string())])
            .await
    }

    pub async fn abort(&self, id: Uuid) -> Result<(), CallError> {
        self.form("abort_upload", &[("file_id", &id.to_string())])
            .await
    }

    pub async fn get_file(&self, id: Uuid) -> Result<RemoteFile, CallError> {
        self.form("get_file", &[("file_id", &id.to_string())]).await
    }

    pub async fn report_refusal(
        &self,
        id: Uuid,
        number: u32,
        words: &str,
    ) -> Result<(), CallError> {
        let number = number.to_string();
        let form = [
            ("file_id", id.to_string()),
            ("part_number", number),
            ("refusal", words.to_owned()),
        ];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.form("report_refusal", &form).await
    }

    pub async fn list(&self, cursor: Option<&str>) -> Result<FilePage, CallError> {
        match cursor {
            Some(cursor) => self.form("list_files", &[("cursor", cursor)]).await,
            None => self.form("list_files", &[]).await,
        }
    }

    pub async fn download_url(&self, id: Uuid) -> Result<String, CallError> {
        self.form("download_url", &[("file_id", &id.to_string())])
            .await
    }

    pub async fn delete(&self, id: Uuid) -> Result<(), CallError> {
        self.form("delete_file", &[("file_id", &id.to_string())])
            .await
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

/// A reqwest error in a line, with its cause (reqwest's own says only "error sending request").
pub fn plain(error: &dyn std::error::Error) -> String {
    let mut words = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        words.push_str(": ");
        words.push_str(&cause.to_string());
        source = cause.source();
    }
    words
}

/// An error answer, sorted as the core needs it, in words: the token's refusal from
/// `WWW-Authenticate`, else the server's error, else what the status says.
pub fn sort(status: u16, body: &[u8], challenge: Option<&str>) -> CallError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    // `"NotFound"` or `{"Invalid": …}`.
    let (variant, inner) = match &parsed {
        Some(Value::String(name)) => (name.as_str(), Value::Null),
        Some(Value::Object(map)) if map.len() == 1 => match map.iter().next() {
            Some((name, inner)) => (name.as_str(), inner.clone()),
            None => ("", Value::Null),
        },
        _ => ("", Value::Null),
    };
    let text = inner.as_str().map(str::to_owned);
    if let Some(reason) = challenge.and_then(description) {
        return CallError::Failed(format!("The token was refused: {reason}"));
    }
    match variant {
        "Unavailable" | "Unreachable" | "Conflict" => {
            CallError::Transient(text.unwrap_or_else(|| "The server is busy.".to_owned()))
        }
        "RateLimited" => CallError::Transient(format!(
            "Too many requests; the server asks to wait {} s.",
            inner["retry_after"].as_u64().unwrap_or(1)
        )),
        "Invalid" => {
            let words: Vec<&str> = inner
                .as_array()
                .map(|fields| {
                    fields
                        .iter()
                        .filter_map(|f| f["message"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            CallError::Refused(if words.is_empty() {
                "The server refused the request.".to_owned()
            } else {
                words.join(" ")
            })
        }
        "NotFound" => CallError::NotFound("No such file (or not yours).".to_owned()),
        "PartsMissing" => CallError::PartsMissing(format!(
            "{} part(s) have not arrived in the storage.",
            inner["parts"].as_array().map_or(0, Vec::len)
        )),
        "Unauthorized" => {
            CallError::Failed("The server wants a token: run `haul login`.".to_owned())
        }
        "Forbidden" => CallError::Failed("The token is not allowed to do that.".to_owned()),
        "StorageRefused" | "Internal" | "BadRequest" => {
            CallError::Failed(text.unwrap_or_else(|| format!("The server failed (HTTP {status}).")))
        }
        _ => match status {
            408 | 429 | 500..=599 => CallError::Transient(format!(
                "The server could not answer just now (HTTP {status})."
            )),
            _ => CallError::Failed(format!("The server answered HTTP {status}.")),
        },
    }
}

/// `error_description="…"` of a `WWW-Authenticate: Bearer …` challenge.
fn description(challenge: &str) -> Option<String> {
    let start = challenge.find("error_description=\"")? + "error_description=\"".len();
    let end = start + challenge[start..].find('"')?;
    Some(challenge[start..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_sorted_as_the_core_needs_them() {
        let busy = sort(409, br#"{"Conflict":"busy"}"#, None);
        assert_eq!(busy, CallError::Transient("busy".into()));
        assert!(matches!(
            sort(503, b"<html>", None),
            CallError::Transient(_)
        ));
        assert!(matches!(
            sort(
                409,
                br#"{"PartsMissing":{"parts":[3],"part_count":4}}"#,
                None
            ),
            CallError::PartsMissing(_)
        ));
        let invalid = sort(
            422,
            br#"{"Invalid":[{"field":"name","message":"Too long."}]}"#,
            None,
        );
        assert_eq!(invalid, CallError::Refused("Too long.".into()));
        assert!(matches!(
            sort(404, br#""NotFound""#, None),
            CallError::NotFound(_)
        ));
        let revoked = sort(
            401,
            br#""Unauthorized""#,
            Some(r#"Bearer error="invalid_token", error_description="This token was revoked.""#),
        );
        assert_eq!(
            revoked,
            CallError::Failed("The token was refused: This token was revoked.".into())
        );
    }
}
