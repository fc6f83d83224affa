//! The transfer core against a fake platform: a scripted server and store, a fake clock that
//! moves only when the core sleeps, and a network switch. Each test names the behaviour it
//! pins and fails if the core stops doing it.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    cell::{Cell, RefCell},
    collections::{HashMap, VecDeque},
    future::Future,
    pin::Pin,
    rc::Rc,
    task::{Context, Poll},
};

use futures::{executor::LocalPool, task::LocalSpawnExt};
use transfer::{
    engine::{
        self, Abort, CallError, Job, Platform, Remote, Report, Slots, StopSwitch, Stopped, Sums,
    },
    wire::{PartDigest, SignedPart, UploadedPart},
};

const PART: u64 = 10;
/// URLs live 60 s.
const LIFETIME_MS: u64 = 60_000;

#[derive(Clone, PartialEq)]
struct Put(u32);

impl Abort for Put {
    fn abort(&self) {}
}

/// The scripted world. Every field is what happened or what will be answered.
#[derive(Default)]
struct Fake {
    now: Cell<f64>,
    online: Cell<bool>,
    /// Sleeps until the network comes back (when offline).
    offline_for: Cell<u32>,
    sleeps: RefCell<Vec<u32>>,
    /// Answers for part PUTs, in turn, per part (then 200).
    put_answers: RefCell<HashMap<u32, VecDeque<(u16, String)>>>,
    puts: RefCell<Vec<(u32, String)>>,
    /// Parts the store holds, with the digests they were signed with.
    held: RefCell<Vec<UploadedPart>>,
    uploaded_parts_answers: RefCell<VecDeque<Result<(), CallError>>>,
    signs: RefCell<Vec<Vec<u32>>>,
    /// How long each signed URL has left, from the moment it is signed.
    expires_in_ms: Cell<u64>,
    complete_answers: RefCell<VecDeque<Result<(), CallError>>>,
    completes: Cell<u32>,
    aborts: Cell<u32>,
    forgotten: Cell<u32>,
    /// Hashes made, per part.
    hashed: RefCell<Vec<u32>>,
    /// Parts whose bytes changed after they were first read.
    changed: RefCell<Vec<u32>>,
    /// Parts the store loses by the first completion (it answers them missing).
    loses: RefCell<Vec<u32>>,
}

impl Fake {
    fn new() -> Rc<Self> {
        let fake = Self::default();
        fake.online.set(true);
        fake.expires_in_ms.set(LIFETIME_MS);
        Rc::new(fake)
    }

    fn answer_put(&self, part: u32, answers: &[(u16, &str)]) {
        self.put_answers.borrow_mut().insert(
            part,
            answers.iter().map(|(s, b)| (*s, (*b).to_owned())).collect(),
        );
    }

    fn stored(&self) -> Vec<u32> {
        let mut parts: Vec<u32> = self.held.borrow().iter().map(|p| p.part_number).collect();
        parts.sort_unstable();
        parts
    }
}

struct Platformed(Rc<Fake>);

fn digest(number: u32, changed: bool) -> String {
    format!("sha-{number}{}", if changed { "-changed" } else { "" })
}

impl Platform for Platformed {
    type Id = u32;
    type Part = u32;
    type Request = Put;
    type File = &'static str;

    fn now(&self) -> f64 {
        self.0.now.get()
    }

    fn random(&self) -> f64 {
        0.5
    }

    fn sleep(&self, ms: u32) -> impl Future<Output = ()> {
        let fake = self.0.clone();
        fake.sleeps.borrow_mut().push(ms);
        fake.now.set(fake.now.get() + f64::from(ms));
        if !fake.online.get() {
            let left = fake.offline_for.get().saturating_sub(1);
            fake.offline_for.set(left);
            if left == 0 {
                fake.online.set(true);
            }
        }
        YieldOnce(false)
    }

    fn online(&self) -> bool {
        self.0.online.get()
    }

    fn part(&self, start: u64, _end: u64) -> Result<u32, Stopped> {
        Ok(u32::try_from(start / PART).unwrap() + 1)
    }

    async fn digests(&self, part: &u32) -> Result<Sums, String> {
        let mut hashed = self.0.hashed.borrow_mut();
        let changed = self.0.changed.borrow().contains(part) && hashed.contains(part);
        hashed.push(*part);
        Ok(Sums {
            sha256: digest(*part, changed),
            md5: None,
        })
    }

    async fn put(
        &self,
        url: &str,
        _headers: &[(String, String)],
        part: &u32,
        stop: &StopSwitch<Put>,
        progress: impl Fn(u64) + 'static,
    ) -> (u16, String) {
        YieldOnce(false).await;
        if !stop.track(&Put(*part)) {
            return (0, String::new());
        }
        self.0.puts.borrow_mut().push((*part, url.to_owned()));
        let answer = self
            .0
            .put_answers
            .borrow_mut()
            .get_mut(part)
            .and_then(VecDeque::pop_front)
            .unwrap_or((200, String::new()));
        stop.untrack(&Put(*part));
        if answer.0 == 200 {
            progress(PART);
            let sha = url.split("sha=").nth(1).unwrap_or_default().to_owned();
            let mut held = self.0.held.borrow_mut();
            held.retain(|p| p.part_number != *part);
            held.push(UploadedPart {
                part_number: *part,
                size: PART,
                etag: format!("e{part}"),
                sha256: Some(sha),
            });
        }
        answer
    }

    async fn sign_parts(
        &self,
        _id: u32,
        parts: Vec<PartDigest>,
    ) -> Result<Vec<SignedPart>, CallError> {
        self.0
            .signs
            .borrow_mut()
            .push(parts.iter().map(|p| p.part_number).collect());
        let round = self.0.signs.borrow().len();
        Ok(parts
            .into_iter()
            .map(|p| SignedPart {
                part_number: p.part_number,
                url: format!(
                    "https://s3/{}?round={round}&sha={}",
                    p.part_number, p.sha256
                ),
                headers: Vec::new(),
                expires_in_ms: self.0.expires_in_ms.get(),
                lifetime_ms: LIFETIME_MS,
            })
            .collect())
    }

    async fn uploaded_parts(&self, _id: u32) -> Result<Vec<UploadedPart>, CallError> {
        match self.0.uploaded_parts_answers.borrow_mut().pop_front() {
            Some(Err(error)) => Err(error),
            _ => Ok(self.0.held.borrow().clone()),
        }
    }

    async fn complete(&self, _id: u32) -> Result<&'static str, CallError> {
        self.0.completes.set(self.0.completes.get() + 1);
        let lost: Vec<u32> = self.0.loses.borrow_mut().drain(..).collect();
        if !lost.is_empty() {
            self.0
                .held
                .borrow_mut()
                .retain(|p| !lost.contains(&p.part_number));
            return Err(CallError::PartsMissing(format!("parts {lost:?}")));
        }
        match self.0.complete_answers.borrow_mut().pop_front() {
            Some(Err(error)) => Err(error),
            _ => Ok("complete"),
        }
    }

    async fn abort(&self, _id: u32) -> Result<(), CallError> {
        self.0.aborts.set(self.0.aborts.get() + 1);
        Ok(())
    }

    async fn remote(&self, _id: u32) -> Remote {
        Remote::Other
    }

    fn report_refusal(&self, _id: u32, _number: u32, _words: String) {}

    fn forget(&self, _id: u32) {
        self.0.forgotten.set(self.0.forgotten.get() + 1);
    }
}

/// Returns Pending once (waking itself), then Ready: lets other tasks run.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        context.waker().wake_by_ref();
        Poll::Pending
    }
}

#[derive(Default)]
struct Seen {
    done: Cell<u64>,
    verifying: Cell<u32>,
}

struct Reported(Rc<Seen>);

impl Report for Reported {
    fn progress(&self, done: u64) {
        self.0.done.set(done);
    }
    fn verifying(&self) {
        self.0.verifying.set(self.0.verifying.get() + 1);
    }
    fn sending(&self) {}
    fn held_checked(&self) {}
}

fn job(parts: u32) -> Job<u32> {
    Job {
        id: 7,
        size: u64::from(parts) * PART,
        part_size: PART,
        part_count: parts,
        hashes: true,
    }
}

/// Runs one upload of `parts` parts on `fake`, with `control` running beside it.
fn run(
    fake: &Rc<Fake>,
    parts: u32,
    check_held: bool,
    slots: Slots,
    stop: StopSwitch<Put>,
    control: impl Future<Output = ()> + 'static,
) -> (Result<&'static str, Stopped>, Rc<Seen>) {
    let seen = Rc::new(Seen::default());
    let platform = Platformed(fake.clone());
    let mut pool = LocalPool::new();
    pool.spawner().spawn_local(control).unwrap();
    let report = Rc::new(Reported(seen.clone()));
    let result = pool.run_until(engine::upload(
        &platform,
        job(parts),
        check_held,
        3,
        &slots,
        &stop,
        report,
    ));
    (result, seen)
}

fn upload(fake: &Rc<Fake>, parts: u32) -> (Result<&'static str, Stopped>, Rc<Seen>) {
    run(
        fake,
        parts,
        false,
        Slots::default(),
        StopSwitch::default(),
        async {},
    )
}

#[test]
fn every_part_goes_up_once_and_the_upload_completes() {
    let fake = Fake::new();
    let (result, seen) = upload(&fake, 5);
    assert_eq!(result, Ok("complete"));
    assert_eq!(fake.stored(), [1, 2, 3, 4, 5]);
    assert_eq!(fake.puts.borrow().len(), 5);
    assert_eq!(seen.done.get(), 50);
    assert_eq!(fake.forgotten.get(), 1, "a finished upload is forgotten");
}

#[test]
fn a_url_that_expires_while_it_waits_in_the_queue_is_signed_again_before_its_put() {
    let fake = Fake::new();
    // Signed with a quarter of its lifetime left: stale before it is ever sent.
    fake.expires_in_ms.set(LIFETIME_MS / 4);
    let (result, _) = upload(&fake, 2);
    assert_eq!(result, Ok("complete"));
    // Each part was signed in the batch, then again on its own; every PUT used a fresh URL.
    let signs = fake.signs.borrow();
    assert!(signs.len() >= 3, "{signs:?}");
    for (_, url) in fake.puts.borrow().iter() {
        assert!(!url.contains("round=1&"), "a stale URL was used: {url}");
    }
    assert_eq!(
        fake.puts.borrow().len(),
        2,
        "no PUT was wasted on a stale URL"
    );
}

#[test]
fn a_put_refused_as_expired_is_signed_again_and_sent() {
    let fake = Fake::new();
    fake.answer_put(
        1,
        &[(
            403,
            "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
        )],
    );
    fake.now.set(0.0);
    let (result, _) = upload(&fake, 1);
    assert_eq!(result, Ok("complete"));
    assert_eq!(fake.signs.borrow().len(), 2);
    assert_eq!(fake.puts.borrow().len(), 2);
}

#[test]
fn a_part_refused_with_bad_digest_is_read_again_and_resent_when_unchanged() {
    let fake = Fake::new();
    fake.answer_put(2, &[(400, "<Error><Code>BadDigest</Code></Error>")]);
    let (result, _) = upload(&fake, 3);
    assert_eq!(result, Ok("complete"));
    let hashed_two = fake.hashed.borrow().iter().filter(|n| **n == 2).count();
    assert_eq!(hashed_two, 2, "part 2 was hashed again after BadDigest");
    let puts_two = fake.puts.borrow().iter().filter(|(n, _)| *n == 2).count();
    assert_eq!(puts_two, 2);
}

#[test]
fn a_part_that_changed_on_disk_after_bad_digest_ends_the_upload() {
    let fake = Fake::new();
    fake.answer_put(1, &[(400, "<Error><Code>BadDigest</Code></Error>")]);
    fake.changed.borrow_mut().push(1);
    let (result, _) = upload(&fake, 1);
    match result {
        Err(Stopped::Rejected(words)) => assert!(words.contains("changed on disk"), "{words}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.forgotten.get(), 1, "a changed file cannot be resumed");
}

#[test]
fn a_503_and_a_lost_answer_on_completion_are_retried_until_it_completes() {
    let fake = Fake::new();
    fake.complete_answers.borrow_mut().extend([
        Err(CallError::Transient("503".into())),
        Err(CallError::Transient("no answer".into())),
    ]);
    let (result, seen) = upload(&fake, 2);
    assert_eq!(result, Ok("complete"));
    assert_eq!(fake.completes.get(), 3);
    assert_eq!(seen.verifying.get(), 1);
    assert_eq!(fake.puts.borrow().len(), 2, "no part was sent again");
    assert!(
        fake.sleeps.borrow().len() >= 2,
        "it backed off between tries"
    );
}

#[test]
fn parts_the_store_lost_are_sent_again_from_its_list_and_completed() {
    let fake = Fake::new();
    fake.loses.borrow_mut().push(2);
    let (result, _) = upload(&fake, 3);
    assert_eq!(result, Ok("complete"));
    assert_eq!(fake.completes.get(), 2);
    let sent: Vec<u32> = fake.puts.borrow().iter().map(|(n, _)| *n).collect();
    assert_eq!(sent.len(), 4, "{sent:?}");
    assert_eq!(sent[3], 2, "only the lost part went again");
}

#[test]
fn offline_time_burns_no_retries_and_the_upload_goes_on_when_online() {
    let fake = Fake::new();
    fake.online.set(false);
    // Far longer offline than any retry budget: 400 waits of 250 ms.
    fake.offline_for.set(400);
    let (result, _) = upload(&fake, 2);
    assert_eq!(result, Ok("complete"));
    assert!(fake.sleeps.borrow().iter().filter(|ms| **ms == 250).count() >= 399);
    assert_eq!(fake.puts.borrow().len(), 2);
}

#[test]
fn a_resume_sends_only_what_the_store_lacks_after_checking_what_it_holds() {
    let fake = Fake::new();
    for n in [1, 3] {
        fake.held.borrow_mut().push(UploadedPart {
            part_number: n,
            size: PART,
            etag: format!("e{n}"),
            sha256: Some(digest(n, false)),
        });
    }
    let (result, seen) = run(
        &fake,
        4,
        true,
        Slots::default(),
        StopSwitch::default(),
        async {},
    );
    assert_eq!(result, Ok("complete"));
    let sent: Vec<u32> = fake.puts.borrow().iter().map(|(n, _)| *n).collect();
    assert_eq!(sent, [2, 4]);
    assert_eq!(seen.done.get(), 40);
}

#[test]
fn a_resume_with_another_file_is_refused_and_keeps_the_upload() {
    let fake = Fake::new();
    fake.held.borrow_mut().push(UploadedPart {
        part_number: 1,
        size: PART,
        etag: "e1".into(),
        sha256: Some("sha-of-another-file".into()),
    });
    let (result, _) = run(
        &fake,
        2,
        true,
        Slots::default(),
        StopSwitch::default(),
        async {},
    );
    assert!(matches!(result, Err(Stopped::NotThisFile(_))), "{result:?}");
    assert!(fake.puts.borrow().is_empty());
    assert_eq!(
        fake.forgotten.get(),
        0,
        "the upload stays, for the right file"
    );
}

#[test]
fn a_completion_that_happened_elsewhere_is_answered_as_complete() {
    let fake = Fake::new();
    // The upload ended on the server (another client completed it): nothing to send.
    fake.uploaded_parts_answers
        .borrow_mut()
        .push_back(Err(CallError::Refused("This upload is complete.".into())));
    let (result, _) = upload(&fake, 3);
    assert_eq!(result, Ok("complete"));
    assert!(fake.puts.borrow().is_empty());
    assert!(fake.signs.borrow().is_empty());
}

#[test]
fn a_pause_racing_a_part_that_waits_for_a_connection_sends_nothing_more() {
    let fake = Fake::new();
    let slots = Slots::with_limit(1);
    let stop = StopSwitch::<Put>::default();
    // Someone else holds the only connection; pause once parts wait for it, then free it.
    let held_slot = futures::executor::block_on(slots.take());
    let (control_stop, watcher) = (stop.clone(), fake.clone());
    let control = async move {
        while watcher.signs.borrow().is_empty() {
            YieldOnce(false).await;
        }
        YieldOnce(false).await;
        control_stop.pause();
        drop(held_slot);
    };
    let (result, _) = run(&fake, 3, false, slots, stop, control);
    assert_eq!(result, Err(Stopped::Paused));
    assert!(fake.puts.borrow().is_empty(), "{:?}", fake.puts.borrow());
    assert_eq!(
        fake.aborts.get(),
        0,
        "a pause keeps the upload on the server"
    );
    assert_eq!(fake.forgotten.get(), 0);
}

#[test]
fn a_cancel_after_a_pause_aborts_the_upload_and_forgets_it() {
    let fake = Fake::new();
    let stop = StopSwitch::<Put>::default();
    stop.pause();
    stop.cancel();
    let (result, _) = run(&fake, 2, false, Slots::default(), stop, async {});
    assert_eq!(result, Err(Stopped::Cancelled));
    assert_eq!(fake.aborts.get(), 1);
    assert_eq!(fake.forgotten.get(), 1);
    assert!(fake.puts.borrow().is_empty());
}

#[test]
fn a_store_that_keeps_failing_fails_the_upload_for_a_later_resume() {
    let fake = Fake::new();
    fake.answer_put(1, &[(503, ""); 50]);
    let (result, _) = upload(&fake, 1);
    assert!(matches!(result, Err(Stopped::Failed(_))), "{result:?}");
    assert_eq!(fake.forgotten.get(), 0, "kept, to resume");
    assert_eq!(fake.completes.get(), 0);
}
