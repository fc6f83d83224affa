//! `server storage check`, and the same probe at start: what the configured store really does
//! with the requests Haul relies on. It sends them the way a browser does (real bytes to URLs
//! `Storage` pre-signs, a CORS preflight from HAUL_PUBLIC_ORIGIN), under scratch keys in
//! `haul-probe/<uuid>/` that it removes afterwards, whatever happened. [`rows`] turns what it
//! saw into a table, each line with what it means for users and what to do; it is pure.

use std::{fmt, process::ExitCode, time::Duration};

use app::backend::storage::{classify, ErrorClass, SignedDigest, Storage, StoredPart};
use aws_sdk_s3::error::ProvideErrorMetadata;
use base64::{engine::general_purpose::STANDARD, Engine};
use md5::{Digest as _, Md5};

use crate::{
    local_stack::LocalStack,
    settings::{ChecksumSetting, Settings},
    startup::connect_storage,
};
use app::model::Integrity;

/// Scratch keys live under `PREFIX<uuid>/`.
pub const PREFIX: &str = "haul-probe/";

/// Part numbers of the upload that takes SHA-256 checksums: the part that is completed, and
/// the part PUT with bytes that do not match its signed SHA-256.
pub const GOOD_PART: i32 = 1;
pub const WRONG_SHA256_PART: i32 = 2;
/// Part numbers of the upload without checksums.
pub const WRONG_MD5_PART: i32 = 1;
pub const RIGHT_MD5_PART: i32 = 2;
pub const LONGER_PART: i32 = 3;

const URL_TTL: Duration = Duration::from_secs(300);

/// How a store answered one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// 2xx.
    Accepted,
    /// Any other status, with the S3 error code of its body when it has one.
    Refused {
        status: u16,
        code: Option<String>,
        message: Option<String>,
    },
    /// No answer at all, or the request could not be made.
    Failed(String),
}

impl Answer {
    fn code(&self) -> Option<&str> {
        match self {
            Answer::Refused { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Accepted => write!(f, "accepted"),
            Answer::Refused { status, code, .. } => {
                write!(f, "{status} {}", code.as_deref().unwrap_or("(no code)"))?;
                if let Answer::Refused {
                    message: Some(message),
                    ..
                } = self
                {
                    write!(f, " \"{message}\"")?;
                }
                Ok(())
            }
            Answer::Failed(why) => write!(f, "no answer ({why})"),
        }
    }
}

/// The checksum HeadObject reports for an object completed from one part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Composite {
    /// `<base64>-1`, as AWS does and Haul expects.
    WithCount(String),
    /// `<base64>` alone.
    WithoutCount(String),
    Absent,
    /// CompleteMultipartUpload with the part's SHA-256 failed: why.
    NotCompleted(String),
}

/// The CORS preflight of a part PUT from HAUL_PUBLIC_ORIGIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preflight {
    Passed,
    /// What was wrong with the answer.
    Refused(String),
    Failed(String),
}

/// The bucket's rule that aborts incomplete multipart uploads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lifecycle {
    AbortsAfterDays(i32),
    Missing,
    Unknown(String),
}

/// Everything the probe saw; None where a step could not be tried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// CreateMultipartUpload with `x-amz-checksum-algorithm: SHA256`.
    pub create_sha256: Option<Answer>,
    /// A part PUT with its right SHA-256.
    pub sha256_right: Option<Answer>,
    /// A part PUT whose bytes do not match its signed SHA-256.
    pub sha256_wrong: Option<Answer>,
    pub composite: Option<Composite>,
    /// A part PUT one byte longer than its signed Content-Length.
    pub longer_body: Option<Answer>,
    pub md5_right: Option<Answer>,
    pub md5_wrong: Option<Answer>,
    pub after_complete: Option<Answer>,
    pub after_abort: Option<Answer>,
    pub preflight: Option<Preflight>,
    /// Whether the part PUT's answer exposes ETag to the page (`Access-Control-Expose-Headers`).
    pub exposes_etag: Option<bool>,
    pub lifecycle: Option<Lifecycle>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        })
    }
}

/// One line of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub check: &'static str,
    pub level: Level,
    /// What the store did, in a few words (the start log line is made of these).
    pub found: String,
    /// For warn and fail: what it means for users, and what to do.
    pub meaning: Option<String>,
    pub advice: Option<String>,
}

fn row(check: &'static str, level: Level, found: impl Into<String>) -> Row {
    Row {
        check,
        level,
        found: found.into(),
        meaning: None,
        advice: None,
    }
}

impl Row {
    fn means(mut self, meaning: impl Into<String>, advice: impl Into<String>) -> Self {
        self.meaning = Some(meaning.into());
        self.advice = Some(advice.into());
        self
    }
}

const CORS_ADVICE: &str = "set the bucket's CORS rule as the README's \"Using your own S3\" shows \
     (cors.json, with HAUL_PUBLIC_ORIGIN as the allowed origin), or HAUL_S3_SETUP_BUCKET=true; \
     a store that has no per-bucket CORS has its own setting (MinIO: \
     MINIO_API_CORS_ALLOW_ORIGIN=<HAUL_PUBLIC_ORIGIN>)";

const NOT_TRIED: &str = "not tried";

/// Whether a store refused with a code Haul reads as a bad digest (a part that failed for good).
fn digest_refusal(answer: &Answer) -> bool {
    matches!(answer, Answer::Refused { code, .. }
        if classify(code.as_deref()) == ErrorClass::Refused)
}

/// The table for HAUL_S3_CHECKSUM=auto.
pub fn rows(findings: &Findings, origin: &str) -> Vec<Row> {
    rows_for(findings, origin, ChecksumSetting::Auto)
}

/// Whether uploads with SHA-256 checksums work on the store and it refuses a wrong part:
/// what `HAUL_S3_CHECKSUM=sha256` needs.
pub fn sha256_enforced(findings: &Findings) -> bool {
    findings.create_sha256 == Some(Answer::Accepted)
        && findings.sha256_right == Some(Answer::Accepted)
        && matches!(findings.sha256_wrong, Some(Answer::Refused { .. }))
        && !matches!(findings.composite, Some(Composite::NotCompleted(_)))
}

/// Whether the store refuses a part whose Content-MD5 does not match: what
/// `HAUL_S3_CHECKSUM=md5` needs.
pub fn md5_enforced(findings: &Findings) -> bool {
    findings.md5_right == Some(Answer::Accepted)
        && matches!(findings.md5_wrong, Some(Answer::Refused { .. }))
}

/// What `HAUL_S3_CHECKSUM=auto` uses on a store that answered the probe so: SHA-256 where the
/// store enforces it, else Content-MD5 where it enforces that, else sizes only.
pub fn integrity_for(findings: &Findings) -> Integrity {
    if sha256_enforced(findings) {
        Integrity::Sha256
    } else if md5_enforced(findings) {
        Integrity::Md5
    } else {
        Integrity::None
    }
}

/// The table, one row per thing Haul relies on, for uploads checked as `setting` says.
pub fn rows_for(findings: &Findings, origin: &str, setting: ChecksumSetting) -> Vec<Row> {
    let used = setting.fixed().unwrap_or_else(|| integrity_for(findings));
    // A digest line fails the store only when uploads rely on that digest.
    let relied_on = |row: Row, digest: Integrity| {
        if used != digest && row.level == Level::Fail {
            Row {
                level: Level::Warn,
                ..row
            }
        } else {
            row
        }
    };
    vec![
        length_row(findings),
        relied_on(sha256_row(findings), Integrity::Sha256),
        relied_on(composite_row(findings), Integrity::Sha256),
        relied_on(md5_row(findings), Integrity::Md5),
        integrity_row(findings, setting),
        ended_row(
            "UploadPart after completion",
            findings.after_complete.as_ref(),
        ),
        ended_row("UploadPart after abort", findings.after_abort.as_ref()),
        preflight_row(findings, origin),
        etag_row(findings),
        lifecycle_row(findings),
    ]
}

fn length_row(findings: &Findings) -> Row {
    const CHECK: &str = "signed Content-Length";
    match &findings.longer_body {
        Some(Answer::Refused { .. }) => row(CHECK, Level::Ok, "content-length enforced"),
        Some(Answer::Accepted) => row(CHECK, Level::Fail, "content-length ignored").means(
            "a browser can store more bytes than its quota reserved, past HAUL_MAX_FILE_SIZE",
            "use a store that enforces the signed Content-Length of pre-signed URLs \
             (AWS S3, R2, MinIO, Garage, SeaweedFS do)",
        ),
        Some(Answer::Failed(why)) => row(CHECK, Level::Warn, format!("content-length unknown ({why})"))
            .means(
                "whether a browser can store more than it reserved is unknown",
                "check that this server reaches the store's public endpoint (HAUL_S3_PUBLIC_ENDPOINT) and run `server storage check` again",
            ),
        None => row(CHECK, Level::Warn, format!("content-length {NOT_TRIED}")).means(
            "whether a browser can store more than it reserved is unknown",
            "see the lines above: the probe could not start an upload",
        ),
    }
}

fn sha256_row(findings: &Findings) -> Row {
    const CHECK: &str = "SHA-256 of a part";
    let unsupported = |what: &str, answer: &Answer| {
        row(CHECK, Level::Fail, format!("sha256 refused ({answer})")).means(
            format!(
                "the store refuses {what}, which every upload sends with \
                 HAUL_S3_CHECKSUM=sha256: no upload can succeed so"
            ),
            "leave HAUL_S3_CHECKSUM=auto (or set md5): parts are then checked by their \
             Content-MD5, which such stores take",
        )
    };
    if let Some(answer @ (Answer::Refused { .. } | Answer::Failed(_))) = &findings.create_sha256 {
        return unsupported(
            "CreateMultipartUpload with x-amz-checksum-algorithm: SHA256",
            answer,
        );
    }
    if let Some(answer @ Answer::Refused { .. }) = &findings.sha256_right {
        return unsupported("a part PUT carrying x-amz-checksum-sha256", answer);
    }
    match &findings.sha256_wrong {
        Some(answer) if digest_refusal(answer) => row(
            CHECK,
            Level::Ok,
            format!("sha256 enforced ({})", answer.code().unwrap_or_default()),
        ),
        Some(answer @ Answer::Refused { .. }) => row(
            CHECK,
            Level::Warn,
            format!("sha256 enforced ({})", answer.code().unwrap_or("no code")),
        )
        .means(
            "a corrupted part is refused, but with a code Haul does not read as a bad digest: \
             the browser retries it as if the store were down instead of failing the file",
            "uploads are safe; report the code so Haul learns it",
        ),
        Some(Answer::Accepted) => row(CHECK, Level::Fail, "sha256 ignored").means(
            "the store keeps a part whose bytes do not match its signed SHA-256: with \
             HAUL_S3_CHECKSUM=sha256, corrupted files could be stored and marked complete",
            "leave HAUL_S3_CHECKSUM=auto (or set md5), or use a store that checks \
             x-amz-checksum-sha256 (AWS S3, R2, MinIO, Garage, SeaweedFS)",
        ),
        Some(Answer::Failed(why)) => row(CHECK, Level::Warn, format!("sha256 unknown ({why})"))
            .means(
                "whether the store refuses corrupted parts is unknown",
                "check that this server reaches the store's public endpoint \
                 (HAUL_S3_PUBLIC_ENDPOINT) and run `server storage check` again",
            ),
        None => row(CHECK, Level::Warn, format!("sha256 {NOT_TRIED}")).means(
            "whether the store refuses corrupted parts is unknown",
            "see the lines above: the probe could not start an upload",
        ),
    }
}

fn composite_row(findings: &Findings) -> Row {
    const CHECK: &str = "composite checksum in HeadObject";
    match &findings.composite {
        Some(Composite::WithCount(_)) => row(CHECK, Level::Ok, "composite with -N"),
        // Haul compares the digest with or without the count.
        Some(Composite::WithoutCount(_)) => row(CHECK, Level::Ok, "composite without -N"),
        Some(Composite::Absent) => row(CHECK, Level::Warn, "composite absent").means(
            "the store checked each part's SHA-256 but does not confirm the file's checksum \
             at completion; Haul records the composite of the digests the parts were signed \
             with",
            "nothing to do; a store that keeps SHA-256 checksums of multipart uploads would \
             confirm it",
        ),
        Some(Composite::NotCompleted(why)) => {
            row(CHECK, Level::Fail, format!("completion refused ({why})")).means(
                "completing an upload of parts with SHA-256 checksums failed: no file could be \
                 completed",
                "use a store that completes multipart uploads with SHA-256 checksums (AWS S3, \
                 R2, MinIO, SeaweedFS, Garage 2.5)",
            )
        }
        None => row(CHECK, Level::Warn, format!("composite {NOT_TRIED}")).means(
            "whether completion can check the file's checksum is unknown",
            "see the SHA-256 line: no upload could be completed",
        ),
    }
}

fn md5_row(findings: &Findings) -> Row {
    const CHECK: &str = "Content-MD5 of a part";
    let unknown = |found: String| {
        row(CHECK, Level::Warn, found).means(
            "Content-MD5 is how Haul checks parts on stores without SHA-256 checksums \
             (HAUL_S3_CHECKSUM=md5): with md5, corrupted parts could be stored",
            "nothing to do while the SHA-256 line is ok; otherwise see the integrity line",
        )
    };
    match (&findings.md5_right, &findings.md5_wrong) {
        (Some(Answer::Accepted), Some(wrong)) if digest_refusal(wrong) => row(
            CHECK,
            Level::Ok,
            format!("md5 enforced ({})", wrong.code().unwrap_or_default()),
        ),
        (Some(Answer::Accepted), Some(Answer::Accepted)) => unknown("md5 ignored".into()),
        (Some(right @ Answer::Refused { .. }), _) => unknown(format!("md5 refused ({right})")),
        (Some(Answer::Accepted), Some(wrong @ Answer::Refused { .. })) => unknown(format!(
            "md5 enforced ({})",
            wrong.code().unwrap_or("no code")
        )),
        (Some(Answer::Failed(why)), _) | (_, Some(Answer::Failed(why))) => {
            unknown(format!("md5 unknown ({why})"))
        }
        _ => unknown(format!("md5 {NOT_TRIED}")),
    }
}

fn ended_row(check: &'static str, answer: Option<&Answer>) -> Row {
    let when = if check.ends_with("completion") {
        "after completion"
    } else {
        "after abort"
    };
    match answer {
        Some(answer) if answer.code() == Some("NoSuchUpload") => {
            row(check, Level::Ok, format!("NoSuchUpload {when}"))
        }
        Some(Answer::Accepted) => row(check, Level::Fail, format!("part accepted {when}")).means(
            "a part URL outlives its upload: an old URL can still write bytes nobody owns, \
             that no sweep finds",
            "use a store that answers NoSuchUpload for an upload that has ended (AWS S3, R2, \
             MinIO, SeaweedFS)",
        ),
        Some(answer @ Answer::Refused { .. }) => row(
            check,
            Level::Warn,
            format!("{} {when}", answer.code().unwrap_or("refused")),
        )
        .means(
            "the part is refused, but not as NoSuchUpload: a browser resuming an upload that \
             ended retries it instead of being told it ended",
            "uploads are safe; report the code so Haul learns it",
        ),
        Some(Answer::Failed(why)) => row(check, Level::Warn, format!("unknown {when} ({why})"))
            .means(
                "whether old part URLs die with their upload is unknown",
                "run `server storage check` again",
            ),
        None => row(check, Level::Warn, format!("{NOT_TRIED} {when}")).means(
            "whether old part URLs die with their upload is unknown",
            "see the lines above: the probe could not start an upload",
        ),
    }
}

fn preflight_row(findings: &Findings, origin: &str) -> Row {
    const CHECK: &str = "CORS preflight of a part PUT";
    match &findings.preflight {
        Some(Preflight::Passed) => row(CHECK, Level::Ok, "cors ok"),
        Some(Preflight::Refused(why)) => row(CHECK, Level::Fail, format!("cors refused ({why})"))
            .means(
                format!("browsers at {origin} cannot PUT parts: every upload fails in the browser"),
                CORS_ADVICE,
            ),
        Some(Preflight::Failed(why)) => row(CHECK, Level::Warn, format!("cors unknown ({why})"))
            .means(
                "whether browsers may PUT parts is unknown",
                "check that this server reaches the store's public endpoint \
                 (HAUL_S3_PUBLIC_ENDPOINT)",
            ),
        None => row(CHECK, Level::Warn, format!("cors {NOT_TRIED}")).means(
            "whether browsers may PUT parts is unknown",
            "see the lines above: the probe could not start an upload",
        ),
    }
}

fn etag_row(findings: &Findings) -> Row {
    const CHECK: &str = "ETag exposed to the page";
    match findings.exposes_etag {
        Some(true) => row(CHECK, Level::Ok, "etag exposed"),
        Some(false) => row(CHECK, Level::Fail, "etag hidden").means(
            "the page cannot read a part's ETag from the store's answer: uploads fail in the browser",
            format!("add \"ExposeHeaders\": [\"ETag\"] to the CORS rule: {CORS_ADVICE}"),
        ),
        None => row(CHECK, Level::Warn, format!("etag {NOT_TRIED}")).means(
            "whether the page can read a part's ETag is unknown",
            "see the lines above: no part was stored",
        ),
    }
}

fn lifecycle_row(findings: &Findings) -> Row {
    const CHECK: &str = "lifecycle: abort incomplete uploads";
    let advice = "add the README's lifecycle.json rule (\"Using your own S3\"), or \
                  HAUL_S3_SETUP_BUCKET=true; MinIO removes stale uploads itself \
                  (stale_uploads_expiry)";
    match &findings.lifecycle {
        Some(Lifecycle::AbortsAfterDays(days)) => {
            row(CHECK, Level::Ok, format!("lifecycle aborts after {days}d"))
        }
        Some(Lifecycle::Missing) => row(CHECK, Level::Warn, "no lifecycle rule").means(
            "parts of abandoned uploads stay (and are billed) until Haul's sweeper aborts them; \
             while Haul is stopped, nothing does",
            advice,
        ),
        Some(Lifecycle::Unknown(why)) => {
            row(CHECK, Level::Warn, format!("lifecycle unknown ({why})")).means(
                "whether the store aborts abandoned uploads itself is unknown",
                advice,
            )
        }
        None => row(CHECK, Level::Warn, format!("lifecycle {NOT_TRIED}")).means(
            "whether the store aborts abandoned uploads itself is unknown",
            advice,
        ),
    }
}

/// What uploads are checked with (HAUL_S3_CHECKSUM), and whether the store enforces it.
fn integrity_row(findings: &Findings, setting: ChecksumSetting) -> Row {
    const CHECK: &str = "integrity (HAUL_S3_CHECKSUM)";
    let picked = integrity_for(findings);
    let enforced = |mode: Integrity| match mode {
        Integrity::Sha256 => sha256_enforced(findings),
        Integrity::Md5 => md5_enforced(findings),
        Integrity::None => true,
    };
    let none = |found: String| {
        row(CHECK, Level::Warn, found).means(
            "the store is not asked to check the bytes (sizes only): a part corrupted on the \
             way would be stored, and files record no checksum",
            "use a store that enforces x-amz-checksum-sha256 or Content-MD5; if sizes only \
             will do, set HAUL_S3_CHECKSUM=none to say so",
        )
    };
    match setting.fixed() {
        None if picked == Integrity::None => none(format!("{setting} uses {picked}")),
        None => row(CHECK, Level::Ok, format!("{setting} uses {picked}")),
        Some(Integrity::None) => none(format!("{setting} set")),
        Some(mode) if enforced(mode) => row(CHECK, Level::Ok, format!("{setting} enforced")),
        Some(mode) => row(CHECK, Level::Fail, format!("{setting} not enforced")).means(
            format!(
                "the store does not take or check {mode} digests as Haul signs them: uploads \
                 fail, or corrupted parts could be stored"
            ),
            format!("set HAUL_S3_CHECKSUM=auto (on this store: {picked})"),
        ),
    }
}

/// Whether Haul can run on the store: no line failed.
pub fn safe(rows: &[Row]) -> bool {
    rows.iter().all(|row| row.level != Level::Fail)
}

/// The start log line: `content-length enforced, sha256 enforced (BadDigest), ...`.
pub fn summary(rows: &[Row]) -> String {
    rows.iter()
        .map(|row| row.found.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The table `server storage check` prints, with the verdict last.
pub fn table(rows: &[Row]) -> String {
    let width = rows.iter().map(|row| row.check.len()).max().unwrap_or(0);
    let mut out = String::new();
    for row in rows {
        out.push_str(&format!(
            "{:<4}  {:<width$}  {}\n",
            row.level.to_string(),
            row.check,
            row.found
        ));
        if let (Some(meaning), Some(advice)) = (&row.meaning, &row.advice) {
            out.push_str(&format!("{:<4}  {:<width$}  means: {meaning}\n", "", ""));
            out.push_str(&format!("{:<4}  {:<width$}  do: {advice}\n", "", ""));
        }
    }
    out.push_str(if safe(rows) {
        "\nThis store can run Haul safely."
    } else {
        "\nThis store cannot run Haul safely: see the FAIL lines."
    });
    out
}

/// `server storage check`: 0 when the store can run Haul safely, 1 when it cannot; an error
/// (exit 2) when the probe could not run.
pub async fn run(settings: &Settings) -> anyhow::Result<ExitCode> {
    let mut stack = LocalStack::default();
    let origin = settings.public_origin(settings.addr)?;
    let probed = async {
        let storage = connect_storage(settings, &origin, &mut stack).await?;
        probe(&storage, &origin).await
    }
    .await;
    tokio::task::spawn_blocking(move || stack.stop()).await?;
    let rows = rows_for(&probed?, &origin, settings.s3_checksum);
    println!("{}", table(&rows));
    Ok(if safe(&rows) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// At start: the probe within `bound`, in one log line; a warning naming what to do for each
/// line that is off. Never fails the start.
pub async fn at_start(
    storage: &Storage,
    origin: &str,
    bound: Duration,
    setting: ChecksumSetting,
) -> Option<Findings> {
    let prefix = scratch_prefix();
    let probed = tokio::time::timeout(bound, probe_under(storage, origin, &prefix)).await;
    let findings = match probed {
        Ok(Ok(findings)) => findings,
        Ok(Err(error)) => {
            tracing::warn!("storage probe could not run: {error:#} (try `server storage check`)");
            return None;
        }
        Err(_) => {
            tracing::warn!(
                "storage probe did not finish within {} s (try `server storage check`)",
                bound.as_secs()
            );
            // Cut short, it cleaned nothing: its scratch keys go in the background.
            let storage = storage.clone();
            tokio::spawn(async move {
                if let Err(error) = clean(&storage, &prefix).await {
                    tracing::warn!(
                        "removing the storage probe's scratch keys under {prefix}: {error:#}"
                    );
                }
            });
            return None;
        }
    };
    let rows = rows_for(&findings, origin, setting);
    if safe(&rows) {
        tracing::info!("storage probe: {}", summary(&rows));
    } else {
        tracing::warn!(
            "storage probe: {}: this store cannot run Haul safely",
            summary(&rows)
        );
    }
    for row in rows.iter().filter(|row| row.level != Level::Ok) {
        if let (Some(meaning), Some(advice)) = (&row.meaning, &row.advice) {
            tracing::warn!("storage: {}: {}: {meaning}; {advice}", row.check, row.found);
        }
    }
    Some(findings)
}

/// Tries everything against the store, then removes every scratch key, even when a step failed.
/// An error only when the probe could not start (no scratch prefix can be used).
pub async fn probe(storage: &Storage, origin: &str) -> anyhow::Result<Findings> {
    probe_under(storage, origin, &scratch_prefix()).await
}

/// A new `haul-probe/<uuid>/`.
fn scratch_prefix() -> String {
    format!("{PREFIX}{}/", uuid::Uuid::new_v4().simple())
}

/// `probe`, with its scratch keys under `prefix`.
async fn probe_under(storage: &Storage, origin: &str, prefix: &str) -> anyhow::Result<Findings> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let probe = Probe {
        storage,
        origin,
        http,
        prefix: prefix.to_owned(),
    };
    let mut findings = Findings::default();
    let sha256 = probe.sha256_upload(&mut findings).await;
    let plain = probe.plain_upload(&mut findings).await;
    findings.lifecycle = Some(probe.lifecycle().await);
    let cleaned = clean(storage, prefix).await;
    sha256?;
    plain?;
    cleaned?;
    Ok(findings)
}

/// Aborts every upload and deletes every object under `prefix`.
pub async fn clean(storage: &Storage, prefix: &str) -> anyhow::Result<()> {
    for upload in storage.open_uploads(prefix).await? {
        storage
            .abort_multipart(&upload.key, &upload.upload_id)
            .await?;
    }
    let mut token = None;
    loop {
        let (objects, next) = storage.objects_page(prefix, token).await?;
        for object in objects {
            storage.delete(&object.key).await?;
        }
        match next {
            Some(next) => token = Some(next),
            None => return Ok(()),
        }
    }
}

struct Probe<'a> {
    storage: &'a Storage,
    origin: &'a str,
    http: reqwest::Client,
    prefix: String,
}

/// The bytes of a part, and other bytes of the same length.
const BYTES: &[u8] = b"haul storage probe: scratch bytes";
const OTHER: &[u8] = b"HAUL STORAGE PROBE: SCRATCH BYTES";

impl Probe<'_> {
    /// The upload with SHA-256 checksums: a right part and the CORS of its PUT, a wrong part,
    /// completion, the composite, and a PUT after completion.
    async fn sha256_upload(&self, findings: &mut Findings) -> anyhow::Result<()> {
        let key = format!("{}sha256", self.prefix);
        let upload_id = match self.create_sha256_upload(&key).await {
            Ok(upload_id) => upload_id,
            Err(refused) => {
                findings.create_sha256 = Some(refused);
                return Ok(());
            }
        };
        findings.create_sha256 = Some(Answer::Accepted);
        let digest = app::backend::checksum::of_bytes(BYTES);
        let length = BYTES.len() as u64;
        let (storage, ttl) = (self.storage, URL_TTL);
        let url =
            |part| storage.presign_upload_part(&key, &upload_id, part, length, Some(&digest), ttl);
        let good = url(GOOD_PART).await?;
        findings.preflight = Some(self.preflight(&good).await);
        let (answer, headers) = self.put(&good, BYTES).await;
        findings.sha256_right = Some(answer.clone());
        if answer != Answer::Accepted {
            return Ok(());
        }
        findings.exposes_etag = Some(exposes_etag(&headers));
        let etag = headers
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        findings.sha256_wrong = Some(self.put(&url(WRONG_SHA256_PART).await?, OTHER).await.0);
        let part = StoredPart {
            number: GOOD_PART,
            size: BYTES.len() as i64,
            etag,
            sha256: Some(digest.clone()),
            last_modified: None,
        };
        findings.composite = Some(self.complete(&key, &upload_id, part).await?);
        if matches!(findings.composite, Some(Composite::NotCompleted(_))) {
            return Ok(());
        }
        findings.after_complete = Some(self.put(&good, BYTES).await.0);
        Ok(())
    }

    /// CreateMultipartUpload with `x-amz-checksum-algorithm: SHA256`, as every upload starts:
    /// its upload id, or the store's refusal.
    async fn create_sha256_upload(&self, key: &str) -> Result<String, Answer> {
        self.storage
            .client()
            .create_multipart_upload()
            .bucket(self.storage.bucket())
            .key(key)
            .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
            .send()
            .await
            .map(|created| created.upload_id().unwrap_or_default().to_owned())
            .map_err(|error| sdk_answer(&error))
    }

    /// Completes the upload with `part` and reads the object's checksum as HeadObject gives it.
    async fn complete(
        &self,
        key: &str,
        upload_id: &str,
        part: StoredPart,
    ) -> anyhow::Result<Composite> {
        if let Err(error) = self
            .storage
            .complete_multipart(key, upload_id, &[part])
            .await
        {
            return Ok(Composite::NotCompleted(format!("{error:#}")));
        }
        let head = self.storage.object_head(key).await?;
        Ok(match head.and_then(|head| head.sha256) {
            // Base64 has no '-': a suffix is the part count.
            Some(value) if value.contains('-') => Composite::WithCount(value),
            Some(value) => Composite::WithoutCount(value),
            None => Composite::Absent,
        })
    }

    /// The upload without checksums: a longer body, Content-MD5 right and wrong, then a PUT
    /// after abort.
    async fn plain_upload(&self, findings: &mut Findings) -> anyhow::Result<()> {
        let key = format!("{}plain", self.prefix);
        let created = self
            .storage
            .client()
            .create_multipart_upload()
            .bucket(self.storage.bucket())
            .key(&key)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}", aws_sdk_s3::error::DisplayErrorContext(e)))
            .context("starting a multipart upload without checksums")?;
        let upload_id = created.upload_id().unwrap_or_default().to_owned();
        let length = BYTES.len() as u64;
        let short = self
            .storage
            .presign_upload_part(&key, &upload_id, LONGER_PART, length - 1, None, URL_TTL)
            .await?;
        findings.longer_body = Some(self.put(&short, BYTES).await.0);
        let md5 = STANDARD.encode(Md5::digest(BYTES));
        for (part, body, slot) in [
            (RIGHT_MD5_PART, BYTES, &mut findings.md5_right),
            (WRONG_MD5_PART, OTHER, &mut findings.md5_wrong),
        ] {
            let url = self
                .storage
                .presign_part(
                    &key,
                    &upload_id,
                    part,
                    length,
                    SignedDigest::Md5(&md5),
                    URL_TTL,
                )
                .await?;
            *slot = Some(self.put(&url, body).await.0);
        }
        let after = self
            .storage
            .presign_upload_part(&key, &upload_id, RIGHT_MD5_PART, length, None, URL_TTL)
            .await?;
        self.storage.abort_multipart(&key, &upload_id).await?;
        findings.after_abort = Some(self.put(&after, BYTES).await.0);
        Ok(())
    }

    /// A PUT as the browser sends it: the signed headers, the page's Origin, the bytes.
    async fn put(
        &self,
        part: &app::backend::storage::PresignedPart,
        body: &'static [u8],
    ) -> (Answer, reqwest::header::HeaderMap) {
        let mut request = self
            .http
            .put(&part.url)
            .header("origin", self.origin)
            .body(body);
        for (name, value) in &part.headers {
            request = request.header(name, value);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                let headers = response.headers().clone();
                let text = response.text().await.unwrap_or_default();
                let answer = if status.is_success() {
                    Answer::Accepted
                } else {
                    Answer::Refused {
                        status: status.as_u16(),
                        code: xml_field(&text, "Code"),
                        message: xml_field(&text, "Message"),
                    }
                };
                (answer, headers)
            }
            Err(error) => (Answer::Failed(error_text(&error)), Default::default()),
        }
    }

    /// The browser's preflight of `part`'s PUT.
    async fn preflight(&self, part: &app::backend::storage::PresignedPart) -> Preflight {
        let requested: Vec<String> = part
            .headers
            .iter()
            .map(|(name, _)| name.to_ascii_lowercase())
            .collect();
        let answer = self
            .http
            .request(reqwest::Method::OPTIONS, &part.url)
            .header("origin", self.origin)
            .header("access-control-request-method", "PUT")
            .header("access-control-request-headers", requested.join(","))
            .send()
            .await;
        match answer {
            Ok(response) => preflight_verdict(
                response.status().as_u16(),
                response.headers(),
                self.origin,
                &requested,
            ),
            Err(error) => Preflight::Failed(error_text(&error)),
        }
    }

    async fn lifecycle(&self) -> Lifecycle {
        let answer = self
            .storage
            .client()
            .get_bucket_lifecycle_configuration()
            .bucket(self.storage.bucket())
            .send()
            .await;
        match answer {
            Ok(config) => config
                .rules()
                .iter()
                .filter(|rule| rule.status() == &aws_sdk_s3::types::ExpirationStatus::Enabled)
                .filter(|rule| whole_bucket(rule))
                .find_map(|rule| {
                    rule.abort_incomplete_multipart_upload()?
                        .days_after_initiation()
                })
                .map_or(Lifecycle::Missing, Lifecycle::AbortsAfterDays),
            Err(error) => match error.code() {
                Some("NoSuchLifecycleConfiguration") => Lifecycle::Missing,
                _ => Lifecycle::Unknown(sdk_answer(&error).to_string()),
            },
        }
    }
}

use anyhow::Context as _;

/// Whether a lifecycle rule covers the whole bucket: no filter, or an empty prefix (in the
/// filter, or in the rule itself as older stores answer).
#[allow(deprecated)]
fn whole_bucket(rule: &aws_sdk_s3::types::LifecycleRule) -> bool {
    rule.prefix().is_none_or(str::is_empty)
        && rule.filter().is_none_or(|filter| {
            filter.prefix().is_none_or(str::is_empty)
                && filter.tag().is_none()
                && filter.and().is_none()
        })
}

/// Whether a preflight answer lets `origin` PUT with `requested` headers.
pub fn preflight_verdict(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    origin: &str,
    requested: &[String],
) -> Preflight {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    if !(200..300).contains(&status) {
        return Preflight::Refused(format!("answered {status}"));
    }
    let allowed_origin = get("access-control-allow-origin");
    if allowed_origin != "*" && allowed_origin != origin.to_ascii_lowercase() {
        return Preflight::Refused(if allowed_origin.is_empty() {
            "no Access-Control-Allow-Origin".into()
        } else {
            format!("allows origin {allowed_origin}")
        });
    }
    let methods = get("access-control-allow-methods");
    if !methods.is_empty() && methods != "*" && !methods.split(',').any(|m| m.trim() == "put") {
        return Preflight::Refused(format!("allows methods {methods}"));
    }
    let allowed = get("access-control-allow-headers");
    let allowed: Vec<&str> = allowed.split(',').map(str::trim).collect();
    if !allowed.contains(&"*") {
        if let Some(missing) = requested.iter().find(|h| !allowed.contains(&h.as_str())) {
            return Preflight::Refused(format!("does not allow header {missing}"));
        }
    }
    Preflight::Passed
}

/// Whether a CORS answer lets the page read ETag.
fn exposes_etag(headers: &reqwest::header::HeaderMap) -> bool {
    headers
        .get_all("access-control-expose-headers")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|name| name.trim().eq_ignore_ascii_case("etag") || name.trim() == "*")
}

fn sdk_answer<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    error: &aws_sdk_s3::error::SdkError<E>,
) -> Answer {
    match error {
        aws_sdk_s3::error::SdkError::ServiceError(service) => Answer::Refused {
            status: service.raw().status().as_u16(),
            code: service.err().code().map(str::to_owned),
            message: service.err().message().map(str::to_owned),
        },
        other => Answer::Failed(format!("{}", aws_sdk_s3::error::DisplayErrorContext(other))),
    }
}

fn error_text(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// `<Code>…</Code>` of an S3 error body.
fn xml_field(body: &str, field: &str) -> Option<String> {
    let start = body.find(&format!("<{field}>"))? + field.len() + 2;
    let end = body[start..].find(&format!("</{field}>"))? + start;
    Some(body[start..end].trim().to_owned()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status: u16, code: &str) -> Option<Answer> {
        Some(Answer::Refused {
            status,
            code: Some(code.to_owned()),
            message: None,
        })
    }

    /// What the embedded SeaweedFS (and AWS) does.
    fn sound() -> Findings {
        Findings {
            create_sha256: Some(Answer::Accepted),
            sha256_right: Some(Answer::Accepted),
            sha256_wrong: refused(400, "BadDigest"),
            composite: Some(Composite::WithCount("abc=-1".into())),
            longer_body: refused(403, "SignatureDoesNotMatch"),
            md5_right: Some(Answer::Accepted),
            md5_wrong: refused(400, "BadDigest"),
            after_complete: refused(404, "NoSuchUpload"),
            after_abort: refused(404, "NoSuchUpload"),
            preflight: Some(Preflight::Passed),
            exposes_etag: Some(true),
            lifecycle: Some(Lifecycle::AbortsAfterDays(2)),
        }
    }

    const ORIGIN: &str = "https://haul.example.com";

    fn level(rows: &[Row], check: &str) -> Level {
        rows.iter().find(|r| r.check == check).unwrap().level
    }

    #[test]
    fn a_sound_store_passes_in_one_line() {
        let rows = rows(&sound(), ORIGIN);
        assert!(safe(&rows));
        assert!(rows
            .iter()
            .all(|r| r.level == Level::Ok && r.advice.is_none()));
        assert_eq!(
            summary(&rows),
            "content-length enforced, sha256 enforced (BadDigest), composite with -N, \
             md5 enforced (BadDigest), auto uses sha256, NoSuchUpload after completion, \
             NoSuchUpload after abort, cors ok, etag exposed, lifecycle aborts after 2d"
        );
        assert!(table(&rows).ends_with("This store can run Haul safely."));
    }

    fn with(findings: &Findings, setting: ChecksumSetting) -> Vec<Row> {
        rows_for(findings, ORIGIN, setting)
    }

    #[test]
    fn a_store_refusing_the_checksum_header_runs_haul_with_md5_only() {
        // Backblaze B2, by its documentation.
        let findings = Findings {
            sha256_right: Some(Answer::Refused {
                status: 400,
                code: Some("InvalidArgument".into()),
                message: Some("Unsupported header 'x-amz-checksum-sha256' received".into()),
            }),
            sha256_wrong: None,
            composite: None,
            after_complete: None,
            exposes_etag: None,
            ..sound()
        };
        assert_eq!(integrity_for(&findings), Integrity::Md5);
        let rows = with(&findings, ChecksumSetting::Sha256);
        assert!(!safe(&rows));
        let sha = rows
            .iter()
            .find(|r| r.check == "SHA-256 of a part")
            .unwrap();
        assert_eq!(sha.level, Level::Fail);
        assert!(sha.found.contains("InvalidArgument"), "{}", sha.found);
        assert!(sha.found.contains("Unsupported header"), "{}", sha.found);
        assert!(sha
            .meaning
            .as_ref()
            .unwrap()
            .contains("no upload can succeed"));
        // auto (and md5) use Content-MD5, which the store enforces: the SHA-256 line warns.
        for setting in [ChecksumSetting::Auto, ChecksumSetting::Md5] {
            let rows = with(&findings, setting);
            assert!(safe(&rows), "{}", table(&rows));
            assert_eq!(level(&rows, "SHA-256 of a part"), Level::Warn);
            assert_eq!(level(&rows, "integrity (HAUL_S3_CHECKSUM)"), Level::Ok);
        }
        // Refused at CreateMultipartUpload: the same verdict.
        let findings = Findings {
            create_sha256: refused(400, "InvalidArgument"),
            ..Findings::default()
        };
        let rows = with(&findings, ChecksumSetting::Sha256);
        assert_eq!(level(&rows, "SHA-256 of a part"), Level::Fail);
    }

    #[test]
    fn auto_picks_sha256_then_md5_then_sizes_only_and_says_so() {
        assert_eq!(integrity_for(&sound()), Integrity::Sha256);
        let md5_only = Findings {
            sha256_wrong: Some(Answer::Accepted),
            ..sound()
        };
        assert_eq!(integrity_for(&md5_only), Integrity::Md5);
        let nothing = Findings {
            sha256_wrong: Some(Answer::Accepted),
            md5_wrong: Some(Answer::Accepted),
            ..sound()
        };
        assert_eq!(integrity_for(&nothing), Integrity::None);
        let rows = rows_of(&nothing);
        // Sizes only is safe to run but never silent.
        assert!(safe(&rows));
        let integrity = rows
            .iter()
            .find(|r| r.check == "integrity (HAUL_S3_CHECKSUM)")
            .unwrap();
        assert_eq!(
            (integrity.level, integrity.found.as_str()),
            (Level::Warn, "auto uses none")
        );
        assert!(integrity.meaning.as_ref().unwrap().contains("sizes only"));
        // md5 set on a store that does not check it fails.
        let rows = with(&nothing, ChecksumSetting::Md5);
        assert!(!safe(&rows));
        assert_eq!(level(&rows, "integrity (HAUL_S3_CHECKSUM)"), Level::Fail);
        // none, set: a warning, whatever the store does.
        let rows = with(&sound(), ChecksumSetting::None);
        assert!(safe(&rows));
        assert_eq!(level(&rows, "integrity (HAUL_S3_CHECKSUM)"), Level::Warn);
        // A completion of SHA-256 parts that fails rules sha256 out.
        let no_completion = Findings {
            composite: Some(Composite::NotCompleted("refused".into())),
            ..sound()
        };
        assert_eq!(integrity_for(&no_completion), Integrity::Md5);
    }

    fn rows_of(findings: &Findings) -> Vec<Row> {
        rows(findings, ORIGIN)
    }

    #[test]
    fn a_store_ignoring_a_wrong_sha256_cannot_run_haul_with_sha256() {
        let findings = Findings {
            sha256_wrong: Some(Answer::Accepted),
            ..sound()
        };
        assert!(safe(&rows_of(&findings)));
        let rows = with(&findings, ChecksumSetting::Sha256);
        assert!(!safe(&rows));
        let sha = rows
            .iter()
            .find(|r| r.check == "SHA-256 of a part")
            .unwrap();
        assert_eq!(sha.found, "sha256 ignored");
        assert!(sha.meaning.as_ref().unwrap().contains("corrupted"));
    }

    #[test]
    fn a_digest_refusal_haul_does_not_know_is_a_warning() {
        // MinIO's code for a wrong SHA-256 is one Haul knows.
        let minio = Findings {
            sha256_wrong: refused(400, "XAmzContentChecksumMismatch"),
            ..sound()
        };
        let rows = rows_of(&minio);
        assert_eq!(level(&rows, "SHA-256 of a part"), Level::Ok);
        assert!(summary(&rows).contains("sha256 enforced (XAmzContentChecksumMismatch)"));
        let findings = Findings {
            sha256_wrong: refused(400, "SomeStoresOwnMismatch"),
            ..sound()
        };
        let rows = rows_of(&findings);
        assert!(safe(&rows));
        assert_eq!(level(&rows, "SHA-256 of a part"), Level::Warn);
        assert!(summary(&rows).contains("sha256 enforced (SomeStoresOwnMismatch)"));
    }

    #[test]
    fn the_composite_without_its_count_passes_absent_warns_and_no_completion_fails_sha256() {
        let without = Findings {
            composite: Some(Composite::WithoutCount("abc=".into())),
            ..sound()
        };
        let rows = rows_of(&without);
        assert!(safe(&rows));
        assert_eq!(level(&rows, "composite checksum in HeadObject"), Level::Ok);
        let refused = Findings {
            composite: Some(Composite::NotCompleted("S3 refused the request".into())),
            after_complete: None,
            ..sound()
        };
        assert!(!safe(&with(&refused, ChecksumSetting::Sha256)));
        let absent = Findings {
            composite: Some(Composite::Absent),
            ..sound()
        };
        let rows = rows_of(&absent);
        assert!(safe(&rows));
        assert_eq!(
            level(&rows, "composite checksum in HeadObject"),
            Level::Warn
        );
    }

    #[test]
    fn an_ignored_length_or_a_living_part_url_fails() {
        let longer = Findings {
            longer_body: Some(Answer::Accepted),
            ..sound()
        };
        assert!(!safe(&rows_of(&longer)));
        let after = Findings {
            after_complete: Some(Answer::Accepted),
            ..sound()
        };
        assert!(!safe(&rows_of(&after)));
        let other_code = Findings {
            after_abort: refused(404, "NoSuchKey"),
            ..sound()
        };
        let rows = rows_of(&other_code);
        assert!(safe(&rows));
        assert_eq!(level(&rows, "UploadPart after abort"), Level::Warn);
    }

    #[test]
    fn cors_failures_name_the_readme_and_the_store_setting() {
        let findings = Findings {
            preflight: Some(Preflight::Refused("answered 403".into())),
            exposes_etag: Some(false),
            ..sound()
        };
        let rows = rows_of(&findings);
        assert!(!safe(&rows));
        for check in ["CORS preflight of a part PUT", "ETag exposed to the page"] {
            let row = rows.iter().find(|r| r.check == check).unwrap();
            assert_eq!(row.level, Level::Fail);
            let advice = row.advice.as_ref().unwrap();
            assert!(advice.contains("cors.json"), "{advice}");
            assert!(advice.contains("MINIO_API_CORS_ALLOW_ORIGIN"), "{advice}");
        }
        let table = table(&rows);
        assert!(table.contains("means: browsers at https://haul.example.com cannot PUT parts"));
        assert!(table.ends_with("This store cannot run Haul safely: see the FAIL lines."));
    }

    #[test]
    fn md5_and_lifecycle_only_warn() {
        let findings = Findings {
            md5_wrong: Some(Answer::Accepted),
            lifecycle: Some(Lifecycle::Missing),
            ..sound()
        };
        let rows = rows_of(&findings);
        assert!(safe(&rows));
        assert_eq!(level(&rows, "Content-MD5 of a part"), Level::Warn);
        let other = Findings {
            md5_wrong: refused(400, "SomeStoresOwnMismatch"),
            ..sound()
        };
        let other = rows_of(&other);
        assert_eq!(level(&other, "Content-MD5 of a part"), Level::Warn);
        assert!(summary(&other).contains("md5 enforced (SomeStoresOwnMismatch)"));
        let lifecycle = rows
            .iter()
            .find(|r| r.check == "lifecycle: abort incomplete uploads")
            .unwrap();
        assert_eq!(lifecycle.level, Level::Warn);
        assert!(lifecycle
            .advice
            .as_ref()
            .unwrap()
            .contains("lifecycle.json"));
    }

    #[test]
    fn nothing_tried_is_unknown_not_safe_to_claim() {
        let rows = rows_of(&Findings::default());
        assert!(rows.iter().all(|r| r.level == Level::Warn));
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> reqwest::header::HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    reqwest::header::HeaderName::from_static(k),
                    reqwest::header::HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn a_preflight_must_allow_the_origin_the_method_and_the_headers() {
        let requested = vec!["x-amz-checksum-sha256".to_owned()];
        let ok = headers(&[
            ("access-control-allow-origin", ORIGIN),
            ("access-control-allow-methods", "GET, PUT"),
            ("access-control-allow-headers", "x-amz-checksum-sha256"),
        ]);
        assert_eq!(
            preflight_verdict(200, &ok, ORIGIN, &requested),
            Preflight::Passed
        );
        let star = headers(&[
            ("access-control-allow-origin", "*"),
            ("access-control-allow-headers", "*"),
        ]);
        assert_eq!(
            preflight_verdict(204, &star, ORIGIN, &requested),
            Preflight::Passed
        );
        assert!(matches!(
            preflight_verdict(403, &ok, ORIGIN, &requested),
            Preflight::Refused(_)
        ));
        let other = headers(&[("access-control-allow-origin", "https://other.example")]);
        assert!(matches!(
            preflight_verdict(200, &other, ORIGIN, &requested),
            Preflight::Refused(_)
        ));
        let no_header = headers(&[
            ("access-control-allow-origin", ORIGIN),
            ("access-control-allow-headers", "content-type"),
        ]);
        assert_eq!(
            preflight_verdict(200, &no_header, ORIGIN, &requested),
            Preflight::Refused("does not allow header x-amz-checksum-sha256".into())
        );
    }

    #[test]
    fn error_bodies_give_their_code() {
        let body = "<?xml version=\"1.0\"?><Error><Code>BadDigest</Code>\
                    <Message>The digest did not match</Message></Error>";
        assert_eq!(xml_field(body, "Code").as_deref(), Some("BadDigest"));
        assert_eq!(
            xml_field(body, "Message").as_deref(),
            Some("The digest did not match")
        );
        assert_eq!(xml_field("", "Code"), None);
        let exposed = headers(&[("access-control-expose-headers", "x-amz-request-id, ETag")]);
        assert!(exposes_etag(&exposed));
        assert!(!exposes_etag(&headers(&[])));
    }
}
