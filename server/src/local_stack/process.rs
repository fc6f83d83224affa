//! Child processes that cannot outlive Haul.
//!
//! Each child asks the kernel for a signal when its parent dies (PR_SET_PDEATHSIG), so a
//! crashed server or an aborted test run leaves no PostgreSQL or SeaweedFS behind. That signal
//! fires when the *thread* that forked the child ends, so every child is forked from one
//! thread that lives as long as the process. Children get their own process group, so a
//! Ctrl-C in the terminal reaches the server alone, which then stops them in order.

use std::{
    io,
    os::unix::process::CommandExt,
    process::{Child, Command},
    sync::{mpsc, Mutex, OnceLock},
    time::{Duration, Instant},
};

use nix::{
    sys::signal::{kill, Signal},
    unistd::Pid,
};

type SpawnRequest = (Command, Signal, mpsc::Sender<io::Result<Child>>);

/// Starts `command` so that it receives `on_parent_death` if this process dies.
pub fn spawn_tied(command: Command, on_parent_death: Signal) -> io::Result<Child> {
    static KEEPER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    // Without the keeper thread no child can be tied to this process: the embedded stack
    // cannot start at all, so failing to spawn it is a panic, at the first child.
    #[allow(clippy::expect_used)]
    let keeper = KEEPER.get_or_init(|| {
        let (sender, requests) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("haul-child-keeper".into())
            .spawn(move || {
                for (command, signal, reply) in requests {
                    // The receiver only goes away if the caller gave up; nothing to tell then.
                    let _ = reply.send(spawn_with_death_signal(command, signal));
                }
                // The sender lives in a static, so the loop above never ends; should it, stay
                // alive anyway: leaving this thread would signal every child.
                loop {
                    std::thread::park();
                }
            })
            .expect("spawning the child-keeper thread");
        Mutex::new(sender)
    });
    let (reply, response) = mpsc::channel();
    keeper
        .lock()
        .map_err(|_| io::Error::other("child keeper lock poisoned"))?
        .send((command, on_parent_death, reply))
        .map_err(|_| io::Error::other("child keeper thread is gone"))?;
    response
        .recv()
        .map_err(|_| io::Error::other("child keeper thread is gone"))?
}

fn spawn_with_death_signal(mut command: Command, signal: Signal) -> io::Result<Child> {
    let parent = std::process::id();
    command.process_group(0);
    // SAFETY: the closure runs in the forked child before exec and only makes async-signal-safe
    // system calls (prctl, getppid); it allocates nothing and takes no locks.
    unsafe {
        command.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(signal).map_err(io::Error::from)?;
            // The parent may have died between fork and prctl: then no signal will come.
            if nix::unistd::getppid().as_raw() as u32 != parent {
                return Err(io::Error::other("parent exited during spawn"));
            }
            Ok(())
        });
    }
    command.spawn()
}

/// Asks `child` to stop with `signal`, waits up to `grace`, then kills it.
/// Returns true when it stopped within the grace period.
pub fn stop(child: &mut Child, signal: Signal, grace: Duration) -> bool {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return true;
    }
    let pid = Pid::from_raw(child.id() as i32);
    if kill(pid, signal).is_err() {
        // Already gone: reap it.
        let _ = child.wait();
        return true;
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

/// The last `lines` lines of a log file, for error messages.
pub fn log_tail(path: &std::path::Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join(" | ")
}
