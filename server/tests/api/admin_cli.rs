//! `server user promote|demote EMAIL` against the app's database.

use crate::helpers::spawn_app;

async fn run(database_url: &str, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("HAUL_LOG", "off")
        .args(args)
        .output()
        .await
        .unwrap()
}

/// Runs the command and asserts that it succeeded.
async fn run_ok(database_url: &str, args: &[&str]) {
    let output = run(database_url, args).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn role(app: &crate::helpers::TestApp, email: &str) -> String {
    sqlx::query_scalar("select role from app_user where email = $1")
        .bind(email)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn promote_and_demote_change_the_role_but_never_leave_no_admin() {
    let app = spawn_app().await;
    let (email, _) = app.signed_up_user().await;

    run_ok(
        &app.database_url,
        &["user", "promote", &email.to_uppercase()],
    )
    .await;
    assert_eq!(role(&app, &email).await, "admin");
    // The signed-in user is an admin at once.
    assert_eq!(app.call("/api/admin/users", &[]).await.status(), 200);

    // The only admin stays one.
    let output = run(&app.database_url, &["user", "demote", &email]).await;
    assert!(!output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim(),
        "error: This is the last admin: make someone else an admin first."
    );
    assert_eq!(role(&app, &email).await, "admin");

    let (other, _) = app.other_browser().signed_up_user().await;
    run_ok(&app.database_url, &["user", "promote", &other]).await;
    run_ok(&app.database_url, &["user", "demote", &email]).await;
    assert_eq!(role(&app, &email).await, "user");
    assert_eq!(app.call("/api/admin/users", &[]).await.status(), 403);
}

#[tokio::test]
async fn disable_and_enable_from_the_command_line() {
    let app = spawn_app().await;
    let (email, password) = app.signed_up_user().await;
    run_ok(&app.database_url, &["user", "disable", &email]).await;
    // Its session stops at once, and it cannot sign in.
    assert_eq!(app.me().await, None);
    assert_eq!(app.sign_in(&email, &password).await.status(), 403);
    run_ok(&app.database_url, &["user", "enable", &email]).await;
    assert_eq!(app.sign_in(&email, &password).await.status(), 200);
    let actions: Vec<String> = sqlx::query_scalar(
        "select action from audit_event where target_email = $1 and actor_id is null
         and action in ('user.disable', 'user.enable') order by audit_event_id",
    )
    .bind(&email)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(actions, ["user.disable", "user.enable"]);
}

#[tokio::test]
async fn promoting_an_unknown_email_fails_clearly() {
    let app = spawn_app().await;
    let output = run(&app.database_url, &["user", "promote", "ghost@example.com"]).await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim(),
        "error: no account with email ghost@example.com"
    );
}
