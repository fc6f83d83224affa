//! Upload requests (issue 24): a visitor without an account passes a request's gate and sends
//! real bytes in with the upload endpoints (the `haul-via` header names the request); the
//! owner receives the file with the sender's name and message, on their quota. Limits hold
//! under concurrent starts; a visitor reaches only their own uploads; a closed request, a
//! disabled owner and a full account stop uploads at once; every endpoint checks its caller.

use app::backend::users::Change;
use serde_json::Value;

use crate::{
    helpers::{test_bytes, TestApp},
    upload::app,
};

const MIB: usize = 1024 * 1024;

/// A request made through the API with these fields: status and answer.
async fn make(owner: &TestApp, fields: &[(&str, &str)]) -> (u16, Value) {
    owner.json("/api/create_request", fields).await
}

fn token_of(made: &Value) -> String {
    let url = made["url"].as_str().unwrap();
    url.rsplit_once("/r/").unwrap().1.to_owned()
}

/// A browser with no account that passed the gate of `token` with this name and message:
/// its client for the upload endpoints (sending `haul-via`).
async fn visitor(app: &TestApp, token: &str, name: &str, message: &str) -> TestApp {
    let browser = app.other_browser();
    let response = browser
        .client
        .post(browser.url(&format!("/r/{token}")))
        .form(&[("name", name), ("message", message)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    assert_eq!(
        crate::helpers::header(&response, "location"),
        format!("/r/{token}/send")
    );
    browser.with_header("haul-via", token)
}

/// Sends `size` bytes as `name` through the visitor's client; the completed file.
async fn send(visitor: &TestApp, name: &str, size: usize) -> Value {
    let (status, started) = visitor.start(name, size, "").await;
    assert_eq!(status, 200, "{started}");
    let file_id = started["file"]["id"].as_str().unwrap().to_owned();
    let bytes = test_bytes(size, 7);
    let part_size = started["part_size"].as_u64().unwrap() as usize;
    visitor
        .upload_parts(&file_id, &bytes, part_size, None)
        .await;
    let (status, done) = visitor.complete(&file_id).await;
    assert_eq!(status, 200, "{done}");
    done
}

#[tokio::test]
async fn a_visitor_sends_a_file_in_and_the_owner_receives_it_with_their_words() {
    let app = app().await;
    app.signed_up_user().await;
    let (status, made) = make(
        &app,
        &[
            ("title", "Footage for the March edit"),
            ("owner_name", "Ana"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{made}");
    let token = token_of(&made);
    assert_eq!(token.len(), 43);

    let stranger = app.other_browser();
    let gate = stranger.get(&format!("/r/{token}")).await;
    assert_eq!(gate.status(), 200);
    let page = gate.text().await.unwrap();
    assert!(page.contains("Ana asks you to send files"), "{page}");
    assert!(page.contains("Footage for the March edit"), "{page}");
    // The sending page is only for visitors who passed the gate.
    let response = stranger.get(&format!("/r/{token}/send")).await;
    assert_eq!(response.status(), 303);

    let visitor = visitor(&app, &token, "Bo", "Camera A, day 2").await;
    assert_eq!(visitor.get(&format!("/r/{token}/send")).await.status(), 200);
    let size = 7 * MIB;
    let done = send(&visitor, "day2-camA.mov", size).await;
    assert_eq!(done["status"], "complete");

    // The owner's: listed with the sender's words, on the owner's quota, the same bytes.
    let (_, page) = app.json("/api/list_files", &[]).await;
    let file = &page["files"][0];
    assert_eq!(file["name"], "day2-camA.mov");
    assert_eq!(file["received_from"], "Bo");
    assert_eq!(file["received_message"], "Camera A, day 2");
    assert_eq!(page["usage"]["used_bytes"], size as u64);
    let id = file["id"].as_str().unwrap();
    assert_eq!(app.object(id).await, test_bytes(size, 7));
    let (_, requests) = app.json("/api/list_requests", &[]).await;
    assert_eq!(requests[0]["received_files"], 1);
    assert_eq!(requests[0]["received_bytes"], size as u64);

    // The visitor sees what they sent, and nothing of the owner's.
    let sent = visitor
        .get(&format!("/r/{token}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        sent.contains("day2-camA.mov") && sent.contains("Received"),
        "{sent}"
    );
    assert_eq!(visitor.json("/api/list_files", &[]).await.0, 401);
    let (status, found) = visitor
        .json(
            "/api/find_same_file",
            &[("name", "day2-camA.mov"), ("size", &size.to_string())],
        )
        .await;
    assert_eq!((status, found), (200, Value::Null));
    crate::helpers::assert_no_violations(&app).await;
}

#[tokio::test]
async fn limits_hold_when_visitors_start_at_once() {
    let app = app().await;
    app.signed_up_user().await;
    let (_, made) = make(
        &app,
        &[
            ("title", "Two files"),
            ("max_files", "2"),
            ("max_file_bytes", "6MiB"),
        ],
    )
    .await;
    let token = token_of(&made);
    let visitors = futures::future::join_all((0..6).map(|i| {
        let app = &app;
        let token = &token;
        async move { visitor(app, token, &format!("v{i}"), "").await }
    }))
    .await;
    let starts = futures::future::join_all(
        visitors
            .iter()
            .enumerate()
            .map(|(i, v)| async move { v.start(&format!("f{i}.bin"), MIB, "").await }),
    )
    .await;
    let admitted = starts.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(admitted, 2, "{starts:?}");
    for (status, answer) in starts.iter().filter(|(status, _)| *status != 200) {
        assert_eq!(*status, 422);
        assert!(
            answer
                .to_string()
                .contains("has all the files it asked for"),
            "{answer}"
        );
    }
    let (status, answer) = visitors[0].start("huge.bin", 7 * MIB, "").await;
    assert_eq!(status, 422);
    assert!(
        answer.to_string().contains("files of 6.0 MiB at most"),
        "{answer}"
    );

    // Bytes in all: three 6 MiB files at once into 10 MiB, one passes.
    let (_, made) = make(&app, &[("title", "Ten MiB"), ("max_bytes", "10MiB")]).await;
    let ten = token_of(&made);
    let v = visitor(&app, &ten, "", "").await;
    let starts = futures::future::join_all((0..3).map(|i| {
        let v = &v;
        async move { v.start(&format!("g{i}.bin"), 6 * MIB, "").await }
    }))
    .await;
    assert_eq!(
        starts.iter().filter(|(s, _)| *s == 200).count(),
        1,
        "{starts:?}"
    );
    let (status, answer) = v.start("small.bin", 5 * MIB, "").await;
    assert_eq!(status, 422);
    assert!(
        answer.to_string().contains("room for 4.0 MiB more"),
        "{answer}"
    );
    crate::helpers::assert_no_violations(&app).await;
}

#[tokio::test]
async fn a_visitor_reaches_only_their_own_uploads() {
    let app = app().await;
    app.signed_up_user().await;
    let own = crate::files_find::uploaded(&app, "owners.bin", 10).await;
    let (_, made) = make(&app, &[("title", "Drop")]).await;
    let token = token_of(&made);
    let first = visitor(&app, &token, "A", "").await;
    let second = visitor(&app, &token, "B", "").await;
    let (_, started) = first.start("a.bin", 6 * MIB, "").await;
    let theirs = started["file"]["id"].as_str().unwrap().to_owned();

    for file_id in [theirs.as_str(), own.as_str()] {
        for endpoint in [
            "/api/uploaded_parts",
            "/api/complete_upload",
            "/api/abort_upload",
            "/api/get_file",
        ] {
            let (status, answer) = second.json(endpoint, &[("file_id", file_id)]).await;
            assert_eq!(status, 404, "{endpoint}: {answer}");
        }
        let (status, _) = second.sign(file_id, &[(1, &[0u8; 10][..])]).await;
        assert_eq!(status, 404);
    }
    // The owner's own file is not the first visitor's either.
    assert_eq!(
        first.json("/api/get_file", &[("file_id", &own)]).await.0,
        404
    );
    assert_eq!(
        first.json("/api/get_file", &[("file_id", &theirs)]).await.0,
        200
    );

    // The header alone opens nothing: a browser that did not pass the gate is refused.
    let outsider = app.other_browser().with_header("haul-via", &token);
    let (status, answer) = outsider.start("x.bin", 10, "").await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer.to_string().contains("Open the request's link first"),
        "{answer}"
    );
    let made_up = app.other_browser().with_header("haul-via", &"A".repeat(43));
    assert_eq!(made_up.start("x.bin", 10, "").await.0, 422);
}

#[tokio::test]
async fn a_password_is_asked_before_any_upload_can_start() {
    let app = app().await;
    app.signed_up_user().await;
    let (_, made) = make(
        &app,
        &[("title", "Private"), ("password", "long enough secret")],
    )
    .await;
    let token = token_of(&made);
    let browser = app.other_browser();
    let wrong = browser
        .client
        .post(browser.url(&format!("/r/{token}")))
        .form(&[("password", "guess")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("That is not the password of this request."));
    let via = browser.with_header("haul-via", &token);
    assert_eq!(via.start("x.bin", 10, "").await.0, 422);
    let right = browser
        .client
        .post(browser.url(&format!("/r/{token}")))
        .form(&[("password", "long enough secret")])
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 303);
    assert_eq!(via.start("x.bin", 10, "").await.0, 200);
}

#[tokio::test]
async fn a_closed_request_a_disabled_owner_or_a_full_account_stops_uploads_at_once() {
    let app = app().await;
    let (email, _) = app.signed_up_user().await;
    let (_, made) = make(&app, &[("title", "Soon closed")]).await;
    let token = token_of(&made);
    let v = visitor(&app, &token, "", "").await;
    assert_eq!(v.start("one.bin", 10, "").await.0, 200);

    // The owner's account is full (64 MiB quota in these tests).
    let (status, answer) = v.start("big.bin", 65 * MIB, "").await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer.to_string().contains("its owner has no room left"),
        "{answer}"
    );
    assert!(
        !answer.to_string().contains("free"),
        "the owner's numbers stay theirs: {answer}"
    );

    crate::auth::change(&app, &email, Change::Disabled(true)).await;
    let (status, answer) = v.start("two.bin", 10, "").await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer.to_string().contains("This request is closed"),
        "{answer}"
    );
    assert_eq!(v.get(&format!("/r/{token}")).await.status(), 410);
    crate::auth::change(&app, &email, Change::Disabled(false)).await;
    app.sign_in(&email, "correct horse battery staple").await;
    assert_eq!(v.start("three.bin", 10, "").await.0, 200);

    let request_id = made["request"]["id"].as_str().unwrap();
    let (status, closed) = app
        .json("/api/close_request", &[("request_id", request_id)])
        .await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["state"], "closed");
    assert_eq!(v.start("four.bin", 10, "").await.0, 422);
    assert_eq!(v.get(&format!("/r/{token}")).await.status(), 410);
    assert_eq!(v.get(&format!("/r/{token}/send")).await.status(), 303);
}

#[tokio::test]
async fn every_request_endpoint_checks_the_session_and_the_owner() {
    let app = app().await;
    app.signed_up_user().await;
    let (_, made) = make(&app, &[("title", "Mine")]).await;
    let request_id = made["request"]["id"].as_str().unwrap().to_owned();

    let stranger = app.other_browser();
    assert_eq!(make(&stranger, &[("title", "x")]).await.0, 401);
    assert_eq!(stranger.json("/api/list_requests", &[]).await.0, 401);
    assert_eq!(
        stranger
            .json("/api/close_request", &[("request_id", &request_id)])
            .await
            .0,
        401
    );
    assert_eq!(stranger.get("/requests").await.status(), 303);

    let other = app.other_browser();
    other.signed_up_user().await;
    assert_eq!(
        other
            .json("/api/close_request", &[("request_id", &request_id)])
            .await
            .0,
        404
    );
    let response = other
        .client
        .post(other.url(&format!("/requests/{request_id}/close")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let (_, theirs) = other.json("/api/list_requests", &[]).await;
    assert_eq!(theirs, serde_json::json!([]));
    let (_, mine) = app.json("/api/list_requests", &[]).await;
    assert_eq!(mine[0]["state"], "open");

    let (status, answer) = make(
        &app,
        &[("title", ""), ("max_files", "0"), ("max_bytes", "lots")],
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    let text = answer.to_string();
    assert!(text.contains("Give the request a title"), "{text}");
    assert!(text.contains("Write a number of files"), "{text}");
    assert!(text.contains("Write a size"), "{text}");
}
