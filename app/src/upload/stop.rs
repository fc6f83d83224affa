//! What stopping a file's upload asks for: a pause keeps the upload on the server, to be
//! resumed; a cancel drops it. Either stops what runs (the browser layer aborts its requests).

use std::{cell::Cell, rc::Rc};

#[derive(Clone, Default)]
pub struct Stop {
    stopped: Rc<Cell<bool>>,
    paused: Rc<Cell<bool>>,
}

impl Stop {
    /// Stops for good: it overrides a pause made just before, whose upload may still be
    /// ending (its last requests being aborted).
    pub fn cancel(&self) {
        self.paused.set(false);
        self.stopped.set(true);
    }

    /// Stops, keeping the upload to resume. False, and nothing changes, when it was
    /// cancelled: a pause does not undo a cancel.
    pub fn pause(&self) -> bool {
        if self.stopped.get() && !self.paused.get() {
            return false;
        }
        self.paused.set(true);
        self.stopped.set(true);
        true
    }

    /// Paused or cancelled: nothing new starts.
    pub fn is_stopped(&self) -> bool {
        self.stopped.get()
    }

    pub fn is_paused(&self) -> bool {
        self.paused.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pause_stops_and_keeps_the_upload() {
        let stop = Stop::default();
        assert!(!stop.is_stopped());
        assert!(stop.pause());
        assert!(stop.is_stopped() && stop.is_paused());
    }

    #[test]
    fn a_cancel_after_a_pause_wins() {
        let stop = Stop::default();
        stop.pause();
        stop.cancel();
        assert!(stop.is_stopped() && !stop.is_paused());
    }

    #[test]
    fn a_pause_after_a_cancel_changes_nothing() {
        let stop = Stop::default();
        stop.cancel();
        assert!(!stop.pause());
        assert!(stop.is_stopped() && !stop.is_paused());
    }

    #[test]
    fn clones_share_the_switch() {
        let stop = Stop::default();
        stop.clone().cancel();
        assert!(stop.is_stopped());
    }
}
