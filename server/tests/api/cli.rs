//! The `haul` command line (target/…/haul, built by `make` before the tests) against the
//! real stack: logged in with a token made on /tokens, it uploads real bytes straight to the
//! store, resumes after SIGINT and SIGKILL from the parts the store holds, refuses a file that
//! changed, lists, downloads (checking the recorded checksum) and deletes; refused tokens and
//! scopes answer their own exit code and words.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use tokio::{io::AsyncWriteExt, process::Command};

use crate::{
    fault::{Fault, FaultProxy},
    helpers::{spawn_app_via, spawn_app_with, stack, test_bytes, TestApp},
};

const MIB: usize = 1024 * 1024;

/// 8 MiB parts, files up to 2 GiB, room for them.
const ARGS: &[&str] = &[
    "--part-size",
    "8MiB",
    "--max-file-size",
    "2GiB",
    "--default-quota",
    "4GiB",
];

/// The `haul` binary beside this test's (both in target/<profile>/).
fn haul_binary() -> PathBuf {
    let test = std::env::current_exe().unwrap();
    let profile = test.parent().and_then(Path::parent).unwrap();
    let binary = profile.join("haul");
    assert!(
        binary.exists(),
        "{} is missing: build it first (cargo build -p haul-cli; `make test` does)",
        binary.display()
    );
    binary
}

/// A user of `app` with `haul` logged in under a config dir of its own.
struct Terminal {
    config: tempfile::TempDir,
    work: tempfile::TempDir,
}

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Terminal {
    async fn logged_in(app: &TestApp, scope: &str) -> (Self, String) {
        let (_, token, page) = app.make_token("terminal", scope, "").await;
        assert!(!token.is_empty(), "{page}");
        let terminal = Self {
            config: tempfile::tempdir().unwrap(),
            work: tempfile::tempdir().unwrap(),
        };
        let ran = terminal.run(&["login", &app.address], Some(&token)).await;
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        (terminal, token)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(haul_binary());
        command
            .args(args)
            .env("HAUL_CONFIG_DIR", self.config.path())
            .current_dir(self.work.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    async fn run(&self, args: &[&str], stdin: Option<&str>) -> Ran {
        let mut child = self.command(args).spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input
                .write_all(format!("{text}\n").as_bytes())
                .await
                .unwrap();
        }
        drop(input);
        let output = tokio::time::timeout(Duration::from_secs(300), child.wait_with_output())
            .await
            .expect("haul finished within 5 minutes")
            .unwrap();
        Ran {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.work.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

/// "(N of M parts sent now)" of the summary line for `name`.
fn parts_sent(stdout: &str, name: &str) -> (u32, u32) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("uploaded ") && l.contains(name))
        .unwrap_or_else(|| panic!("no summary for {name} in {stdout}"));
    let counts = line.rsplit('(').next().unwrap();
    let mut numbers = counts
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|n| n.parse::<u32>().unwrap());
    (numbers.next().unwrap(), numbers.next().unwrap())
}

/// The file id of the upload named `name`, once `haul` has started it.
async fn file_id(app: &TestApp, name: &str) -> String {
    loop {
        let id = sqlx::query_scalar::<_, uuid::Uuid>("select file_id from file where name = $1")
            .bind(name)
            .fetch_optional(&app.db)
            .await
            .unwrap();
        if let Some(id) = id {
            return id.to_string();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the store holds `parts` parts of upload `id` (asked through the API, as S3's
/// ListParts answers it).
async fn until_held(script: &TestApp, id: &str, parts: usize) {
    loop {
        let (status, held) = script.json("/api/uploaded_parts", &[("file_id", id)]).await;
        if status == 200 && held.as_array().unwrap().len() >= parts {
            return;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// PUTs of parts numbered above `last` never get an answer from the store.
fn hang_parts_above(proxy: &FaultProxy, last: u32) {
    proxy.fail(
        move |method, target| {
            method == axum::http::Method::PUT
                && target
                    .split(['?', '&'])
                    .find_map(|kv| kv.strip_prefix("partNumber="))
                    .and_then(|n| n.parse::<u32>().ok())
                    .is_some_and(|n| n > last)
        },
        Fault::Hang,
    );
}

#[tokio::test]
async fn a_1_gib_upload_stopped_by_sigint_then_sigkill_resumes_each_time_and_arrives_whole() {
    let proxy = FaultProxy::start(stack().await.s3.endpoint()).await;
    let app = spawn_app_via(Some(&proxy.endpoint), ARGS).await;
    app.signed_up_user().await;
    let (terminal, token) = Terminal::logged_in(&app, "full").await;
    let script = app.with_token(&token);
    let bytes = test_bytes(1024 * MIB, 11);
    let path = terminal.file("big.bin", &bytes);
    let path_text = path.to_str().unwrap();
    let upload = ["upload", "--parallel", "4", path_text];

    // First run: the store takes parts 1 to 40 and no more; SIGINT once it holds them.
    hang_parts_above(&proxy, 40);
    let child = terminal.command(&upload).spawn().unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id().unwrap() as i32);
    let id = file_id(&app, "big.bin").await;
    until_held(&script, &id, 40).await;
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let output = child.wait_with_output().await.unwrap();
    assert_eq!(output.status.code(), Some(130));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("Run the same command again to resume")
    );

    // Second run: resumes (checking the 40 parts held), the store takes up to part 90; SIGKILL.
    hang_parts_above(&proxy, 90);
    let child = terminal.command(&upload).spawn().unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id().unwrap() as i32);
    until_held(&script, &id, 90).await;
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    let output = child.wait_with_output().await.unwrap();
    assert_eq!(output.status.code(), None, "killed");

    // Third run: only the parts the store lacks go, and the file completes.
    proxy.heal();
    let ran = terminal.run(&upload, None).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let (sent, parts) = parts_sent(&ran.stdout, "big.bin");
    assert_eq!(parts, 128);
    assert!(
        sent <= 128 - 90,
        "sent {sent} of {parts}: only the missing parts go"
    );
    assert_eq!(
        file_id(&app, "big.bin").await,
        id,
        "the same upload, resumed"
    );

    // The bytes in the store are the file's: downloaded, checked, compared.
    let ran = terminal
        .run(&["download", &id, "-o", "back.bin"], None)
        .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.contains("checked:"), "{}", ran.stdout);
    let back = std::fs::read(terminal.work.path().join("back.bin")).unwrap();
    assert!(back == bytes, "the downloaded bytes differ");
    crate::helpers::assert_no_violations(&app).await;
}

#[tokio::test]
async fn a_directory_of_many_small_files_and_an_empty_one_go_up_and_are_listed() {
    let app = spawn_app_with(ARGS).await;
    app.signed_up_user().await;
    let (terminal, _) = Terminal::logged_in(&app, "full").await;
    let mut sums = Vec::new();
    for n in 0..40 {
        let bytes = test_bytes(n * 3001 + 1, n as u64);
        terminal.file(&format!("photos/day{}/img-{n:02}.jpg", n % 3), &bytes);
        sums.push((format!("img-{n:02}.jpg"), bytes));
    }
    terminal.file("photos/empty.txt", b"");
    let ran = terminal.run(&["upload", "photos"], None).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        ran.stdout
            .lines()
            .filter(|l| l.starts_with("uploaded "))
            .count(),
        41
    );

    let ran = terminal.run(&["ls"], None).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.stdout.lines().count(), 41, "{}", ran.stdout);
    assert!(
        ran.stdout.lines().all(|l| l.contains("complete")),
        "{}",
        ran.stdout
    );
    let empty = ran
        .stdout
        .lines()
        .find(|l| l.ends_with("empty.txt"))
        .unwrap();
    assert!(empty.contains(" 0 B "), "{empty}");

    // One of them comes back identical; the empty one comes back empty; rm deletes.
    let (name, bytes) = &sums[17];
    let id = file_id(&app, name).await;
    let ran = terminal.run(&["download", &id], None).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(std::fs::read(terminal.work.path().join(name)).unwrap() == *bytes);
    let empty_id = file_id(&app, "empty.txt").await;
    let ran = terminal
        .run(&["download", &empty_id, "-o", "e.txt"], None)
        .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(std::fs::read(terminal.work.path().join("e.txt"))
        .unwrap()
        .is_empty());
    let ran = terminal.run(&["rm", &id], None).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let ran = terminal.run(&["ls"], None).await;
    assert_eq!(ran.stdout.lines().count(), 40);
    crate::helpers::assert_no_violations(&app).await;
}

#[tokio::test]
async fn a_file_changed_since_its_upload_began_is_refused_until_restarted() {
    let proxy = FaultProxy::start(stack().await.s3.endpoint()).await;
    let app = spawn_app_via(Some(&proxy.endpoint), ARGS).await;
    app.signed_up_user().await;
    let (terminal, token) = Terminal::logged_in(&app, "upload").await;
    let path = terminal.file("notes.bin", &test_bytes(40 * MIB, 3));
    let path_text = path.to_str().unwrap().to_owned();
    hang_parts_above(&proxy, 2);
    let child = terminal.command(&["upload", &path_text]).spawn().unwrap();
    let id = file_id(&app, "notes.bin").await;
    until_held(&app.with_token(&token), &id, 2).await;
    drop(child);
    proxy.heal();
    // The file changes (another size), then the same command runs again.
    terminal.file("notes.bin", &test_bytes(41 * MIB, 4));
    let ran = terminal.run(&["upload", &path_text], None).await;
    assert_eq!(ran.code, 4, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("changed since its upload began"),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("--restart"), "{}", ran.stderr);
    let ran = terminal
        .run(&["upload", "--restart", &path_text], None)
        .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let status: String =
        sqlx::query_scalar("select status::text from file where file_id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        status, "aborted",
        "the old upload was cancelled, not left behind"
    );
    crate::helpers::assert_no_violations(&app).await;
}

#[tokio::test]
async fn refused_tokens_and_scopes_answer_their_exit_code_and_words() {
    let app = spawn_app_with(ARGS).await;
    app.signed_up_user().await;
    // A read token cannot upload.
    let (reader, token) = Terminal::logged_in(&app, "read").await;
    let path = reader.file("a.bin", &test_bytes(1000, 1));
    let ran = reader.run(&["upload", path.to_str().unwrap()], None).await;
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("scope (read) does not allow start_upload"),
        "{}",
        ran.stderr
    );
    assert_eq!(reader.run(&["ls"], None).await.code, 0);
    // Revoked: every command says so.
    let id: uuid::Uuid = sqlx::query_scalar("select api_token_id from api_token where prefix = $1")
        .bind(&token[..9])
        .fetch_one(&app.db)
        .await
        .unwrap();
    app.call(&format!("/tokens/{id}/revoke"), &[]).await;
    let ran = reader.run(&["ls"], None).await;
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("This token was revoked"),
        "{}",
        ran.stderr
    );
    // A wrong token is refused at login, and nothing is kept.
    let stranger = Terminal {
        config: tempfile::tempdir().unwrap(),
        work: tempfile::tempdir().unwrap(),
    };
    let ran = stranger
        .run(&["login", &app.address], Some("haul_not-a-real-token"))
        .await;
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(!stranger.config.path().join("config.json").exists());
    let ran = stranger.run(&["ls"], None).await;
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("not logged in"), "{}", ran.stderr);
    // The token is kept readable by its owner only.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(reader.config.path().join("config.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn larger_parts_can_be_asked_for_within_s3s_bounds() {
    let app = spawn_app_with(ARGS).await;
    app.signed_up_user().await;
    let (terminal, token) = Terminal::logged_in(&app, "upload").await;
    let path = terminal.file("wide.bin", &test_bytes(40 * MIB, 9));
    let ran = terminal
        .run(
            &["upload", "--part-size", "16MiB", path.to_str().unwrap()],
            None,
        )
        .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(parts_sent(&ran.stdout, "wide.bin"), (3, 3));
    // Out of bounds: a field error, not a failure.
    let response = app
        .with_token(&token)
        .client
        .post(app.url("/api/start_upload"))
        .header("haul-part-size", "1024")
        .form(&[
            ("name", "x.bin"),
            ("size", "100"),
            ("content_type", "text/plain"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("5 MiB to 5 GiB"));
}
