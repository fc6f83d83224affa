//! Two app servers behind one load balancer: one PostgreSQL, one bucket, one public origin,
//! separate processes' state. Nothing a user does may depend on which server answers.

use std::time::Duration;

use app::backend::sweeper::sweep;

use crate::{
    helpers::{assert_no_violations, sha256, spawn_app_with, spawn_beside, test_bytes, TestApp},
    sweeper::ttl,
    upload::{id, part_of, ARGS},
};

const MIB: usize = 1024 * 1024;

/// Servers A and B, and a browser signed in on A whose cookie B receives too.
async fn two_servers(extra: &[&str]) -> (TestApp, TestApp) {
    let mut args = ARGS.to_vec();
    args.extend_from_slice(extra);
    let a = spawn_app_with(&args).await;
    let mut b = spawn_beside(&a, &args).await;
    // The same browser: one cookie jar for both addresses (the load balancer's, in life).
    b.client = a.client.clone();
    b.cookies = a.cookies.clone();
    (a, b)
}

#[tokio::test]
async fn an_upload_started_on_one_server_is_finished_on_the_other_with_identical_bytes() {
    let (a, b) = two_servers(&[]).await;
    let (email, _) = a.signed_up_user().await;
    // A session made on A works on B.
    assert_eq!(b.me().await.as_deref(), Some(email.as_str()));

    let bytes = test_bytes(12 * MIB, 90);
    let (status, started) = a.start("across.bin", bytes.len(), "").await;
    assert_eq!(status, 200, "{started}");
    let file_id = id(&started);
    // Part 1 signed and sent through A, parts 2 and 3 through B.
    let (status, signed) = a.sign(&file_id, &[(1, part_of(&bytes, 5 * MIB, 1))]).await;
    assert_eq!(status, 200, "{signed}");
    assert_eq!(
        a.put_part(&signed[0], part_of(&bytes, 5 * MIB, 1).to_vec())
            .await,
        200
    );
    let (_, held) = b
        .json("/api/uploaded_parts", &[("file_id", &file_id)])
        .await;
    assert_eq!(held.as_array().unwrap().len(), 1, "{held}");
    let rest: Vec<(i64, &[u8])> = (2..=3).map(|n| (n, part_of(&bytes, 5 * MIB, n))).collect();
    let (status, signed) = b.sign(&file_id, &rest).await;
    assert_eq!(status, 200, "{signed}");
    for part in signed.as_array().unwrap() {
        let number = part["part_number"].as_i64().unwrap();
        let chunk = part_of(&bytes, 5 * MIB, number).to_vec();
        assert_eq!(b.put_part(part, chunk).await, 200);
    }
    let (status, done) = b.complete(&file_id).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(sha256(&a.object(&file_id).await), sha256(&bytes));
    // Completing again on A answers the same.
    let (status, again) = a.complete(&file_id).await;
    assert_eq!(
        (status, again["checksum"].clone()),
        (200, done["checksum"].clone())
    );
    // Signing out on B ends the session on A too.
    assert_eq!(b.sign_out().await.status(), 200);
    assert_eq!(a.me().await, None);
    assert_no_violations(&b).await;
}

#[tokio::test]
async fn the_per_ip_limit_holds_across_servers() {
    let limit = 4;
    let (a, b) = two_servers(&[
        "--rate-limit-per-ip",
        "4",
        "--rate-limit-per-account",
        "100",
    ])
    .await;
    let (email, _) = a.signed_up_user().await;
    a.sign_out().await;
    let mut statuses = Vec::new();
    // Twice the limit, alternately on A and B, from one address.
    for attempt in 0..2 * limit {
        let server = if attempt % 2 == 0 { &a } else { &b };
        statuses.push(
            server
                .sign_in(&email, "wrong password!")
                .await
                .status()
                .as_u16(),
        );
    }
    // Sign-up counted once against the IP's sign-up limit, not this one: 4 answered, 4 refused.
    assert_eq!(statuses, [401, 401, 401, 401, 429, 429, 429, 429]);
}

#[tokio::test]
async fn the_per_account_limit_holds_across_servers_and_a_success_gives_its_count_back() {
    let (a, b) = two_servers(&[
        "--rate-limit-per-ip",
        "100",
        "--rate-limit-per-account",
        "3",
    ])
    .await;
    let (email, password) = a.signed_up_user().await;
    a.sign_out().await;
    // Successes give their count back: any number of them, on either server.
    for server in [&a, &b, &a, &b] {
        assert_eq!(server.sign_in(&email, &password).await.status(), 200);
    }
    let statuses: Vec<u16> = futures::future::join_all(
        (0..6).map(|n| if n % 2 == 0 { &a } else { &b }.sign_in(&email, "wrong password!")),
    )
    .await
    .iter()
    .map(|r| r.status().as_u16())
    .collect();
    let mut sorted = statuses.clone();
    sorted.sort();
    assert_eq!(sorted, [401, 401, 401, 429, 429, 429], "{statuses:?}");
}

#[tokio::test]
async fn the_sweeper_runs_on_both_without_double_work() {
    let (a, b) = two_servers(&[]).await;
    a.signed_up_user().await;
    for n in 0..3 {
        let (status, _) = a.start(&format!("left-{n}.bin"), 11 * MIB, "").await;
        assert_eq!(status, 200);
    }
    // Both sweep at once with a zero TTL: the uploads are abandoned once, by whichever ran.
    let (on_a, on_b) = tokio::join!(
        sweep(&a.state, ttl(Duration::ZERO, Duration::ZERO)),
        sweep(&b.state, ttl(Duration::ZERO, Duration::ZERO)),
    );
    let (on_a, on_b) = (on_a.unwrap(), on_b.unwrap());
    let abandoned: usize = [&on_a, &on_b]
        .iter()
        .filter_map(|swept| swept.as_ref().map(|s| s.abandoned))
        .sum();
    assert_eq!(abandoned, 3, "{on_a:?} {on_b:?}");
    assert!(on_a.iter().chain(on_b.iter()).all(|s| s.failures == 0));
    // And again: nothing is left to do on either.
    let again = sweep(&b.state, ttl(Duration::ZERO, Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(again.map(|s| s.abandoned), Some(0));
    assert_eq!(a.usage().await, (0, 0));
    assert_no_violations(&a).await;
}

#[tokio::test]
async fn a_window_that_has_passed_starts_afresh_and_the_sweeper_drops_it() {
    let (a, b) = two_servers(&["--rate-limit-per-ip", "2"]).await;
    let (email, _) = a.signed_up_user().await;
    a.sign_out().await;
    assert_eq!(a.sign_in(&email, "wrong password!").await.status(), 401);
    assert_eq!(b.sign_in(&email, "wrong password!").await.status(), 401);
    assert_eq!(a.sign_in(&email, "wrong password!").await.status(), 429);
    // The window's time passes (moved back in the shared table rather than waited for).
    sqlx::query("update rate_limit set window_start = window_start - interval '1 day'")
        .execute(&a.db)
        .await
        .unwrap();
    let swept = sweep(
        &b.state,
        ttl(Duration::from_secs(3600), Duration::from_secs(3600)),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(swept.rate_limits >= 2, "{swept:?}");
    assert_eq!(b.sign_in(&email, "wrong password!").await.status(), 401);
}
