//! API tokens against the real stack: made on /tokens (shown once), used with
//! `Authorization: Bearer` from a client with no cookies and no Origin to upload real bytes,
//! list and download within the token's scope; refused with the reason when revoked, expired,
//! out of scope, over its rate, or its account disabled; never mixed up with a session.

use std::time::Duration;

use serde_json::Value;

use crate::{
    admin::{admin_and_user, user_id},
    helpers::{spawn_app_with, test_bytes, TestApp},
    upload::{app, ARGS},
};

const MIB: usize = 1024 * 1024;

impl TestApp {
    /// Makes a token on the /tokens page (this client's session); answers the page's status
    /// and the token it showed (empty when refused) with the page.
    pub(crate) async fn make_token(
        &self,
        name: &str,
        scope: &str,
        expires_in: &str,
    ) -> (u16, String, String) {
        let response = self
            .client
            .post(self.url("/tokens"))
            .form(&[("name", name), ("scope", scope), ("expires_in", expires_in)])
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let page = response.text().await.unwrap();
        let token = page
            .split(r#"<code class="api-token">"#)
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .unwrap_or_default()
            .to_owned();
        (status, token, page)
    }

    /// The same server seen by a script with `token`: no cookies, no Origin.
    pub(crate) fn with_token(&self, token: &str) -> TestApp {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        let mut script = self.other_browser();
        script.client = reqwest::Client::builder()
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        script
    }
}

/// The reason a refused bearer request gives in `WWW-Authenticate`.
fn challenge(response: &reqwest::Response) -> String {
    crate::helpers::header(response, "www-authenticate")
}

async fn post(app: &TestApp, endpoint: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.call(endpoint, form).await
}

async fn token_id(app: &TestApp, token: &str) -> String {
    let prefix = &token[..9];
    sqlx::query_scalar::<_, uuid::Uuid>("select api_token_id from api_token where prefix = $1")
        .bind(prefix)
        .fetch_one(&app.db)
        .await
        .unwrap()
        .to_string()
}

async fn audited(app: &TestApp, action: &str) -> Vec<Value> {
    sqlx::query_scalar::<_, Value>(
        "select detail from audit_event where action = $1 order by audit_event_id",
    )
    .bind(action)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_token_uploads_lists_and_downloads_within_its_scope() {
    let app = app().await;
    app.signed_up_user().await;
    let (status, upload_token, page) = app.make_token("render node 3", "upload", "30d").await;
    assert_eq!(status, 201, "{page}");
    assert!(
        upload_token.starts_with("haul_") && upload_token.len() == 48,
        "{upload_token}"
    );
    assert!(page.contains("shown only this once"));
    // Shown once: the list shows its name and first characters, never the token.
    let list = app.get("/tokens").await.text().await.unwrap();
    assert!(list.contains("render node 3") && list.contains(&upload_token[..9]));
    assert!(!list.contains(&upload_token));

    // A script with the token alone: start, sign, PUT real bytes, complete, list.
    let script = app.with_token(&upload_token);
    let bytes = test_bytes(12 * MIB, 7);
    let file_id = script.upload_file("from-the-token.bin", &bytes).await;
    let (status, listed) = script.json("/api/list_files", &[]).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["files"][0]["id"], file_id.as_str());
    assert_eq!(listed["files"][0]["status"], "complete");
    // Upload scope does not download, delete or reach the account's other endpoints.
    for (endpoint, form) in [
        ("/api/download_url", vec![("file_id", file_id.as_str())]),
        ("/api/delete_file", vec![("file_id", file_id.as_str())]),
        ("/api/create_share", vec![("file_id", file_id.as_str())]),
        ("/api/notifications", vec![]),
    ] {
        let response = post(&script, endpoint, &form).await;
        assert_eq!(response.status(), 403, "{endpoint}");
        let reason = challenge(&response);
        assert!(
            reason.contains("insufficient_scope") && reason.contains("scope (upload)"),
            "{endpoint}: {reason}"
        );
    }

    // A read token downloads the same bytes, and cannot start an upload.
    let (_, read_token, _) = app.make_token("backup job", "read", "").await;
    let reader = app.with_token(&read_token);
    assert_eq!(reader.object(&file_id).await, bytes);
    let (status, _) = reader.start("no.bin", 10, "application/octet-stream").await;
    assert_eq!(status, 403);
    // Use is noted (the list's "Last used" and the audit log).
    let unused: i64 =
        sqlx::query_scalar("select count(*) from api_token where last_used_at is null")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(unused, 0);
    let uses = audited(&app, "token.use").await;
    assert_eq!(uses.len(), 2, "{uses:?}");
    assert_eq!(audited(&app, "token.create").await.len(), 2);
}

#[tokio::test]
async fn revoked_expired_and_disabled_tokens_are_refused_with_the_reason() {
    let (admin, _, user, user_email) = admin_and_user().await;
    let (_, token, _) = user.make_token("ci", "full", "").await;
    let script = user.with_token(&token);
    assert_eq!(post(&script, "/api/list_files", &[]).await.status(), 200);

    // Disabled: refused at once; enabled again: it works again.
    let target = user_id(&admin, &user_email).await;
    let disable = |on: &'static str| {
        let (admin, target) = (&admin, target.clone());
        async move {
            let (status, _) = admin
                .json(
                    "/api/admin/set_disabled",
                    &[("user_id", &target), ("disabled", on)],
                )
                .await;
            assert_eq!(status, 200);
        }
    };
    disable("true").await;
    let response = post(&script, "/api/list_files", &[]).await;
    assert_eq!(response.status(), 401);
    assert!(
        challenge(&response).contains("account is disabled"),
        "{}",
        challenge(&response)
    );
    disable("false").await;
    assert_eq!(post(&script, "/api/list_files", &[]).await.status(), 200);

    // Expired.
    let (_, old, _) = user.make_token("old", "read", "7d").await;
    sqlx::query("update api_token set expires_at = now() - interval '1 day' where prefix = $1")
        .bind(&old[..9])
        .execute(&user.db)
        .await
        .unwrap();
    let response = post(&user.with_token(&old), "/api/list_files", &[]).await;
    assert_eq!(response.status(), 401);
    assert!(
        challenge(&response).contains("expired on"),
        "{}",
        challenge(&response)
    );

    // Another user cannot revoke it (answers like a missing one); its owner can.
    let id = token_id(&user, &token).await;
    let revoke = format!("/tokens/{id}/revoke");
    let stranger = admin.other_browser();
    stranger.signed_up_user().await;
    assert_eq!(stranger.call(&revoke, &[]).await.status(), 404);
    assert_eq!(
        stranger
            .call("/tokens/not-an-id/revoke", &[])
            .await
            .status(),
        404
    );
    assert_eq!(post(&script, "/api/list_files", &[]).await.status(), 200);
    let response = user.call(&revoke, &[]).await;
    assert_eq!(response.status(), 303);
    let response = post(&script, "/api/list_files", &[]).await;
    assert_eq!(response.status(), 401);
    let reason = challenge(&response);
    assert!(
        reason.contains("invalid_token") && reason.contains("revoked"),
        "{reason}"
    );
    // Each refusal is in the audit log with its reason.
    let refused: Vec<String> = audited(&user, "token.refused")
        .await
        .iter()
        .map(|d| d["why"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(refused, ["disabled", "expired", "revoked"]);

    // An unknown token and a malformed one are refused alike.
    for bad in [
        "haul_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "haul_short",
        "x",
    ] {
        let response = post(&user.with_token(bad), "/api/list_files", &[]).await;
        assert_eq!(response.status(), 401, "{bad}");
        assert!(challenge(&response).contains("not known"), "{bad}");
    }
}

#[tokio::test]
async fn administrators_see_and_revoke_every_users_tokens() {
    let (admin, _, user, user_email) = admin_and_user().await;
    let (_, token, _) = user.make_token("lab machine", "upload", "").await;
    // A user cannot open the admin list.
    assert_eq!(user.get("/admin/tokens").await.status(), 403);
    let page = admin.get("/admin/tokens").await.text().await.unwrap();
    assert!(
        page.contains("lab machine") && page.contains(&user_email),
        "{page}"
    );
    let id = token_id(&user, &token).await;
    let response = admin.call(&format!("/admin/tokens/{id}/revoke"), &[]).await;
    assert_eq!(response.status(), 303);
    let page = admin.get("/admin/tokens").await.text().await.unwrap();
    assert!(
        page.contains(r#"<td class="token-state">Revoked</td>"#),
        "{page}"
    );
    assert_eq!(
        post(&user.with_token(&token), "/api/list_files", &[])
            .await
            .status(),
        401
    );
    let revoked = audited(&admin, "token.revoke").await;
    assert_eq!(revoked.len(), 1);
    // An admin's own token opens no admin endpoint.
    let (_, own, _) = admin.make_token("mine", "full", "").await;
    let response = post(&admin.with_token(&own), "/api/admin/users", &[]).await;
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn a_token_is_no_session_and_a_session_is_no_token() {
    let app = app().await;
    app.signed_up_user().await;
    let (_, token, _) = app.make_token("t", "full", "").await;
    let session = app.session_cookie().unwrap();
    let session_id = session.trim_start_matches("haul_session=");

    // The session id as a bearer token: unknown.
    let response = post(&app.with_token(session_id), "/api/list_files", &[]).await;
    assert_eq!(response.status(), 401);
    // The token as the session cookie: nobody.
    let client = reqwest::Client::new();
    let response = client
        .post(app.url("/api/list_files"))
        .header("cookie", format!("haul_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // A refused token is not rescued by a valid session cookie beside it.
    let id = token_id(&app, &token).await;
    app.call(&format!("/tokens/{id}/revoke"), &[]).await;
    let response = client
        .post(app.url("/api/list_files"))
        .header("cookie", &session)
        .header("authorization", format!("Bearer {token}"))
        .header("origin", &app.origin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // The session still works on its own.
    assert_eq!(app.call("/api/list_files", &[]).await.status(), 200);
}

#[tokio::test]
async fn bearer_requests_without_cookies_need_no_origin_check_and_others_still_do() {
    let app = app().await;
    app.signed_up_user().await;
    let (_, token, _) = app.make_token("t", "read", "").await;
    let client = reqwest::Client::new();
    let from_elsewhere = |cookie: Option<&str>| {
        let mut request = client
            .post(app.url("/api/list_files"))
            .header("authorization", format!("Bearer {token}"))
            .header("origin", "https://evil.example");
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie.to_owned());
        }
        request.send()
    };
    assert_eq!(from_elsewhere(None).await.unwrap().status(), 200);
    let session = app.session_cookie().unwrap();
    assert_eq!(from_elsewhere(Some(&session)).await.unwrap().status(), 403);
}

#[tokio::test]
async fn each_token_has_its_own_rate_limit() {
    let mut args = ARGS.to_vec();
    args.extend(["--token-requests", "3"]);
    let app = spawn_app_with(&args).await;
    app.signed_up_user().await;
    let (_, first, _) = app.make_token("a", "read", "").await;
    let (_, second, _) = app.make_token("b", "read", "").await;
    let script = app.with_token(&first);
    for _ in 0..3 {
        assert_eq!(post(&script, "/api/list_files", &[]).await.status(), 200);
    }
    let response = post(&script, "/api/list_files", &[]).await;
    assert_eq!(response.status(), 429);
    assert!(!crate::helpers::header(&response, "retry-after").is_empty());
    assert_eq!(
        post(&app.with_token(&second), "/api/list_files", &[])
            .await
            .status(),
        200
    );
    // The session is not counted against either.
    assert_eq!(app.call("/api/list_files", &[]).await.status(), 200);
}

#[tokio::test]
async fn the_token_form_explains_what_is_wrong_and_keeps_what_was_typed() {
    let app = app().await;
    app.signed_up_user().await;
    let (status, token, page) = app.make_token("", "admin", "forever").await;
    assert_eq!(status, 422);
    assert!(token.is_empty());
    assert!(page.contains("Name the token"), "{page}");
    assert!(page.contains("Pick what the token may do"), "{page}");
    assert!(page.contains("Write how long"), "{page}");
    assert!(page.contains(r#"value="forever""#));
    let (status, _, page) = app.make_token("x", "read", "400d").await;
    assert_eq!(status, 422);
    assert!(page.contains("A token can last at most 366 days"), "{page}");
    let count: i64 = sqlx::query_scalar("select count(*) from api_token")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0);
    // Signed out, the page sends to sign in and the form makes nothing.
    let stranger = app.other_browser();
    let response = stranger.get("/tokens").await;
    assert_eq!(response.status(), 303);
    let (status, _, _) = stranger.make_token("x", "read", "").await;
    assert_eq!(status, 303);
}
