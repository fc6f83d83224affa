//! Share links (issue 24): a visitor with the link sees the file on a page rendered on the
//! server and downloads the same bytes from the store; the limit holds under concurrent
//! visitors; a password is asked first and guesses are limited; ended and unknown links
//! answer the same page; a deleted file or a disabled owner ends links at once; every
//! endpoint checks the session and the owner.

use app::{backend::users::Change, model::Role};
use serde_json::Value;
use sha2::Digest;

use crate::{
    files_find::{started, uploaded},
    helpers::{spawn_app_with, test_bytes, TestApp},
    upload::{app, ARGS},
};

const MIB: usize = 1024 * 1024;

/// A link to `file_id` made through the API with these fields: status and answer.
async fn make(app: &TestApp, file_id: &str, fields: &[(&str, &str)]) -> (u16, Value) {
    let mut form = vec![("file_id", file_id)];
    form.extend_from_slice(fields);
    app.json("/api/create_share", &form).await
}

/// A link's token, from the URL `create_share` answered.
fn token(made: &Value) -> String {
    let url = made["url"].as_str().unwrap();
    url.rsplit_once("/s/").unwrap().1.to_owned()
}

/// A visitor: the same server, a browser with no session.
fn visitor(app: &TestApp) -> TestApp {
    app.other_browser()
}

/// The link's page: status and HTML.
async fn visit(visitor: &TestApp, token: &str) -> (u16, String) {
    let response = visitor.get(&format!("/s/{token}")).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Presses Download: the status, and where a 303 sends the browser.
async fn press_download(visitor: &TestApp, token: &str) -> (u16, Option<String>) {
    let response = visitor
        .client
        .post(visitor.url(&format!("/s/{token}/download")))
        .send()
        .await
        .unwrap();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    (response.status().as_u16(), location)
}

async fn downloads_of(app: &TestApp, token: &str) -> i32 {
    let hash = sha2::Sha256::digest(token.as_bytes()).to_vec();
    sqlx::query_scalar("select downloads from share_link where token_hash = $1")
        .bind(hash)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn audit_actions(app: &TestApp, file_id: &str) -> Vec<String> {
    sqlx::query_scalar(
        "select action from audit_event where target_file_id = $1::uuid and action like 'share.%'
         order by audit_event_id",
    )
    .bind(file_id)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_visitor_downloads_the_same_bytes_and_each_download_is_counted_to_the_limit() {
    let app = app().await;
    app.signed_up_user().await;
    let size = 7 * MIB;
    let file_id = uploaded(&app, "footage <raw>.mov", size).await;
    let (status, made) = make(
        &app,
        &file_id,
        &[
            ("max_downloads", "2"),
            ("note", "The cut from Tuesday."),
            ("sender_name", "Ana & Co"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{made}");
    assert_eq!(made["share"]["state"], "active");
    assert_eq!(made["share"]["max_downloads"], 2);
    let token = token(&made);
    assert_eq!(token.len(), 43, "256 random bits, base64url");
    // Only a hash of the token is stored.
    let stored: i64 = sqlx::query_scalar("select count(*) from share_link where token_hash = $1")
        .bind(token.as_bytes())
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, 0);

    let visitor = visitor(&app);
    let (status, page) = visit(&visitor, &token).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("footage &lt;raw&gt;.mov"),
        "the name, escaped: {page}"
    );
    assert!(page.contains("Ana &amp; Co sent you a file"), "{page}");
    assert!(page.contains("The cut from Tuesday."), "{page}");
    assert!(page.contains(&format!("{size} bytes")), "{page}");
    assert!(page.contains("How to check the file"), "{page}");
    assert!(!page.contains("<script"), "no script on the visitor's page");
    // Seeing the page spends nothing.
    assert_eq!(downloads_of(&app, &token).await, 0);

    let (status, location) = press_download(&visitor, &token).await;
    assert_eq!(status, 303);
    let response = reqwest::get(location.unwrap()).await.unwrap();
    assert_eq!(response.status(), 200);
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    let bytes = response.bytes().await.unwrap();
    assert_eq!(bytes.as_ref(), test_bytes(size, size as u64).as_slice());
    assert_eq!(downloads_of(&app, &token).await, 1);

    assert_eq!(press_download(&visitor, &token).await.0, 303);
    // The limit is reached: the link has ended.
    let (status, _) = press_download(&visitor, &token).await;
    assert_eq!(status, 410);
    assert_eq!(visit(&visitor, &token).await.0, 410);
    assert_eq!(downloads_of(&app, &token).await, 2);

    let (status, links) = app.json("/api/list_shares", &[("file_id", &file_id)]).await;
    assert_eq!(status, 200);
    assert_eq!(links[0]["downloads"], 2);
    assert_eq!(links[0]["state"], "used_up");
    assert_eq!(
        audit_actions(&app, &file_id).await,
        ["share.create", "share.download", "share.download"]
    );
}

#[tokio::test]
async fn two_visitors_at_once_never_pass_the_download_limit() {
    let app = app().await;
    app.signed_up_user().await;
    let file_id = uploaded(&app, "dataset.tar", 1000).await;
    let (_, made) = make(&app, &file_id, &[("max_downloads", "3")]).await;
    let token = token(&made);
    let visitors: Vec<TestApp> = (0..12).map(|_| visitor(&app)).collect();
    let answers =
        futures::future::join_all(visitors.iter().map(|v| press_download(v, &token))).await;
    let given = answers.iter().filter(|(status, _)| *status == 303).count();
    let refused = answers.iter().filter(|(status, _)| *status == 410).count();
    assert_eq!((given, refused), (3, 9), "{answers:?}");
    assert_eq!(downloads_of(&app, &token).await, 3);
}

#[tokio::test]
async fn unknown_expired_and_revoked_links_answer_the_same_page() {
    let app = app().await;
    app.signed_up_user().await;
    let file_id = uploaded(&app, "notes.txt", 10).await;
    let visitor = visitor(&app);

    let (status, unknown) = visit(&visitor, &"A".repeat(43)).await;
    assert_eq!(status, 404);
    let (status, malformed) = visit(&visitor, "not-a-token").await;
    assert_eq!((status, &malformed), (404, &unknown));
    assert_eq!(press_download(&visitor, &"A".repeat(43)).await.0, 404);

    let (_, made) = make(&app, &file_id, &[]).await;
    let expired = token(&made);
    sqlx::query(
        "update share_link set expires_at = now() - interval '1 second' where share_id = $1::uuid",
    )
    .bind(made["share"]["id"].as_str().unwrap())
    .execute(&app.db)
    .await
    .unwrap();
    assert_eq!(visit(&visitor, &expired).await, (410, unknown.clone()));
    assert_eq!(press_download(&visitor, &expired).await.0, 410);

    let (_, made) = make(&app, &file_id, &[]).await;
    let revoked = token(&made);
    assert_eq!(visit(&visitor, &revoked).await.0, 200);
    let share_id = made["share"]["id"].as_str().unwrap();
    let (status, answer) = app
        .json("/api/revoke_share", &[("share_id", share_id)])
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["state"], "revoked");
    // Twice is the same.
    assert_eq!(
        app.json("/api/revoke_share", &[("share_id", share_id)])
            .await
            .0,
        200
    );
    assert_eq!(visit(&visitor, &revoked).await, (410, unknown));
    assert_eq!(press_download(&visitor, &revoked).await.0, 410);
}

#[tokio::test]
async fn a_password_is_asked_before_anything_and_guesses_are_limited_per_link() {
    let app = spawn_app_with(&[ARGS, &["--rate-limit-per-account", "3"]].concat()).await;
    app.signed_up_user().await;
    let file_id = uploaded(&app, "secret-plans.pdf", 100).await;
    let (status, made) = make(&app, &file_id, &[("password", "open sesame 42")]).await;
    assert_eq!(status, 200, "{made}");
    assert_eq!(made["share"]["has_password"], true);
    let token = token(&made);
    let visitor = visitor(&app);

    let (status, page) = visit(&visitor, &token).await;
    assert_eq!(status, 200);
    assert!(page.contains("This link has a password"), "{page}");
    assert!(
        !page.contains("secret-plans.pdf"),
        "nothing of the file before the password"
    );
    // Skipping the form spends nothing and gets the form.
    let (status, location) = press_download(&visitor, &token).await;
    assert_eq!((status, location), (401, None));
    assert_eq!(downloads_of(&app, &token).await, 0);

    let guess = |password: &'static str| {
        let visitor = &visitor;
        let token = &token;
        async move {
            let response = visitor
                .client
                .post(visitor.url(&format!("/s/{token}")))
                .form(&[("password", password)])
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let (status, page) = guess("wrong one").await;
    assert_eq!(status, 401);
    assert!(
        page.contains("That is not the password of this link."),
        "{page}"
    );
    let (status, _) = guess("open sesame 42").await;
    assert_eq!(status, 303, "the right one is given back its count");
    let (status, page) = visit(&visitor, &token).await;
    assert_eq!(status, 200);
    assert!(page.contains("secret-plans.pdf"), "{page}");
    assert_eq!(press_download(&visitor, &token).await.0, 303);

    // Another visitor guesses: with the first visitor's wrong one, three for the link; then
    // even the right one waits.
    let other = app.other_browser();
    let other_guess = |password: &'static str| {
        let other = &other;
        let token = &token;
        async move {
            other
                .client
                .post(other.url(&format!("/s/{token}")))
                .form(&[("password", password)])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for _ in 0..2 {
        assert_eq!(other_guess("guess").await, 401);
    }
    assert_eq!(other_guess("open sesame 42").await, 429);
    // The first visitor's session still holds the link open.
    assert_eq!(visit(&visitor, &token).await.0, 200);
}

#[tokio::test]
async fn a_deleted_file_or_a_disabled_owner_ends_its_links_at_once() {
    let app = app().await;
    let (email, _) = app.signed_up_user().await;
    let kept = uploaded(&app, "kept.bin", 10).await;
    let gone = uploaded(&app, "gone.bin", 10).await;
    let kept_token = token(&make(&app, &kept, &[]).await.1);
    let gone_token = token(&make(&app, &gone, &[]).await.1);
    let visitor = visitor(&app);

    let (status, _) = app.json("/api/delete_file", &[("file_id", &gone)]).await;
    assert_eq!(status, 200);
    assert_eq!(visit(&visitor, &gone_token).await.0, 404);
    assert_eq!(press_download(&visitor, &gone_token).await.0, 404);

    crate::auth::change(&app, &email, Change::Disabled(true)).await;
    assert_eq!(visit(&visitor, &kept_token).await.0, 410);
    assert_eq!(press_download(&visitor, &kept_token).await.0, 410);
    // Enabled again, the account's links work again until they expire.
    crate::auth::change(&app, &email, Change::Disabled(false)).await;
    assert_eq!(visit(&visitor, &kept_token).await.0, 200);
}

#[tokio::test]
async fn bad_requests_for_a_link_get_field_messages() {
    let app = app().await;
    app.signed_up_user().await;
    let file_id = uploaded(&app, "a.bin", 10).await;
    let (status, answer) = make(
        &app,
        &file_id,
        &[
            ("expires_in", "31d"),
            ("max_downloads", "0"),
            ("password", "short"),
        ],
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    let text = answer.to_string();
    assert!(text.contains("at most 30 days"), "{text}");
    assert!(text.contains("Write a number of downloads"), "{text}");
    assert!(text.contains("at least"), "{text}");
    // An upload still in progress cannot be shared.
    let uploading = started(&app, "b.bin", 6 * MIB).await;
    let (status, answer) = make(&app, &uploading, &[]).await;
    assert_eq!(status, 422, "{answer}");
    assert!(answer
        .to_string()
        .contains("Only a complete file can be shared."));
    let links: i64 = sqlx::query_scalar("select count(*) from share_link")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(links, 0, "nothing half-made");

    // The owner's page says the same next to the field.
    let response = app
        .client
        .post(app.url(&format!("/files/{file_id}/share")))
        .form(&[("expires_in", "soon")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(
        page.contains(r#"id="expires_in" name="expires_in" type="text" value="soon""#),
        "{page}"
    );
    assert!(
        page.contains("Write how long, such as 12h, 7d or 30d."),
        "{page}"
    );
}

#[tokio::test]
async fn the_owners_page_makes_a_link_shows_it_once_and_revokes_it() {
    let app = app().await;
    app.signed_up_user().await;
    let file_id = uploaded(&app, "film.mkv", 10).await;
    let response = app
        .client
        .post(app.url(&format!("/files/{file_id}/share")))
        .form(&[
            ("expires_in", "2d"),
            ("note", "for you"),
            ("sender_name", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    let start = page.find("/s/").unwrap();
    let token = &page[start + 3..start + 3 + 43];
    assert!(page.contains("Link created."), "{page}");
    let visitor = visitor(&app);
    assert_eq!(visit(&visitor, token).await.0, 200);
    // Listed again, the link's URL is not shown: only its hash is kept.
    let listed = app
        .get(&format!("/files/{file_id}/share"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!listed.contains(token));
    assert!(listed.contains("for you"));
    let share_id = listed.split(r#"data-share=""#).nth(1).unwrap()[..36].to_owned();
    let response = app
        .client
        .post(app.url(&format!("/shares/{share_id}/revoke")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(visit(&visitor, token).await.0, 410);
    assert_eq!(
        audit_actions(&app, &file_id).await,
        ["share.create", "share.revoke"]
    );
}

#[tokio::test]
async fn every_share_endpoint_checks_the_session_and_the_owner() {
    let app = app().await;
    let (owner_email, _) = app.signed_up_user().await;
    let file_id = uploaded(&app, "mine.bin", 10).await;
    let (_, made) = make(&app, &file_id, &[]).await;
    let share_id = made["share"]["id"].as_str().unwrap().to_owned();
    let token = token(&made);

    // No session.
    let stranger = app.other_browser();
    assert_eq!(make(&stranger, &file_id, &[]).await.0, 401);
    assert_eq!(
        stranger
            .json("/api/list_shares", &[("file_id", &file_id)])
            .await
            .0,
        401
    );
    assert_eq!(
        stranger
            .json("/api/revoke_share", &[("share_id", &share_id)])
            .await
            .0,
        401
    );
    assert_eq!(stranger.json("/api/admin/shares", &[]).await.0, 401);
    let response = stranger.get(&format!("/files/{file_id}/share")).await;
    assert_eq!(response.status(), 303);
    assert!(crate::helpers::header(&response, "location").starts_with("/signin?next="));
    let response = stranger
        .client
        .post(stranger.url(&format!("/shares/{share_id}/revoke")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);

    // Another user: the owner's file and link answer like missing ones.
    let other = app.other_browser();
    other.signed_up_user().await;
    let (status, answer) = make(&other, &file_id, &[]).await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(
        other
            .json("/api/list_shares", &[("file_id", &file_id)])
            .await
            .0,
        404
    );
    assert_eq!(
        other
            .json("/api/revoke_share", &[("share_id", &share_id)])
            .await
            .0,
        404
    );
    assert_eq!(
        other.get(&format!("/files/{file_id}/share")).await.status(),
        404
    );
    let response = other
        .client
        .post(other.url(&format!("/shares/{share_id}/revoke")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(other.json("/api/admin/shares", &[]).await.0, 403);
    assert_eq!(other.get("/admin/shares").await.status(), 403);
    assert_eq!(
        other
            .json("/api/admin/revoke_share", &[("share_id", &share_id)])
            .await
            .0,
        403
    );
    // Still open after all that.
    assert_eq!(visit(&visitor(&app), &token).await.0, 200);

    // An admin lists every link by owner and revokes any.
    crate::auth::change(&app, &owner_email, Change::Role(Role::Admin)).await;
    let (status, page) = app
        .json("/api/admin/shares", &[("owner", &owner_email)])
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["shares"].as_array().unwrap().len(), 1);
    assert_eq!(page["shares"][0]["owner_email"], owner_email.as_str());
    let (status, page) = app.json("/api/admin/shares", &[("owner", "zz")]).await;
    assert_eq!(status, 422, "{page}");
    let listed = app
        .get(&format!("/admin/shares?owner={}", &owner_email[..8]))
        .await
        .text()
        .await
        .unwrap();
    assert!(listed.contains("mine.bin"), "{listed}");
    let (status, _) = app
        .json("/api/admin/revoke_share", &[("share_id", &share_id)])
        .await;
    assert_eq!(status, 200);
    assert_eq!(visit(&visitor(&app), &token).await.0, 410);
}
