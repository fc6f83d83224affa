//! Accounts and sessions through the HTTP endpoints, with a cookie jar, as a browser uses them.

use app::backend::{
    audit::Actor,
    users::{self, Change},
};

use crate::helpers::{browser, header, spawn_app, spawn_app_with, unique_name};

/// What /api/me answers to a client that holds only `cookie`.
async fn me_with(app: &crate::helpers::TestApp, cookie: &str) -> serde_json::Value {
    let response = reqwest::Client::new()
        .post(app.url("/api/me"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

async fn user_count(db: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from app_user")
        .fetch_one(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn sign_up_signs_in_and_sign_out_signs_out() {
    let app = spawn_app().await;
    assert_eq!(app.me().await, None);

    let (email, password) = app.signed_up_user().await;
    assert_eq!(app.me().await.as_deref(), Some(email.as_str()));

    let response = app.sign_out().await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.me().await, None);

    let response = app.sign_in(&email, &password).await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.me().await.as_deref(), Some(email.as_str()));
}

#[tokio::test]
async fn email_is_normalised_and_unique_regardless_of_case() {
    let app = spawn_app().await;
    let email = format!("{}@Example.com", unique_name("Mixed"));
    let response = app
        .sign_up(&format!("  {email} "), "long enough password")
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.me().await, Some(email.to_ascii_lowercase()));

    let (other, _) = browser(&app.origin);
    let response = other
        .post(app.url("/api/sign_up"))
        .form(&[
            ("email", email.to_ascii_uppercase().as_str()),
            ("password", "another password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["Invalid"][0]["field"], "email", "{body}");
    assert_eq!(user_count(&app.db).await, 1);
}

#[tokio::test]
async fn bad_sign_up_input_is_refused_per_field_and_writes_nothing() {
    let app = spawn_app().await;
    let long_email = format!("{}@example.com", "a".repeat(250));
    let long_password = "p".repeat(1025);
    let cases: [(&str, &str, &str); 7] = [
        ("", "long enough password", "email"),
        ("not-an-email", "long enough password", "email"),
        (&long_email, "long enough password", "email"),
        // Cyrillic "а" that looks like a Latin "a".
        ("\u{430}dmin@example.com", "long enough password", "email"),
        ("ok@example.com", "", "password"),
        ("ok@example.com", "short", "password"),
        ("ok@example.com", &long_password, "password"),
    ];
    for (email, password, field) in cases {
        let response = app.sign_up(email, password).await;
        assert_eq!(
            response.status(),
            422,
            "{email:?} / {} chars",
            password.len()
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["Invalid"][0]["field"], field, "{body}");
    }
    assert_eq!(user_count(&app.db).await, 0);
    assert_eq!(app.session_cookie(), None);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_answer_alike() {
    let app = spawn_app().await;
    let (email, _) = app.signed_up_user().await;
    app.sign_out().await;

    let wrong_password = app.sign_in(&email, "not the password").await;
    let wrong_status = wrong_password.status();
    let wrong_body = wrong_password.text().await.unwrap();
    let unknown_email = app.sign_in("nobody@example.com", "not the password").await;
    let unknown_status = unknown_email.status();
    let unknown_body = unknown_email.text().await.unwrap();

    assert_eq!(wrong_status, 401);
    assert_eq!(unknown_status, wrong_status);
    assert_eq!(unknown_body, wrong_body);
    assert_eq!(app.me().await, None);
}

#[tokio::test]
async fn session_id_changes_at_sign_in_and_the_old_one_is_dead() {
    let app = spawn_app().await;
    let (email, password) = app.signed_up_user().await;
    let first = app
        .session_cookie()
        .expect("a session cookie after sign-up");

    let response = app.sign_in(&email, &password).await;
    assert_eq!(response.status(), 200);
    let second = app
        .session_cookie()
        .expect("a session cookie after sign-in");
    assert_ne!(first, second, "the session id must change at sign-in");

    // Someone holding the first id gets nothing.
    assert_eq!(me_with(&app, &first).await, serde_json::Value::Null);
}

#[tokio::test]
async fn after_sign_out_the_cookie_no_longer_works_and_the_session_is_gone() {
    let app = spawn_app().await;
    app.signed_up_user().await;
    let cookie = app.session_cookie().unwrap();
    let sessions = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from tower_sessions.session")
            .fetch_one(&app.db)
            .await
            .unwrap()
    };
    assert_eq!(sessions().await, 1);

    app.sign_out().await;
    assert_eq!(sessions().await, 0);
    assert_eq!(me_with(&app, &cookie).await, serde_json::Value::Null);
}

/// The session row names its user, so a call reads both in one statement; what the user row
/// says (here the role and the quota) still shows at the very next call.
#[tokio::test]
async fn a_session_names_its_user_and_changes_to_the_user_show_at_the_next_call() {
    let app = spawn_app().await;
    let (email, _) = app.signed_up_user().await;
    let user = users::find_by_email(&app.db, &app::validate::email(&email).unwrap())
        .await
        .unwrap()
        .unwrap();
    let named: Vec<Option<uuid::Uuid>> =
        sqlx::query_scalar("select user_id from tower_sessions.session")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(named, vec![Some(user.id)]);

    let me = || async {
        app.call("/api/me", &[])
            .await
            .json::<serde_json::Value>()
            .await
            .unwrap()
    };
    assert_eq!(me().await["role"], "user");
    change(&app, &email, Change::Role(app::model::Role::Admin)).await;
    change(&app, &email, Change::Quota(12_345)).await;
    let after = me().await;
    assert_eq!(after["role"], "admin");
    assert_eq!(after["quota_bytes"], 12_345);
}

/// A session written before sessions named their user (no `user_id`) is still signed in: its
/// user is then read on its own.
#[tokio::test]
async fn a_session_that_names_no_user_still_finds_its_user() {
    let app = spawn_app().await;
    let (email, _) = app.signed_up_user().await;
    sqlx::query("update tower_sessions.session set user_id = null")
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(app.me().await, Some(email.clone()));

    // And a session naming a user that is not its own is not believed: the record decides.
    let other: uuid::Uuid = sqlx::query_scalar(
        "insert into app_user (email, password_hash, quota_bytes) values ($1, 'none', 0)
         returning app_user_id",
    )
    .bind(format!("{}@example.com", unique_name("other")))
    .fetch_one(&app.db)
    .await
    .unwrap();
    sqlx::query("update tower_sessions.session set user_id = $1")
        .bind(other)
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(app.me().await, Some(email));
}

#[tokio::test]
async fn session_cookie_is_http_only_and_same_site_lax() {
    let app = spawn_app().await;
    let email = format!("{}@example.com", unique_name("cookie"));
    let response = app.sign_up(&email, "long enough password").await;
    let cookie = header(&response, "set-cookie");
    assert!(cookie.starts_with("haul_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    // Served over http here, so not Secure (the browser would drop it).
    assert!(!cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn session_cookie_is_secure_behind_an_https_origin() {
    let app = spawn_app_with(&["--public-origin", "https://haul.example.com"]).await;
    let email = format!("{}@example.com", unique_name("secure"));
    let response = app.sign_up(&email, "long enough password").await;
    assert_eq!(response.status(), 200);
    let cookie = header(&response, "set-cookie");
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = spawn_app().await;
    let form = [
        ("email", "someone@example.com"),
        ("password", "long enough password"),
    ];
    let cross_site = [
        ("origin", "http://evil.example"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
        ("referer", "http://evil.example/page"),
    ];
    for (header, value) in cross_site {
        let response = reqwest::Client::new()
            .post(app.url("/api/sign_up"))
            .header(header, value)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{header}: {value}");
    }
    assert_eq!(user_count(&app.db).await, 0);

    // The same request from the app's own pages goes through.
    assert_eq!(app.call("/api/sign_up", &form).await.status(), 200);
}

#[tokio::test]
async fn sign_in_rate_limit_trips_after_the_configured_count_per_ip() {
    let app = spawn_app_with(&[
        "--rate-limit-per-ip",
        "3",
        "--rate-limit-per-account",
        "100",
    ])
    .await;
    for _ in 0..3 {
        let response = app.sign_in("nobody@example.com", "wrong password").await;
        assert_eq!(response.status(), 401);
    }
    let response = app.sign_in("nobody@example.com", "wrong password").await;
    assert_eq!(response.status(), 429);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["RateLimited"]["retry_after"].as_u64().unwrap() > 0,
        "{body}"
    );
}

/// Behind a proxy, the per-IP limit counts what the proxy appended last, whatever the client
/// wrote before it and whether the proxy adds a port; and an IPv6 client counts by its /64,
/// so walking through its own addresses gets it nowhere.
#[tokio::test]
async fn behind_a_proxy_the_ip_limit_holds_against_forged_entries_and_ipv6_hopping() {
    let app = spawn_app_with(&[
        "--trust-proxy",
        "true",
        "--rate-limit-per-ip",
        "3",
        "--rate-limit-per-account",
        "100",
    ])
    .await;
    let sign_in_from = async |forwarded: &str| {
        app.client
            .post(app.url("/api/sign_in"))
            .header("x-forwarded-for", forwarded)
            .form(&[("email", "nobody@example.com"), ("password", "wrong")])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    // A fresh forged address each time, before the proxy's entry with its port.
    let mut forged = Vec::new();
    for n in 1..=4 {
        forged.push(sign_in_from(&format!("1.2.3.{n}, 203.0.113.9:51234")).await);
    }
    assert_eq!(forged, [401, 401, 401, 429]);
    // Four addresses of one /64, then one of another network.
    let mut hopping = Vec::new();
    for n in 1..=4 {
        hopping.push(sign_in_from(&format!("2001:db8:1:2::{n}")).await);
    }
    assert_eq!(hopping, [401, 401, 401, 429]);
    assert_eq!(sign_in_from("2001:db8:1:3::1").await, 401);
}

#[tokio::test]
async fn sign_in_rate_limit_per_account_stops_guessing_even_the_right_password() {
    let app = spawn_app_with(&[
        "--rate-limit-per-ip",
        "100",
        "--rate-limit-per-account",
        "2",
    ])
    .await;
    let (email, password) = app.signed_up_user().await;
    app.sign_out().await;
    for _ in 0..2 {
        assert_eq!(app.sign_in(&email, "wrong password").await.status(), 401);
    }
    assert_eq!(app.sign_in(&email, &password).await.status(), 429);
}

/// Makes `change` to the account `email` as the command line would.
pub async fn change(app: &crate::helpers::TestApp, email: &str, change: Change) {
    let user = users::find_by_email(&app.db, &app::validate::email(email).unwrap())
        .await
        .unwrap()
        .unwrap();
    users::change(&app.db, user.id, change, &Actor::system())
        .await
        .unwrap();
}

#[tokio::test]
async fn admin_endpoints_refuse_users_and_strangers() {
    let app = spawn_app().await;
    let stranger = app.call("/api/admin/users", &[]).await;
    assert_eq!(stranger.status(), 401);

    let (email, _) = app.signed_up_user().await;
    let user = app.call("/api/admin/users", &[]).await;
    assert_eq!(user.status(), 403);

    change(&app, &email, Change::Role(app::model::Role::Admin)).await;
    let admin = app.call("/api/admin/users", &[]).await;
    assert_eq!(admin.status(), 200);
    let listed: serde_json::Value = admin.json().await.unwrap();
    let me = listed["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == email.as_str())
        .unwrap();
    assert_eq!(me["role"], "admin");
}

#[tokio::test]
async fn a_disabled_user_is_signed_out_at_once_and_cannot_sign_in() {
    let app = spawn_app().await;
    let (email, password) = app.signed_up_user().await;

    change(&app, &email, Change::Disabled(true)).await;
    assert_eq!(app.me().await, None);
    assert_eq!(app.sign_in(&email, &password).await.status(), 403);
    assert_eq!(app.me().await, None);

    change(&app, &email, Change::Disabled(false)).await;
    assert_eq!(app.sign_in(&email, &password).await.status(), 200);
}

/// Issue 23: the right password for a disabled account is told so, and whom to ask; a wrong
/// password for it answers exactly like any wrong password, so nothing is given away to
/// someone who does not know the password.
#[tokio::test]
async fn a_disabled_account_is_told_why_only_after_the_right_password() {
    let app = spawn_app().await;
    let (email, password) = app.signed_up_user().await;
    let (enabled, _) = app.other_browser().signed_up_user().await;
    change(&app, &email, Change::Disabled(true)).await;

    let answer = async |email: &str, password: &str| {
        let response = app.sign_in(email, password).await;
        (response.status().as_u16(), response.text().await.unwrap())
    };
    let (status, body) = answer(&email, &password).await;
    assert_eq!(status, 403, "{body}");
    // The answer names the error; the page shows its words.
    let error: app::error::AppError = serde_json::from_str(&body).unwrap();
    assert_eq!(
        error.to_string(),
        "This account is disabled. Ask your Haul administrator to enable it again.",
        "{body}"
    );
    assert_eq!(app.me().await, None);

    let disabled_wrong = answer(&email, "not the password").await;
    let enabled_wrong = answer(&enabled, "not the password").await;
    let unknown = answer("nobody@example.com", "not the password").await;
    assert_eq!(disabled_wrong.0, 401, "{}", disabled_wrong.1);
    assert_eq!(disabled_wrong, enabled_wrong);
    assert_eq!(disabled_wrong, unknown);
    assert!(
        !disabled_wrong.1.contains("disabled"),
        "{}",
        disabled_wrong.1
    );
}

#[tokio::test]
async fn malformed_payloads_get_a_4xx_and_the_server_lives_on() {
    let app = spawn_app().await;
    let missing_field = app
        .call("/api/sign_in", &[("email", "a@example.com")])
        .await;
    assert_eq!(missing_field.status(), 400);

    let garbage = app
        .client
        .post(app.url("/api/sign_in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, b'=', 0x00, b'&', b'&'])
        .send()
        .await
        .unwrap();
    assert!(garbage.status().is_client_error(), "{}", garbage.status());

    let too_big = app
        .client
        .post(app.url("/api/sign_in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("email={}", "a".repeat(2 * 1024 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), 413);

    let unknown = app.call("/api/no_such_function", &[]).await;
    assert!(unknown.status().is_client_error(), "{}", unknown.status());

    // Still serving.
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn pages_carry_security_headers_with_a_script_nonce() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/signin")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    let html = response.text().await.unwrap();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a script nonce in the policy");
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the hydration script must carry the nonce"
    );
    let storage = app.storage_origin().await;
    assert!(
        csp.contains(&storage),
        "{csp} lacks the S3 origin {storage}"
    );
}

#[tokio::test]
async fn account_page_sends_strangers_to_sign_in_and_back() {
    let app = spawn_app().await;
    let page = |app: &crate::helpers::TestApp| {
        app.client
            .get(app.url("/account"))
            .header("accept", "text/html")
            .send()
    };
    let response = page(&app).await.unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["location"], "/signin?next=/account");

    let (email, _) = app.signed_up_user().await;
    let response = page(&app).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains(&email));
}

#[tokio::test]
async fn a_failed_plain_form_post_is_sent_back_to_its_page_and_a_scripted_one_gets_its_status() {
    let app = spawn_app().await;
    let (email, _) = app.signed_up_user().await;
    let form = [
        ("email", email.as_str()),
        ("password", "not the right password"),
    ];
    // Without JavaScript the browser posts the form itself: the answer sends it back to the
    // page it came from, with the error in the URL, whatever the error's own status.
    let page = app.url("/signin");
    let plain = app
        .client
        .post(app.url("/api/sign_in"))
        .header("accept", "text/html,application/xhtml+xml")
        .header("referer", &page)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 302);
    let location = plain.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with(&page) && location.contains("__err="),
        "{location}"
    );
    // The same failure from the page's script answers with its own status.
    let scripted = app.call("/api/sign_in", &form).await;
    assert_eq!(scripted.status(), 401);
    assert!(!scripted.headers().contains_key("location"));
}

#[tokio::test]
async fn sign_in_redirects_only_to_local_paths() {
    let app = spawn_app().await;
    let (email, password) = app.signed_up_user().await;
    for (next, expected) in [
        ("/account", "/account"),
        ("https://evil.example", "/"),
        ("//evil.example", "/"),
    ] {
        let response = app
            .call(
                "/api/sign_in",
                &[("email", &email), ("password", &password), ("next", next)],
            )
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["location"], expected, "next={next}");
    }
}

#[tokio::test]
async fn a_session_past_its_absolute_lifetime_ends() {
    // A lifetime of 0 s: every session is already too old on its next request.
    let app = spawn_app_with(&["--session-lifetime", "0"]).await;
    app.signed_up_user().await;
    assert!(app.session_cookie().is_some());
    assert_eq!(app.me().await, None);
}

#[tokio::test]
async fn a_session_idle_past_its_limit_ends() {
    // An idle limit of 0 s: the session has expired by the next request.
    let app = spawn_app_with(&["--session-idle", "0"]).await;
    app.signed_up_user().await;
    assert_eq!(app.me().await, None);
}

#[tokio::test]
async fn an_active_session_stays_signed_in_past_the_idle_limit() {
    // Idle limit 3 s; the user makes a request every second for 7 s.
    let app = spawn_app_with(&["--session-idle", "3s"]).await;
    let (email, _) = app.signed_up_user().await;
    let until = std::time::Instant::now() + std::time::Duration::from_secs(7);
    while std::time::Instant::now() < until {
        assert_eq!(app.me().await.as_deref(), Some(email.as_str()));
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    assert_eq!(app.me().await.as_deref(), Some(email.as_str()));
}

#[tokio::test]
async fn concurrent_wrong_passwords_are_counted_before_any_is_checked() {
    let app = spawn_app_with(&[
        "--rate-limit-per-ip",
        "1000",
        "--rate-limit-per-account",
        "10",
    ])
    .await;
    let (email, password) = app.signed_up_user().await;
    app.sign_out().await;

    let attempts = (0..40).map(|n| {
        let (client, _) = browser(&app.origin);
        let (url, email) = (app.url("/api/sign_in"), email.clone());
        async move {
            let wrong = format!("wrong password {n}");
            client
                .post(url)
                .form(&[("email", email.as_str()), ("password", wrong.as_str())])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let mut statuses = futures::future::join_all(attempts).await;
    statuses.sort();
    let checked = statuses.iter().filter(|&&s| s == 401).count();
    let refused = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!((checked, refused), (10, 30), "{statuses:?}");
    // The account stays locked for the window, even for the right password.
    assert_eq!(app.sign_in(&email, &password).await.status(), 429);
}

#[tokio::test]
async fn a_successful_sign_in_does_not_count_against_the_account() {
    let app = spawn_app_with(&["--rate-limit-per-account", "2"]).await;
    let (email, password) = app.signed_up_user().await;
    for _ in 0..5 {
        assert_eq!(app.sign_in(&email, &password).await.status(), 200);
    }
}
