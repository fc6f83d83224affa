//! What to do when a part's PUT fails: what S3's answer means, and the next step.

/// A part PUT's answer, read from its status and the error code in S3's XML body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Stored,
    /// No answer: the connection failed, timed out or was aborted.
    Network,
    /// The URL's lifetime is over (AWS answers 403 "Request has expired", others 400).
    Expired,
    /// The bytes are not the ones whose SHA-256 was signed: changed on the way.
    BadDigest,
    /// The signature does not hold (for instance a key rotated since it was signed).
    Forbidden,
    /// Timeouts, throttling and server errors: the same PUT may pass later.
    Transient,
    /// The store does not take the PUT as Haul signs it (a header or checksum it does not
    /// support): no part of this upload will pass until the server's settings change.
    Unsupported(u16),
    /// Anything else: the same PUT will never pass.
    Refused(u16),
}

/// The codes stores refuse bytes with that do not match the digest signed for them: AWS,
/// Ceph and GCS `BadDigest` (and `InvalidDigest` for a malformed Content-MD5, which Garage
/// also answers for a wrong SHA-256), MinIO `XAmzContentChecksumMismatch`, and the payload
/// hash mismatch `XAmzContentSHA256Mismatch`.
pub const DIGEST_REFUSALS: &[&str] = &[
    "BadDigest",
    "InvalidDigest",
    "XAmzContentChecksumMismatch",
    "XAmzContentSHA256Mismatch",
    "InvalidChecksum",
    "ChecksumMismatch",
];

/// Whether a store's error code says the bytes did not match their signed digest.
pub fn is_digest_refusal(code: &str) -> bool {
    DIGEST_REFUSALS.contains(&code)
}

/// Codes of a store that does not take a request as Haul makes it: a header it does not
/// support (B2: 400 InvalidArgument "Unsupported header"), a checksum or operation it has not
/// implemented (501 NotImplemented).
pub const UNSUPPORTED: &[&str] = &[
    "InvalidArgument",
    "InvalidRequest",
    "NotImplemented",
    "UnsupportedHeader",
    "UnsupportedOperation",
];

/// The `<Code>` of an S3 error body.
pub fn error_code(body: &str) -> Option<&str> {
    xml_text(body, "Code")
}

/// The text of the first `<tag>` of an S3 error body.
fn xml_text<'a>(body: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let end = start + body[start..].find(&format!("</{tag}>"))?;
    Some(body[start..end].trim())
}

/// Why an upload failed whose part `number` the store refused for good as the server signs it
/// (`words`: the store's, from [`refusal_words`]): what it said, and what to set.
pub fn unsupported_failure(number: u32, words: &str) -> String {
    format!(
        "The storage refused part {number} ({words}). It does not take uploads as this server \
         signs them: an administrator must run `server storage check` and set \
         HAUL_S3_CHECKSUM as it says."
    )
}

/// A store's refusal in its own words, for the user and the log: the status, the code and
/// the message of its error body (each cut short; no markup).
pub fn refusal_words(status: u16, body: &str) -> String {
    let clean = |text: &str, max: usize| -> String {
        text.chars()
            .filter(|c| !c.is_control() && *c != '<' && *c != '>')
            .take(max)
            .collect()
    };
    let mut words = status.to_string();
    if let Some(code) = error_code(body).filter(|code| !code.is_empty()) {
        words.push(' ');
        words.push_str(&clean(code, 64));
    }
    if let Some(message) = xml_text(body, "Message").filter(|m| !m.is_empty()) {
        words.push_str(&format!(" \"{}\"", clean(message, 300)));
    }
    words
}

pub fn classify(status: u16, body: &str) -> Answer {
    let code = error_code(body).unwrap_or_default();
    let expired = matches!(code, "ExpiredToken" | "TokenRefreshRequired")
        || (matches!(status, 400 | 403) && body.contains("expired"));
    match status {
        200..=299 => Answer::Stored,
        0 => Answer::Network,
        _ if expired => Answer::Expired,
        _ if is_digest_refusal(code) => Answer::BadDigest,
        _ if status == 501
            || UNSUPPORTED.contains(&code)
            || body.to_ascii_lowercase().contains("unsupported header") =>
        {
            Answer::Unsupported(status)
        }
        403 => Answer::Forbidden,
        408 | 429 | 500..=599 => Answer::Transient,
        // S3 answers a socket that sent too slowly 400 RequestTimeout: the same PUT may pass.
        _ if matches!(code, "RequestTimeout" | "SlowDown") => Answer::Transient,
        other => Answer::Refused(other),
    }
}

/// The verdict on one failed attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    /// Try again after this many milliseconds.
    RetryAfter(u32),
    /// The URL expired (or its signature no longer holds): ask for a new one, then retry.
    Resign,
    /// Read the part from the file again, check its digest, and send it again.
    Rehash,
    /// Give up on the file.
    Fail,
}

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub max_attempts: u32,
    pub base_ms: u32,
    pub cap_ms: u32,
    pub max_resigns: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_ms: 500,
            cap_ms: 30_000,
            max_resigns: 3,
        }
    }
}

impl Policy {
    /// `attempt` counts from 1; `resigns` is how many fresh URLs this part already had after
    /// a refused signature; `hopeless` says new URLs cannot help an expired one
    /// ([`Tries::hopeless`]); `jitter` is in [0, 1). An expired URL is signed again without
    /// counting as an attempt.
    pub fn next(
        &self,
        answer: Answer,
        attempt: u32,
        resigns: u32,
        hopeless: bool,
        jitter: f64,
    ) -> Next {
        match answer {
            Answer::Stored => Next::Fail,
            Answer::Expired if hopeless => Next::Fail,
            Answer::Expired => Next::Resign,
            Answer::Forbidden if resigns < self.max_resigns => Next::Resign,
            Answer::Forbidden | Answer::Refused(_) | Answer::Unsupported(_) => Next::Fail,
            _ if attempt >= self.max_attempts => Next::Fail,
            Answer::BadDigest => Next::Rehash,
            Answer::Network | Answer::Transient => Next::RetryAfter(self.backoff(attempt, jitter)),
        }
    }

    /// Full jitter: a random wait up to min(cap, base * 2^(attempt-1)), so that many clients
    /// that failed together do not come back together.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> u32 {
        let exp = self
            .base_ms
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.cap_ms);
        let jitter = jitter.clamp(0.0, 1.0);
        // At least a tenth of the window, so a retry never fires at once.
        ((f64::from(exp) * (0.1 + 0.9 * jitter)) as u32).max(1)
    }
}

/// Expiry refusals one part may meet before it fails: in all (each followed by a new URL),
/// and of refusals that came back before the URL's own expiry (one may be a moment's
/// disagreement between the clocks; several mean S3's clock runs ahead of the server's).
pub const MAX_EXPIRIES: u32 = 20;
pub const EARLY_EXPIRIES: u32 = 3;

/// How one part's tries went so far.
#[derive(Debug, Default)]
pub struct Tries {
    /// Failed sends, other than expiries.
    pub attempt: u32,
    /// New URLs asked for after a refusal.
    pub resigns: u32,
    expiries: u32,
    /// Expiries S3 answered before the URL's expiry on this side's clock.
    early_expiries: u32,
}

impl Tries {
    /// Counts one failed send; `answered_early` says its answer came back before its URL
    /// expired (by a clock that never runs later than the real expiry).
    pub fn count(&mut self, answer: Answer, answered_early: bool) {
        if answer == Answer::Expired {
            self.expiries += 1;
            self.early_expiries += u32::from(answered_early);
        } else {
            self.attempt += 1;
        }
    }

    /// No new URL will do better: S3 keeps calling URLs expired before their time (the
    /// clocks disagree), or they keep ageing out on the way (the link is too slow for them).
    pub fn hopeless(&self) -> bool {
        self.early_expiries >= EARLY_EXPIRIES || self.expiries > MAX_EXPIRIES
    }

    /// Why part `number` failed, after `answer`.
    pub fn failure(&self, answer: Answer, number: u32) -> String {
        match answer {
            Answer::Network => "The connection to the storage failed repeatedly.".to_owned(),
            Answer::Expired if self.early_expiries >= EARLY_EXPIRIES => {
                "The storage says a URL signed a moment ago has expired: the clocks of the \
                 server and the storage disagree."
                    .to_owned()
            }
            Answer::Expired => format!(
                "Part {number}'s URLs kept expiring before they reached the storage: the \
                 link is too slow for how long they last."
            ),
            Answer::BadDigest => {
                format!("Part {number} kept arriving changed at the storage (checksum mismatch).")
            }
            Answer::Forbidden => "The storage refused the upload (signature invalid).".to_owned(),
            Answer::Transient => "The storage kept answering with errors.".to_owned(),
            Answer::Refused(status) => {
                format!("The storage refused part {number} (error {status}). Retry it later.")
            }
            Answer::Unsupported(status) => format!(
                "The storage refused part {number} ({status}): it does not take the upload as \
                 this server signs it."
            ),
            Answer::Stored => "The storage refused the upload.".to_owned(),
        }
    }
}

/// Rounds of sending parts again that completion found missing, before the file fails. A
/// part whose PUT was answered as stored but that S3 does not hold (a proxy or cache on the
/// way answered for S3, or S3 lost it) is sent again; one that still does not arrive after
/// this many rounds will not arrive by sending it once more.
pub const MISSING_ROUNDS: u32 = 3;

/// Completion said parts are missing (`missing`, its words) after `resent` rounds of sending
/// them again: another round (Ok), or the file fails with why (Err).
pub fn resend_missing(resent: u32, missing: &str) -> Result<(), String> {
    if resent < MISSING_ROUNDS {
        Ok(())
    } else {
        Err(format!(
            "{missing} What was missing was sent again {resent} times and never reached the \
             storage."
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_parts_are_sent_again_a_few_rounds_then_the_file_fails() {
        let missing = "Part 2 of 3 has not arrived yet.";
        for resent in 0..MISSING_ROUNDS {
            assert_eq!(resend_missing(resent, missing), Ok(()));
        }
        let failure = resend_missing(MISSING_ROUNDS, missing).unwrap_err();
        assert_eq!(
            failure,
            "Part 2 of 3 has not arrived yet. What was missing was sent again 3 times and never \
             reached the storage."
        );
    }

    const EXPIRED_AWS: &str =
        "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>";
    const EXPIRED_OTHER: &str = "<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>";
    const BAD_DIGEST: &str = "<Error><Code>BadDigest</Code><Message>The Content-Md5 you specified did not match what we received.</Message></Error>";
    const SIGNATURE: &str = "<Error><Code>SignatureDoesNotMatch</Code></Error>";

    #[test]
    fn answers_are_read_from_the_status_and_the_error_code() {
        assert_eq!(classify(200, ""), Answer::Stored);
        assert_eq!(classify(0, ""), Answer::Network);
        assert_eq!(classify(403, EXPIRED_AWS), Answer::Expired);
        assert_eq!(classify(400, EXPIRED_OTHER), Answer::Expired);
        assert_eq!(classify(400, BAD_DIGEST), Answer::BadDigest);
        assert_eq!(classify(403, SIGNATURE), Answer::Forbidden);
        // A page that cannot read the body still knows a 403 from a 400.
        assert_eq!(classify(403, ""), Answer::Forbidden);
        assert_eq!(classify(400, ""), Answer::Refused(400));
        for status in [408, 429, 500, 503] {
            assert_eq!(classify(status, ""), Answer::Transient, "{status}");
        }
        // A socket S3 found too slow, and throttling, whatever the status they come with.
        let timeout = "<Error><Code>RequestTimeout</Code><Message>Your socket connection to the \
                       server was not read from or written to within the timeout period.</Message></Error>";
        assert_eq!(classify(400, timeout), Answer::Transient);
        assert_eq!(
            classify(400, "<Error><Code>SlowDown</Code></Error>"),
            Answer::Transient
        );
        assert_eq!(error_code(BAD_DIGEST), Some("BadDigest"));
        assert_eq!(error_code("<html>"), None);
    }

    #[test]
    fn every_stores_digest_refusal_is_a_bad_digest() {
        for code in DIGEST_REFUSALS {
            let body = format!("<Error><Code>{code}</Code><Message>x</Message></Error>");
            assert_eq!(classify(400, &body), Answer::BadDigest, "{code}");
        }
        // Read from the code, not the status.
        let minio = "<Error><Code>XAmzContentChecksumMismatch</Code></Error>";
        assert_eq!(classify(403, minio), Answer::BadDigest);
    }

    #[test]
    fn a_store_that_does_not_take_the_put_fails_the_file_in_its_own_words() {
        let b2 = "<Error><Code>InvalidArgument</Code><Message>Unsupported header \
                  'x-amz-checksum-sha256' received for this API call.</Message></Error>";
        assert_eq!(classify(400, b2), Answer::Unsupported(400));
        assert_eq!(classify(501, ""), Answer::Unsupported(501));
        assert_eq!(
            classify(501, "<Error><Code>NotImplemented</Code></Error>"),
            Answer::Unsupported(501)
        );
        // Whatever the code, a body that says so.
        assert_eq!(
            classify(
                400,
                "<Error><Code>X</Code><Message>unsupported header</Message></Error>"
            ),
            Answer::Unsupported(400)
        );
        let policy = Policy::default();
        assert_eq!(
            policy.next(Answer::Unsupported(400), 1, 0, false, 0.5),
            Next::Fail
        );
        assert_eq!(
            refusal_words(400, b2),
            "400 InvalidArgument \"Unsupported header 'x-amz-checksum-sha256' received for \
             this API call.\""
        );
        assert_eq!(refusal_words(501, ""), "501");
        // Markup and control characters never reach the page.
        assert_eq!(
            refusal_words(
                400,
                "<Error><Code>A</Code><Message>b\u{7}c</Message></Error>"
            ),
            "400 A \"bc\""
        );
    }

    #[test]
    fn network_errors_and_server_errors_are_retried() {
        let policy = Policy::default();
        for answer in [Answer::Network, Answer::Transient] {
            assert!(
                matches!(policy.next(answer, 1, 0, false, 0.5), Next::RetryAfter(_)),
                "{answer:?}"
            );
        }
    }

    #[test]
    fn client_errors_fail_at_once() {
        let policy = Policy::default();
        for status in [400, 404, 409, 411, 413] {
            assert_eq!(
                policy.next(Answer::Refused(status), 1, 0, false, 0.5),
                Next::Fail
            );
        }
    }

    #[test]
    fn a_refused_signature_means_a_fresh_url_a_few_times() {
        let policy = Policy::default();
        assert_eq!(
            policy.next(Answer::Forbidden, 1, 0, false, 0.5),
            Next::Resign
        );
        assert_eq!(policy.next(Answer::Forbidden, 1, 3, false, 0.5), Next::Fail);
    }

    #[test]
    fn an_expired_url_is_signed_again_until_that_is_hopeless() {
        let policy = Policy::default();
        // However many times a URL aged out, that is no failure...
        assert_eq!(
            policy.next(Answer::Expired, 1, 50, false, 0.5),
            Next::Resign
        );
        assert_eq!(policy.next(Answer::Expired, 8, 0, false, 0.5), Next::Resign);
        // ...until new URLs cannot help (Tries::hopeless).
        assert_eq!(policy.next(Answer::Expired, 1, 0, true, 0.5), Next::Fail);
    }

    #[test]
    fn a_bad_digest_rereads_the_part_and_counts_as_a_retry() {
        let policy = Policy::default();
        assert_eq!(
            policy.next(Answer::BadDigest, 1, 0, false, 0.5),
            Next::Rehash
        );
        assert_eq!(policy.next(Answer::BadDigest, 8, 0, false, 0.5), Next::Fail);
    }

    #[test]
    fn attempts_run_out() {
        let policy = Policy::default();
        assert!(matches!(
            policy.next(Answer::Transient, 7, 0, false, 0.5),
            Next::RetryAfter(_)
        ));
        assert_eq!(policy.next(Answer::Transient, 8, 0, false, 0.5), Next::Fail);
    }

    #[test]
    fn backoff_grows_exponentially_up_to_the_cap_with_jitter() {
        let policy = Policy::default();
        assert_eq!(policy.backoff(1, 1.0), 500);
        assert_eq!(policy.backoff(2, 1.0), 1000);
        assert_eq!(policy.backoff(3, 1.0), 2000);
        assert_eq!(policy.backoff(10, 1.0), 30_000);
        assert_eq!(policy.backoff(40, 1.0), 30_000);
        assert_eq!(policy.backoff(1, 0.0), 50);
        let spread: Vec<u32> = [0.0, 0.25, 0.5, 0.75]
            .iter()
            .map(|j| policy.backoff(4, *j))
            .collect();
        assert!(spread.windows(2).all(|w| w[0] < w[1]), "{spread:?}");
    }

    #[test]
    fn expiries_answered_before_their_time_fail_the_part_after_a_few() {
        let mut tries = Tries::default();
        for _ in 0..EARLY_EXPIRIES - 1 {
            tries.count(Answer::Expired, true);
            assert!(!tries.hopeless());
        }
        tries.count(Answer::Expired, true);
        assert!(tries.hopeless());
        assert!(tries.failure(Answer::Expired, 2).contains("clocks"));
        assert_eq!(tries.attempt, 0, "expiries are not failed attempts");
    }

    #[test]
    fn expiries_answered_late_are_signed_again_many_times() {
        // A request held on the way past its URL's expiry says nothing of the clocks.
        let mut tries = Tries::default();
        for _ in 0..MAX_EXPIRIES {
            tries.count(Answer::Expired, false);
            assert!(!tries.hopeless());
        }
        tries.count(Answer::Expired, false);
        assert!(tries.hopeless());
        assert!(tries
            .failure(Answer::Expired, 2)
            .contains("Part 2's URLs kept expiring"));
    }

    #[test]
    fn other_failures_count_as_attempts() {
        let mut tries = Tries::default();
        tries.count(Answer::Transient, true);
        tries.count(Answer::Network, false);
        assert_eq!(tries.attempt, 2);
        assert!(!tries.hopeless());
    }
}
