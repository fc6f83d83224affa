//! Hash ahead: which part to hash next and when to sign the hashed ones, so that the parts in
//! flight never wait for a digest or a URL, and yet little is held.
//!
//! A part's SHA-256 must be known before its URL can be signed (the URL signs it), and its URL
//! before it can be sent. One hasher works through the parts in order while the senders send;
//! hashed parts are signed in batches. At most `limit` parts are hashed and not yet taken by
//! a sender: that bounds how far ahead the hasher reads (and how old a URL gets before use).
//! Bytes are never held for a hashed part, only its digest: the part is read once more from
//! the file when it is sent, so memory holds the part being hashed and the parts in flight.

use std::collections::VecDeque;

/// What the hasher does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Read and hash this part.
    Hash(u32),
    /// Sign these hashed parts in one call.
    Sign(Vec<u32>),
    /// Enough is ready: wait until a sender takes a part.
    Wait,
    /// Every part is hashed and signed.
    Done,
}

#[derive(Debug, Clone)]
pub struct Ahead {
    todo: VecDeque<u32>,
    hashed: Vec<u32>,
    /// Signed, not yet taken by a sender.
    ready: usize,
    /// Most parts hashed or ready at once.
    limit: usize,
    /// Sign once this many are hashed...
    batch: usize,
    /// ...or sooner, when fewer than this many are ready (the senders would go idle).
    low: usize,
}

impl Ahead {
    /// For `todo` (in sending order) and `in_flight` parallel senders.
    pub fn new(todo: impl IntoIterator<Item = u32>, in_flight: usize) -> Self {
        let in_flight = in_flight.max(1);
        Self {
            todo: todo.into_iter().collect(),
            hashed: Vec::new(),
            ready: 0,
            limit: 3 * in_flight,
            // Two rounds of senders a call: half the sign_parts calls of one round a call, with
            // the same read-ahead and URL age, and a round still ready while a call is answered.
            batch: 2 * in_flight,
            low: in_flight.div_ceil(2),
        }
    }

    /// Parts hashed or signed but not yet taken: what the hasher is ahead by.
    pub fn ahead(&self) -> usize {
        self.hashed.len() + self.ready
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn step(&mut self) -> Step {
        let starving = self.ready < self.low;
        let full = self.ahead() >= self.limit;
        // Full with too few hashed for a batch: wait; the senders hold ready parts (else it
        // would be starving) and each one they take wakes the hasher.
        let sign_now = !self.hashed.is_empty()
            && (starving || self.hashed.len() >= self.batch || self.todo.is_empty());
        if sign_now {
            return Step::Sign(std::mem::take(&mut self.hashed));
        }
        if !full {
            if let Some(number) = self.todo.pop_front() {
                return Step::Hash(number);
            }
        }
        if self.todo.is_empty() && self.hashed.is_empty() {
            Step::Done
        } else {
            Step::Wait
        }
    }

    /// Part `number` is hashed.
    pub fn hashed(&mut self, number: u32) {
        self.hashed.push(number);
    }

    /// `count` parts got their URLs and wait for a sender.
    pub fn signed(&mut self, count: usize) {
        self.ready += count;
    }

    /// A sender took a ready part.
    pub fn taken(&mut self) {
        self.ready = self.ready.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the scheduler with senders that take a part whenever it waits, and returns the
    /// steps it took and the most parts it was ever ahead by.
    fn run(parts: u32, in_flight: usize) -> (Vec<Step>, usize) {
        run_watching(parts, in_flight, |_, _| {})
    }

    /// `run`, showing `on_sign` the scheduler and each batch as it is about to be signed.
    fn run_watching(
        parts: u32,
        in_flight: usize,
        mut on_sign: impl FnMut(&Ahead, &[u32]),
    ) -> (Vec<Step>, usize) {
        let mut ahead = Ahead::new(1..=parts, in_flight);
        let (mut steps, mut most) = (Vec::new(), 0);
        loop {
            let step = ahead.step();
            steps.push(step.clone());
            match step {
                Step::Hash(n) => ahead.hashed(n),
                Step::Sign(batch) => {
                    on_sign(&ahead, &batch);
                    ahead.signed(batch.len())
                }
                Step::Wait => ahead.taken(),
                Step::Done => break,
            }
            most = most.max(ahead.ahead());
            assert!(steps.len() < 10_000, "no progress");
        }
        (steps, most)
    }

    /// The batches signed, in order.
    fn batches(steps: &[Step]) -> Vec<Vec<u32>> {
        steps
            .iter()
            .filter_map(|s| match s {
                Step::Sign(batch) => Some(batch.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn parts_are_hashed_in_order_and_each_signed_once() {
        let (steps, _) = run(50, 4);
        let hashed: Vec<u32> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Hash(n) => Some(*n),
                _ => None,
            })
            .collect();
        assert_eq!(hashed, (1..=50).collect::<Vec<_>>());
        let mut signed: Vec<u32> = batches(&steps).into_iter().flatten().collect();
        signed.sort_unstable();
        assert_eq!(signed, (1..=50).collect::<Vec<_>>());
    }

    #[test]
    fn the_first_part_is_signed_at_once_so_sending_starts_early() {
        let mut ahead = Ahead::new(1..=100, 4);
        assert_eq!(ahead.step(), Step::Hash(1));
        ahead.hashed(1);
        assert_eq!(ahead.step(), Step::Sign(vec![1]));
    }

    #[test]
    fn it_never_gets_further_ahead_than_its_limit() {
        for in_flight in [1, 2, 4, 6] {
            let (_, most) = run(200, in_flight);
            assert_eq!(most, Ahead::new(1..=1, in_flight).limit(), "{in_flight}");
            assert_eq!(most, 3 * in_flight);
        }
    }

    #[test]
    fn it_waits_when_far_enough_ahead() {
        let mut ahead = Ahead::new(1..=100, 2);
        // Nobody takes anything: after `limit` parts it stops reading.
        let mut hashed = 0;
        loop {
            match ahead.step() {
                Step::Hash(n) => {
                    hashed += 1;
                    ahead.hashed(n)
                }
                Step::Sign(batch) => ahead.signed(batch.len()),
                Step::Wait => break,
                Step::Done => panic!("not done"),
            }
        }
        assert_eq!(hashed, 6);
        ahead.taken();
        assert_eq!(ahead.step(), Step::Hash(7));
    }

    #[test]
    fn urls_are_signed_two_rounds_of_senders_at_a_time() {
        let (steps, _) = run(400, 4);
        let sizes: Vec<usize> = batches(&steps).iter().map(Vec::len).collect();
        // 400 parts in batches of eight, a few smaller ones at the start and the end.
        assert!(sizes.len() <= 55, "{} sign calls", sizes.len());
        let eights = sizes.iter().filter(|&&n| n == 8).count();
        assert!(eights >= 45, "{eights} batches of 8 in {sizes:?}");
        assert!(sizes.iter().all(|&n| n <= 8), "{sizes:?}");
    }

    #[test]
    fn a_round_of_parts_is_still_ready_when_a_batch_is_signed() {
        for in_flight in [1, 2, 4, 6] {
            let parts = 300;
            let mut signs = 0;
            run_watching(parts, in_flight, |ahead, batch| {
                signs += batch.len();
                // Past the start, and before the last batch (which may be short).
                if signs > 3 * in_flight && !batch.contains(&parts) {
                    assert!(
                        ahead.ready >= in_flight,
                        "{in_flight} in flight: {} ready when {batch:?} was signed",
                        ahead.ready
                    );
                }
            });
        }
    }

    #[test]
    fn nothing_to_send_is_done_at_once() {
        assert_eq!(Ahead::new([], 4).step(), Step::Done);
    }
}
