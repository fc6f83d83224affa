//! The upload protocol: start, sign parts, list what arrived, complete (verify), abort.
//! The browser sends bytes to S3 directly; this module only decides, signs and checks.
//!
//! Every file goes up as a multipart upload, small ones too (one part): its part URLs die
//! with the upload, so once it is completed or aborted no old URL can write anything. Each
//! URL signs its part's exact length, so nobody stores more than was reserved. A 0-byte file
//! has nothing to send: the server writes its empty object itself.
//!
//! The fate of an uploading file (complete, failed, aborted, deleted) is decided by whoever
//! holds its lease (`lease`); no database transaction is open while S3 works.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::{Duration, Instant},
};

use uuid::Uuid;

use super::{
    checksum::{self, Digest},
    file_actions,
    files::{self, Ending, FileRow, NewFile, PartSums},
    lease::{self, Lease},
    requests::{self, Visitor},
    state::AppState,
    storage::{one_per_part, ObjectHead, SignedDigest, StorageError, StoredPart},
    users::User,
};
use crate::{
    backend::Error,
    error::{check_field, FieldError},
    format,
    model::{
        FileId, FileStatus, FileView, Integrity, NewUpload, PartDigest, SignedPart, UploadedPart,
    },
    plan::{plan, Plan, S3_MAX_PART, S3_MIN_PART},
    validate,
};

/// Part URLs signed per call: a 50 GB file (1 015 parts of 47 MiB) needs 11 calls, not 1 015.
pub const MAX_PARTS_PER_SIGN: usize = 100;

/// How long a second `complete_upload` waits for the one already running before it tells
/// the client to try again.
const COMPLETE_WAIT: Duration = Duration::from_secs(20);
const COMPLETE_POLL: Duration = Duration::from_millis(200);

/// A new upload as declared, checked: every field's problem is reported at once.
struct Declared {
    name: String,
    content_type: String,
    size: u64,
    size_bytes: i64,
    plan: Plan,
}

fn declared(
    config: &super::config::Config,
    name: &str,
    size: u64,
    content_type: &str,
    part_size: Option<u64>,
) -> Result<Declared, Error> {
    let mut problems = Vec::new();
    // A client may ask for larger parts than the server's (fewer requests and rows for a
    // huge file), within S3's bounds.
    if part_size.is_some_and(|asked| !(S3_MIN_PART..=S3_MAX_PART).contains(&asked)) {
        problems.push(FieldError {
            field: "part_size".to_owned(),
            message: "A part must be 5 MiB to 5 GiB.".to_owned(),
        });
    }
    let min_part_size = part_size.unwrap_or(0).max(config.part_size);
    let name = check_field(&mut problems, "name", validate::file_name(name));
    let content_type = check_field(
        &mut problems,
        "content_type",
        validate::content_type(content_type),
    );
    let planned = if size > config.max_file_size {
        Err(format!(
            "The file is larger than the {} limit.",
            format::bytes(config.max_file_size)
        ))
    } else {
        plan(size, min_part_size)
    };
    let plan = check_field(&mut problems, "size", planned);
    let (Some(name), Some(content_type), Some(plan), true) =
        (name, content_type, plan, problems.is_empty())
    else {
        return Err(Error::Invalid(problems));
    };
    let size_bytes =
        i64::try_from(size).map_err(|_| Error::invalid("size", "The file is too large."))?;
    Ok(Declared {
        name,
        content_type,
        size,
        size_bytes,
        plan,
    })
}

/// Checks the declaration, then opens the upload: S3 first, then one short transaction that
/// reserves the quota and records the file (no database connection waits on S3). What S3
/// started is undone when the file cannot be recorded.
///
/// `from`: sent in by a visitor of one of `user`'s upload requests, whose limits are checked
/// in the same transaction (a full account then answers in the visitor's words).
pub async fn start(
    state: &AppState,
    user: &User,
    name: &str,
    size: u64,
    content_type: &str,
    from: Option<&Visitor>,
    part_size: Option<u64>,
) -> Result<NewUpload, Error> {
    let declared = declared(&state.config, name, size, content_type, part_size)?;
    let no_room = |user: &User| match from {
        Some(_) => requests::owner_full(),
        None => no_room(user, size),
    };
    // A cheap look first, so a full account costs S3 nothing; the reservation decides.
    if !fits(user, declared.size_bytes) {
        return Err(no_room(user));
    }
    let id = Uuid::new_v4();
    let key = format!("u/{}/{id}", user.id);
    let integrity = state.config.integrity;
    let upload_id = open_in_storage(state, &key, &declared, integrity).await?;
    let empty_checksum = checksum::of_bytes(b"");
    let new = NewFile {
        id,
        owner_id: user.id,
        object_key: &key,
        name: &declared.name,
        content_type: &declared.content_type,
        size_bytes: declared.size_bytes,
        s3_upload_id: upload_id.as_deref(),
        part_size: declared.plan.part_size as i64,
        part_count: declared.plan.part_count as i32,
        complete: (size == 0).then_some(empty_checksum.as_str()),
        integrity,
        from,
    };
    let recorded = record(state, &new).await;
    if !matches!(recorded, Ok(Some(_))) {
        undo_in_storage(state, &key, upload_id.as_deref(), id).await;
    }
    match recorded? {
        Some(row) => {
            state.metrics.count("haul_uploads_started_total", &[], 1);
            if row.status == FileStatus::Complete {
                // A 0-byte file: started and complete at once.
                state.metrics.upload_ended("completed", 0);
            }
            Ok(NewUpload {
                file: row.view(),
                part_size: declared.plan.part_size,
                part_count: declared.plan.part_count,
            })
        }
        None => Err(no_room(user)),
    }
}

/// Opens the multipart upload; a 0-byte file has no parts, so its empty object is written
/// at once (None).
async fn open_in_storage(
    state: &AppState,
    key: &str,
    declared: &Declared,
    integrity: Integrity,
) -> Result<Option<String>, StorageError> {
    let sha256 = integrity == Integrity::Sha256;
    if declared.size == 0 {
        state
            .storage
            .put_empty(key, &declared.content_type, sha256)
            .await?;
        Ok(None)
    } else {
        let upload_id = state
            .storage
            .create_multipart(key, &declared.content_type, sha256)
            .await?;
        Ok(Some(upload_id))
    }
}

/// Not recorded: what S3 started belongs to nobody. The sweeper catches a failure here.
async fn undo_in_storage(state: &AppState, key: &str, upload_id: Option<&str>, id: Uuid) {
    let undone = match upload_id {
        Some(upload_id) => state.storage.abort_multipart(key, upload_id).await,
        None => state.storage.delete(key).await,
    };
    if let Err(error) = undone {
        tracing::warn!(file = %id, error = %error, "undoing an unrecorded upload failed");
    }
}

/// Reserves the quota and inserts the row, in one statement for the owner's own upload, in
/// one transaction otherwise. None when it does not fit.
async fn record(state: &AppState, new: &NewFile<'_>) -> Result<Option<FileRow>, Error> {
    if new.from.is_none() && new.complete.is_none() {
        return files::reserve_and_insert(&state.db, new).await;
    }
    let mut tx = state.db.begin().await?;
    if let Some(visitor) = new.from {
        requests::admit(&mut tx, visitor, new.size_bytes).await?;
    }
    if !files::reserve(&mut tx, new.owner_id, new.size_bytes).await? {
        return Ok(None);
    }
    let row = files::insert(&mut tx, new).await?;
    if row.status == FileStatus::Complete {
        // A 0-byte file is complete as it starts: its event is written now.
        let checksum = row.checksum_sha256.as_deref();
        super::notifications::upload_ended(&mut tx, &row, checksum, None).await?;
    }
    tx.commit().await?;
    Ok(Some(row))
}

fn fits(user: &User, size: i64) -> bool {
    user.used_bytes
        .saturating_add(user.reserved_bytes)
        .saturating_add(size)
        <= user.quota_bytes
}

fn no_room(user: &User, size: u64) -> Error {
    Error::Quota {
        needed: size,
        free: (user.quota_bytes - user.used_bytes - user.reserved_bytes).max(0) as u64,
    }
}

/// The caller's file, still uploading.
async fn uploading_file(state: &AppState, user: &User, file_id: FileId) -> Result<FileRow, Error> {
    let file = files::find_owned(&state.db, user.id, file_id).await?;
    still_uploading(file.status)?;
    Ok(file)
}

/// Ok for a file still uploading; else why it takes no more parts.
fn still_uploading(status: FileStatus) -> Result<(), Error> {
    match status {
        FileStatus::Uploading => Ok(()),
        FileStatus::Complete => Err(Error::invalid("file", "This upload is already complete.")),
        FileStatus::Failed | FileStatus::Aborted => Err(Error::invalid(
            "file",
            "This upload has ended; start it again.",
        )),
    }
}

fn file_plan(file: &FileRow) -> Plan {
    plan_of(file.part_size, file.part_count)
}

fn plan_of(part_size: i64, part_count: i32) -> Plan {
    Plan {
        part_size: part_size as u64,
        part_count: u32::try_from(part_count).unwrap_or(0),
    }
}

/// URLs for the parts in `parts`, each signing the part's exact length and the digest its
/// file's `Integrity` asks for (SHA-256 or MD5). A part keeps the digests it was first signed
/// with: S3 then holds exactly the recorded digests. The file is read and the digests recorded
/// in one statement (`files::sign_target`), which writes nothing for a call refused here.
pub async fn sign_parts(
    state: &AppState,
    user: &User,
    file_id: FileId,
    parts: &[PartDigest],
) -> Result<Vec<SignedPart>, Error> {
    let file = files::sign_target(&state.db, user.id, file_id.0, &given_digests(parts)).await?;
    still_uploading(file.status)?;
    let plan = plan_of(file.part_size, file.part_count);
    let requested = requested_parts(parts, plan.part_count, file.integrity)?;
    let Some(upload_id) = &file.s3_upload_id else {
        return Err(Error::invalid(
            "file",
            "This upload cannot take parts; start it again.",
        ));
    };
    if let Some(part) = file.clashes.first() {
        return Err(Error::invalid(
            "parts",
            format!(
                "Part {part} was signed before with another checksum: the file has changed \
                 since this upload began. Start it again."
            ),
        ));
    }
    let mut signed = Vec::with_capacity(requested.len());
    for (&number, sums) in &requested {
        let (start, end) = plan.range(file.size_bytes as u64, number);
        let digest = signed_digest(file.integrity, file.part_checksums, sums.as_ref());
        let part = state
            .storage
            .presign_part(
                &file.object_key,
                upload_id,
                number as i32,
                end - start,
                digest.as_signed(),
                state.config.url_ttl,
            )
            .await?;
        let left = part
            .expires_at
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default();
        signed.push(SignedPart {
            part_number: number,
            url: part.url,
            headers: part.headers,
            expires_in_ms: millis(left),
            // Shorter than HAUL_URL_TTL when the credentials expire sooner: the engine
            // re-signs a URL with less than half its lifetime left.
            lifetime_ms: millis(part.lifetime),
        });
    }
    Ok(signed)
}

/// The parts' digests as given, before their file is known (`files::sign_target` records them
/// only if `requested_parts` will accept the call for that file): a part each, the first time
/// it is listed, and whether a part is listed again with other digests.
fn given_digests(parts: &[PartDigest]) -> files::GivenDigests {
    let mut given: BTreeMap<u32, (Option<Digest>, Option<checksum::Md5>)> = BTreeMap::new();
    let (mut sha256s_differ, mut md5s_differ) = (false, false);
    for part in parts {
        let sha256 = checksum::parse(&part.sha256);
        let md5 = part.md5.as_deref().and_then(checksum::parse_md5);
        let first = *given.entry(part.part_number).or_insert((sha256, md5));
        sha256s_differ |= first.0 != sha256;
        md5s_differ |= first.1 != md5;
    }
    files::GivenDigests {
        numbers: given
            .keys()
            .map(|&n| i32::try_from(n).unwrap_or(i32::MAX))
            .collect(),
        sha256s: given.values().map(|(d, _)| d.map(|d| d.to_vec())).collect(),
        md5s: given.values().map(|(_, m)| m.map(|m| m.to_vec())).collect(),
        writable: (1..=MAX_PARTS_PER_SIGN).contains(&parts.len()) && !sha256s_differ,
        md5s_differ,
    }
}

/// The digest a part's URL signs, encoded as its header carries it.
enum PartDigestHeader {
    Sha256(String),
    Md5(String),
    None,
}

impl PartDigestHeader {
    fn as_signed(&self) -> SignedDigest<'_> {
        match self {
            Self::Sha256(sha256) => SignedDigest::Sha256(sha256),
            Self::Md5(md5) => SignedDigest::Md5(md5),
            Self::None => SignedDigest::None,
        }
    }
}

/// What the file's `Integrity` asks a part's URL to sign, of the part's digests. Uploads
/// begun before checksums existed carry on without them.
fn signed_digest(
    integrity: Integrity,
    part_checksums: bool,
    sums: Option<&PartSums>,
) -> PartDigestHeader {
    match (integrity, sums) {
        (Integrity::Sha256, Some(sums)) if part_checksums => {
            PartDigestHeader::Sha256(checksum::encode(&sums.sha256))
        }
        (Integrity::Md5, Some(PartSums { md5: Some(md5), .. })) => {
            PartDigestHeader::Md5(checksum::encode_md5(md5))
        }
        _ => PartDigestHeader::None,
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The parts a client asked to sign, checked: 1 to 100 of them, each an existing part once,
/// each with the digests `integrity` asks for: the base64 of a 32-byte SHA-256 (not for
/// `None`), and the base64 of a 16-byte MD5 (for `Md5`). None for a part of a file of
/// `Integrity::None`, whose URLs sign sizes only.
fn requested_parts(
    parts: &[PartDigest],
    count: u32,
    integrity: Integrity,
) -> Result<BTreeMap<u32, Option<PartSums>>, Error> {
    if parts.is_empty() || parts.len() > MAX_PARTS_PER_SIGN {
        return Err(Error::invalid(
            "parts",
            format!("Ask for 1 to {MAX_PARTS_PER_SIGN} parts at a time."),
        ));
    }
    let mut requested = BTreeMap::new();
    for part in parts {
        let number = part.part_number;
        if number == 0 || number > count {
            return Err(Error::invalid(
                "parts",
                format!("Part {number} does not exist: this file has parts 1 to {count}."),
            ));
        }
        let sums = part_sums(part, integrity)?;
        if requested.insert(number, sums).is_some_and(|s| s != sums) {
            return Err(Error::invalid(
                "parts",
                format!("Part {number} is listed twice with different checksums."),
            ));
        }
    }
    Ok(requested)
}

/// One part's digests as `integrity` wants them.
fn part_sums(part: &PartDigest, integrity: Integrity) -> Result<Option<PartSums>, Error> {
    let number = part.part_number;
    if integrity == Integrity::None {
        return Ok(None);
    }
    let Some(sha256) = checksum::parse(&part.sha256) else {
        return Err(Error::invalid(
            "parts",
            format!("Part {number}: sha256 must be the base64 of a 32-byte SHA-256 digest."),
        ));
    };
    let md5 = match (integrity, part.md5.as_deref().map(checksum::parse_md5)) {
        (Integrity::Md5, Some(Some(md5))) => Some(md5),
        (Integrity::Md5, _) => {
            return Err(Error::invalid(
                "parts",
                format!(
                    "Part {number}: md5 must be the base64 of a 16-byte MD5 digest (this \
                     storage checks parts by their MD5)."
                ),
            ))
        }
        _ => None,
    };
    Ok(Some(PartSums { sha256, md5 }))
}

/// What S3 holds of an upload in progress: the truth a resumed upload starts from.
pub async fn uploaded_parts(
    state: &AppState,
    user: &User,
    file_id: FileId,
) -> Result<Vec<UploadedPart>, Error> {
    let file = uploading_file(state, user, file_id).await?;
    let (parts, digests) = match &file.s3_upload_id {
        Some(upload_id) => {
            let (parts, digests) = landed(state, &file, upload_id).await?;
            (parts.unwrap_or_default(), digests)
        }
        None => (Vec::new(), BTreeMap::new()),
    };
    Ok(parts
        .into_iter()
        .map(|part| UploadedPart {
            part_number: part.number as u32,
            size: part.size as u64,
            sha256: u32::try_from(part.number)
                .ok()
                .and_then(|n| digests.get(&n))
                .map(checksum::encode),
            etag: part.etag,
        })
        .collect())
}

/// The parts S3 holds of `file`'s multipart upload, one entry per part (`one_per_part`:
/// the one that holds the digest the part was signed with), and those digests. The digests
/// are read after the listing: a part is signed (its digest recorded, never replaced) before
/// it can be sent, so every part listed has its digest here, even one sent meanwhile. No
/// parts (None) when S3 knows no such upload.
pub async fn landed(
    state: &AppState,
    file: &FileRow,
    upload_id: &str,
) -> Result<(Option<Vec<StoredPart>>, BTreeMap<u32, Digest>), Error> {
    let listed = state
        .storage
        .list_parts(&file.object_key, upload_id)
        .await?;
    let digests = files::part_digests(&state.db, file.id).await?;
    let recorded = |number: i32| {
        u32::try_from(number)
            .ok()
            .and_then(|n| digests.get(&n))
            .map(checksum::encode)
    };
    let parts = listed.map(|parts| one_per_part(parts, recorded));
    Ok((parts, digests))
}

/// The file's state as an answer to `complete_upload`, once it has left `uploading`.
fn settled(file: &FileRow) -> Option<Result<FileView, Error>> {
    match file.status {
        FileStatus::Complete => Some(Ok(file.view())),
        FileStatus::Failed => Some(Err(Error::invalid(
            "file",
            file.failure_reason
                .clone()
                .unwrap_or_else(|| "The upload failed.".into()),
        ))),
        FileStatus::Aborted => Some(Err(Error::invalid("file", "This upload was cancelled."))),
        FileStatus::Uploading => None,
    }
}

/// Assembles and verifies the file. Parts come from S3's own list, never from the client; the
/// object must then have exactly the declared size. One call at a time does the work (the
/// lease); a concurrent call waits for its answer. Calling it again answers the same.
pub async fn complete(state: &AppState, user: &User, file_id: FileId) -> Result<FileView, Error> {
    let deadline = Instant::now() + COMPLETE_WAIT;
    loop {
        let file = files::find_owned(&state.db, user.id, file_id).await?;
        if let Some(answer) = settled(&file) {
            return answer;
        }
        if let Some((file, lease)) = files::claim(&state.db, file.id, lease::hold(state)).await? {
            return assemble(state, &file, lease).await;
        }
        if Instant::now() >= deadline {
            return Err(Error::Conflict(
                "This upload is still being completed. Try again in a moment.".into(),
            ));
        }
        tokio::time::sleep(COMPLETE_POLL).await;
    }
}

/// `complete` under the lease. A storage that does not answer leaves the file as it was
/// (lease released, 503): only S3's definitive refusals and a wrong size fail it.
async fn assemble(state: &AppState, file: &FileRow, lease: Lease) -> Result<FileView, Error> {
    let outcome = match &file.s3_upload_id {
        Some(upload_id) => assemble_parts(state, file, &lease, upload_id).await,
        // Files sent in one PUT by an earlier version: the object is all there is.
        None => check_object(state, file, None).await,
    };
    match outcome {
        Ok(Assembled::Done(checksum)) => {
            let ending = Ending::Complete(checksum.as_deref());
            if !files::finish(&state.db, file, lease, ending).await? {
                return answer_now(state, file).await;
            }
            state.metrics.upload_ended("completed", file.size_bytes);
            Ok(FileRow {
                status: FileStatus::Complete,
                checksum_sha256: checksum,
                ..file.clone()
            }
            .view())
        }
        Ok(Assembled::NotYet(message)) => {
            lease::release(&state.db, lease).await?;
            Err(Error::invalid("file", message))
        }
        Ok(Assembled::Missing(parts)) => {
            lease::release(&state.db, lease).await?;
            Err(Error::PartsMissing {
                parts,
                part_count: file_plan(file).part_count,
            })
        }
        Ok(Assembled::Wrong(reason)) => fail(state, file, lease, &reason).await,
        // Someone else holds the file now: theirs is the answer.
        Ok(Assembled::LeaseLost) => answer_now(state, file).await,
        Err(error) => {
            lease::release(&state.db, lease).await?;
            Err(error)
        }
    }
}

enum Assembled {
    /// The object exists with the declared size and the parts' checksum (recorded here).
    Done(Option<String>),
    /// Nothing was sent for a file of one PUT (an earlier version's).
    NotYet(String),
    /// These parts (the first `MAX_PARTS_PER_SIGN` missing) have not arrived; the client
    /// can still send them.
    Missing(Vec<u32>),
    /// The bytes are not the declared file: it fails, with this reason.
    Wrong(String),
    /// The lease ran out while the parts were listed (a slow store) and was taken: nothing
    /// was asked of S3 to assemble.
    LeaseLost,
}

async fn assemble_parts(
    state: &AppState,
    file: &FileRow,
    lease: &Lease,
    upload_id: &str,
) -> Result<Assembled, Error> {
    // The digests the parts were signed with, which S3 holds them to (none for an upload
    // begun before checksums). One entry per part: S3 wants each number once, ascending.
    let (listed, digests) = landed(state, file, upload_id).await?;
    let digests = file.part_checksums.then_some(&digests);
    // No such upload: an earlier call completed it (then the object exists) or it was
    // aborted (then it does not). HeadObject tells.
    let Some(mut parts) = listed else {
        return check_object(state, file, digests).await;
    };
    match check_parts(file, &parts) {
        Ok(()) => {}
        Err(PartProblem::Missing(parts)) => return Ok(Assembled::Missing(parts)),
        Err(PartProblem::WrongSize(reason)) => return Ok(Assembled::Wrong(reason)),
    }
    // Listing thousands of parts takes a call per 1 000, each up to the operation timeout: the
    // lease is held again for the assembling, the longest call, and nothing is assembled under
    // a lease someone else has taken.
    if !lease::renew(&state.db, lease, lease::hold(state)).await? {
        return Ok(Assembled::LeaseLost);
    }
    if let Some(digests) = digests {
        // Each part must have the digest it was signed with; S3 holds no others.
        for part in &mut parts {
            let Some(digest) = u32::try_from(part.number)
                .ok()
                .and_then(|n| digests.get(&n))
            else {
                return Ok(Assembled::Wrong(format!(
                    "Part {} was stored without a checksum.",
                    part.number
                )));
            };
            // Only a store that took the SHA-256s checks them again as it assembles.
            part.sha256 = (file.integrity == Integrity::Sha256).then(|| checksum::encode(digest));
        }
    }
    match state
        .storage
        .complete_multipart(&file.object_key, upload_id, &parts)
        .await
    {
        Ok(()) | Err(StorageError::NoSuchUpload) => check_object(state, file, digests).await,
        Err(
            StorageError::Refused { code, message } | StorageError::Unsupported { code, message },
        ) => {
            tracing::warn!(file = %file.id, code, message, "S3 refused to assemble the parts");
            Ok(Assembled::Wrong(format!(
                "The storage refused to assemble the parts ({code}: {message})."
            )))
        }
        Err(error) => Err(error.into()),
    }
}

/// The object must have the declared size and, for an upload with part checksums, the
/// checksum the store reports must be the one their recorded digests give (`verdict`).
async fn check_object(
    state: &AppState,
    file: &FileRow,
    digests: Option<&BTreeMap<u32, Digest>>,
) -> Result<Assembled, Error> {
    let sha256 = file.integrity == Integrity::Sha256;
    let head = match state.storage.head(&file.object_key, sha256).await? {
        None if file.s3_upload_id.is_none() => {
            return Ok(Assembled::NotYet(
                "Nothing has been uploaded for this file yet.".into(),
            ))
        }
        None => {
            return Ok(Assembled::Wrong(
                "The storage no longer holds this upload's parts.".into(),
            ))
        }
        Some(head) => head,
    };
    if head.size != file.size_bytes {
        return Ok(Assembled::Wrong(format!(
            "The upload holds {} but {} were declared.",
            format::bytes(head.size as u64),
            format::bytes(file.size_bytes as u64)
        )));
    }
    let Some(digests) = digests else {
        return Ok(Assembled::Done(None));
    };
    let digests: Vec<Digest> = digests.values().copied().collect();
    if digests.len() != file.part_count as usize {
        return Ok(Assembled::Wrong(
            "Not every part has a recorded checksum.".into(),
        ));
    }
    let md5s = if file.integrity == Integrity::Md5 {
        let sums = files::part_sums(&state.db, file.id).await?;
        sums.values()
            .map(|sums| sums.md5)
            .collect::<Option<Vec<_>>>()
    } else {
        None
    };
    let verdict = verdict(file.integrity, &digests, md5s.as_deref(), &head);
    if let Verdict::Unconfirmed(why) = &verdict {
        tracing::warn!(file = %file.id, "{why}; Haul records the checksum of the digests the parts were signed with");
    }
    Ok(match verdict {
        Verdict::Agrees | Verdict::Unconfirmed(_) => {
            Assembled::Done(Some(checksum::recorded(&digests)))
        }
        Verdict::Disagrees(reason) => Assembled::Wrong(reason),
    })
}

/// What the store's account of an assembled object says of its parts' recorded digests.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// It reports the checksum they give.
    Agrees,
    /// It reports nothing to compare (no checksum, an ETag of its own making): why. Each part
    /// was still checked by the store against its signed digest.
    Unconfirmed(String),
    /// It reports another: the file is not what was sent.
    Disagrees(String),
}

/// Compares the store's `head` of an object with the SHA-256 `digests` (and for `Md5`, the
/// `md5s`) its parts were signed with. SHA-256: the composite `<base64>-N`, which some stores
/// report without `-N`. MD5: the multipart ETag, where it has AWS's form.
fn verdict(
    integrity: Integrity,
    digests: &[Digest],
    md5s: Option<&[checksum::Md5]>,
    head: &ObjectHead,
) -> Verdict {
    let recorded = checksum::recorded(digests);
    match integrity {
        Integrity::Sha256 => match &head.sha256 {
            Some(stored) if checksum::stored_matches(&recorded, stored) => Verdict::Agrees,
            Some(stored) => Verdict::Disagrees(format!(
                "The storage's checksum of the file ({stored}) is not the checksum of the \
                 parts sent ({}).",
                checksum::composite(digests)
            )),
            None => Verdict::Unconfirmed(
                "the storage reports no checksum for a completed upload".into(),
            ),
        },
        Integrity::Md5 => {
            let (Some(md5s), Some(etag)) = (md5s, &head.etag) else {
                return Verdict::Unconfirmed(
                    "the part MD5s or the object's ETag are not known".into(),
                );
            };
            if md5s.len() != digests.len() || !checksum::etag_is_md5_of_parts(etag) {
                return Verdict::Unconfirmed(format!(
                    "the storage's ETag {etag:?} is not AWS's multipart form"
                ));
            }
            let expected = checksum::multipart_etag(md5s);
            if *etag == expected {
                Verdict::Agrees
            } else {
                Verdict::Disagrees(format!(
                    "The storage's ETag of the file ({etag}) is not the one the parts' MD5s give \
                     ({expected})."
                ))
            }
        }
        Integrity::None => Verdict::Agrees,
    }
}

/// For an upload nobody finished: whether S3 already assembled it, the object there with the
/// declared size and checksum (its completer died between S3's answer and the database
/// write). Then it is complete, with this checksum, and must not be discarded.
pub(crate) async fn assembled_meanwhile(
    state: &AppState,
    file: &FileRow,
) -> Result<Option<Option<String>>, Error> {
    let Some(upload_id) = &file.s3_upload_id else {
        return Ok(None);
    };
    if state
        .storage
        .list_parts(&file.object_key, upload_id)
        .await?
        .is_some()
    {
        return Ok(None);
    }
    let digests = if file.part_checksums {
        Some(files::part_digests(&state.db, file.id).await?)
    } else {
        None
    };
    Ok(match check_object(state, file, digests.as_ref()).await? {
        Assembled::Done(checksum) => Some(checksum),
        _ => None,
    })
}

/// The answer from the row as it is now, for a caller whose lease was lost.
async fn answer_now(state: &AppState, file: &FileRow) -> Result<FileView, Error> {
    let now = files::find_owned(&state.db, file.owner_id, FileId(file.id)).await?;
    settled(&now).unwrap_or_else(|| {
        Err(Error::Conflict(
            "This upload is still being completed. Try again in a moment.".into(),
        ))
    })
}

enum PartProblem {
    /// Can still be sent: the first `MAX_PARTS_PER_SIGN` missing.
    Missing(Vec<u32>),
    /// The bytes are not the declared file.
    WrongSize(String),
}

/// Every part present, each of the planned size.
fn check_parts(file: &FileRow, parts: &[StoredPart]) -> Result<(), PartProblem> {
    let count = file.part_count;
    let numbers: BTreeSet<i32> = parts.iter().map(|p| p.number).collect();
    let missing: Vec<u32> = (1..=count)
        .filter(|n| !numbers.contains(n))
        .filter_map(|n| u32::try_from(n).ok())
        .take(MAX_PARTS_PER_SIGN)
        .collect();
    if !missing.is_empty() {
        return Err(PartProblem::Missing(missing));
    }
    let last_size = file.size_bytes - i64::from(count - 1) * file.part_size;
    let wrong = parts.iter().find(|p| {
        let expected = if p.number == count {
            last_size
        } else {
            file.part_size
        };
        p.number > count || p.size != expected
    });
    match wrong {
        Some(part) => Err(PartProblem::WrongSize(format!(
            "Part {} holds {} bytes, which does not match the declared size.",
            part.number, part.size
        ))),
        None => Ok(()),
    }
}

/// Marks the file failed (the quota is released), then removes whatever reached S3.
async fn fail(
    state: &AppState,
    file: &FileRow,
    lease: Lease,
    reason: &str,
) -> Result<FileView, Error> {
    if !files::finish(&state.db, file, lease, Ending::Failed(reason)).await? {
        return answer_now(state, file).await;
    }
    state.metrics.upload_ended("failed", file.size_bytes);
    file_actions::discard_or_leave_to_sweeper(state, file).await;
    Err(Error::invalid("file", reason))
}

/// The storage refused part `part_number` of the caller's upload for good, in `refusal` (the
/// store's words, as the browser read them): the file fails with them and the server logs
/// them. A client can only fail its own upload this way, and an ended one answers its ending.
pub async fn refused(
    state: &AppState,
    user: &User,
    file_id: FileId,
    part_number: u32,
    refusal: &str,
) -> Result<(), Error> {
    let file = files::find_owned(&state.db, user.id, file_id).await?;
    if let Some(answer) = settled(&file) {
        return answer.map(drop);
    }
    if part_number == 0 || part_number > file_plan(&file).part_count {
        return Err(Error::invalid(
            "part_number",
            format!("Part {part_number} does not exist in this upload."),
        ));
    }
    let refusal: String = refusal
        .chars()
        .filter(|c| !c.is_control())
        .take(400)
        .collect();
    tracing::error!(
        file = %file.id,
        part = part_number,
        integrity = file.integrity.as_str(),
        refusal,
        "the storage refused a part PUT for good: it does not take uploads as Haul signs them; \
         run `server storage check` and set HAUL_S3_CHECKSUM as it says"
    );
    let Some((file, lease)) = files::claim(&state.db, file.id, lease::hold(state)).await? else {
        return Err(lease::busy());
    };
    let reason = crate::upload::retry::unsupported_failure(part_number, &refusal);
    fail(state, &file, lease, &reason).await.map(drop)
}

/// Cancels an upload in progress: the quota is freed, S3 drops the parts. Repeating it is fine.
pub async fn abort(state: &AppState, user: &User, file_id: FileId) -> Result<(), Error> {
    let file = files::find_owned(&state.db, user.id, file_id).await?;
    match file.status {
        FileStatus::Aborted | FileStatus::Failed => Ok(()),
        FileStatus::Complete => Err(Error::invalid(
            "file",
            "This upload is complete; delete the file instead.",
        )),
        FileStatus::Uploading => {
            abort_file(state, file.id, None).await?;
            Ok(())
        }
    }
}

/// Aborts the uploading file `file_id` under its lease (which reads the row), for the reason
/// `why` its owner is shown (none: the owner cancelled it). True when this call aborted it
/// (false: it had already ended, or is gone).
pub async fn abort_file(state: &AppState, file_id: Uuid, why: Option<&str>) -> Result<bool, Error> {
    let Some((file, lease)) = files::claim(&state.db, file_id, lease::hold(state)).await? else {
        // Not claimed: someone holds the lease, or the file ended (or went) since the caller
        // read it. Only the first is worth trying again.
        return match files::find(&state.db, file_id).await {
            Ok(file) if file.status == FileStatus::Uploading => Err(lease::busy()),
            Ok(_) | Err(Error::NotFound) => Ok(false),
            Err(error) => Err(error),
        };
    };
    if !files::finish(&state.db, &file, lease, Ending::Aborted(why)).await? {
        return Ok(false);
    }
    state.metrics.upload_ended("aborted", file.size_bytes);
    file_actions::discard_or_leave_to_sweeper(state, &file).await;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::Digest as _;

    fn sha(bytes: &[u8]) -> Digest {
        sha2::Sha256::digest(bytes).into()
    }

    fn md5(bytes: &[u8]) -> checksum::Md5 {
        md5::Md5::digest(bytes).into()
    }

    fn head(sha256: Option<String>, etag: Option<String>) -> ObjectHead {
        ObjectHead {
            size: 10,
            sha256,
            etag,
        }
    }

    #[test]
    fn sha256_agrees_with_or_without_the_count_and_records_its_own_without_one() {
        let digests = [sha(b"a"), sha(b"b")];
        let composite = checksum::composite(&digests);
        let bare = composite.trim_end_matches("-2").to_owned();
        for stored in [composite.clone(), bare] {
            let head = head(Some(stored), None);
            assert_eq!(
                verdict(Integrity::Sha256, &digests, None, &head),
                Verdict::Agrees
            );
        }
        let none = head(None, None);
        assert!(matches!(
            verdict(Integrity::Sha256, &digests, None, &none),
            Verdict::Unconfirmed(_)
        ));
        let other = head(Some(checksum::composite(&[sha(b"b"), sha(b"a")])), None);
        assert!(matches!(
            verdict(Integrity::Sha256, &digests, None, &other),
            Verdict::Disagrees(_)
        ));
    }

    #[test]
    fn md5_checks_an_aws_multipart_etag_and_leaves_other_etags_unconfirmed() {
        let digests = [sha(b"a"), sha(b"b")];
        let md5s = [md5(b"a"), md5(b"b")];
        let right = head(None, Some(checksum::multipart_etag(&md5s)));
        assert_eq!(
            verdict(Integrity::Md5, &digests, Some(&md5s), &right),
            Verdict::Agrees
        );
        let wrong = head(
            None,
            Some(checksum::multipart_etag(&[md5(b"b"), md5(b"a")])),
        );
        assert!(matches!(
            verdict(Integrity::Md5, &digests, Some(&md5s), &wrong),
            Verdict::Disagrees(_)
        ));
        // A store's own ETag (GCS, AWS with SSE-KMS keeps the form but not the MD5: documented).
        for etag in [Some("CJjz7P2k7oADEAE=".to_owned()), None] {
            let own = head(None, etag);
            assert!(matches!(
                verdict(Integrity::Md5, &digests, Some(&md5s), &own),
                Verdict::Unconfirmed(_)
            ));
        }
        // MD5s missing for a part: nothing to compare.
        assert!(matches!(
            verdict(Integrity::Md5, &digests, None, &right),
            Verdict::Unconfirmed(_)
        ));
    }
}
