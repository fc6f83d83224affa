//! The embedded S3 store is real: signatures, expiry, multipart and CORS all hold.

use std::time::{Duration, SystemTime};

use aws_sdk_s3::{
    presigning::PresigningConfig,
    types::{CompletedMultipartUpload, CompletedPart},
};

use app::backend::storage::PresignedPart;

use axum::http::Method;

use crate::{
    fault::FaultProxy,
    helpers::{digest, header, sha256, spawn_app, spawn_app_with, stack, test_bytes, TestApp},
    upload,
};

const MIB: usize = 1024 * 1024;
const TTL: Duration = Duration::from_secs(300);
const OCTETS: &str = "application/octet-stream";

async fn object_bytes(app: &TestApp, key: &str) -> Vec<u8> {
    let object = app
        .storage
        .client()
        .get_object()
        .bucket(app.storage.bucket())
        .key(key)
        .send()
        .await
        .unwrap();
    object.body.collect().await.unwrap().into_bytes().to_vec()
}

async fn put(app: &TestApp, url: &str, body: Vec<u8>) -> reqwest::Response {
    app.client
        .put(url)
        .header("content-type", OCTETS)
        .body(body)
        .send()
        .await
        .unwrap()
}

/// A pre-signed UploadPart for part `number` of an upload, signed for `body`'s length and
/// SHA-256.
async fn signed_part(
    app: &TestApp,
    key: &str,
    upload_id: &str,
    number: i32,
    body: &[u8],
) -> PresignedPart {
    app.storage
        .presign_upload_part(
            key,
            upload_id,
            number,
            body.len() as u64,
            Some(&digest(body)),
            TTL,
        )
        .await
        .unwrap()
}

/// PUTs `body` to a pre-signed part with its signed headers.
async fn put_signed(app: &TestApp, part: &PresignedPart, body: Vec<u8>) -> reqwest::Response {
    let mut request = app.client.put(&part.url).body(body);
    for (name, value) in &part.headers {
        request = request.header(name, value);
    }
    request.send().await.unwrap()
}

/// PUTs `body` as part `number` through a pre-signed UploadPart URL.
async fn put_part(
    app: &TestApp,
    key: &str,
    upload_id: &str,
    number: i32,
    body: Vec<u8>,
) -> reqwest::Response {
    let part = signed_part(app, key, upload_id, number, &body).await;
    put_signed(app, &part, body).await
}

/// Part 1 of a new multipart upload of `key`, signed for `body`.
async fn part_url(app: &TestApp, key: &str, body: &[u8]) -> (PresignedPart, String) {
    let upload_id = app
        .storage
        .create_multipart(key, OCTETS, true)
        .await
        .unwrap();
    let part = signed_part(app, key, &upload_id, 1, body).await;
    (part, upload_id)
}

fn signed_headers(url: &str) -> Vec<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(name, _)| name == "X-Amz-SignedHeaders")
        .map(|(_, value)| value.split(';').map(str::to_owned).collect())
        .unwrap()
}

#[tokio::test]
async fn a_part_url_signs_its_exact_length_and_checksum() {
    let app = spawn_app().await;
    let key = "u/test/exact";
    let body = test_bytes(1000, 2);
    let (part, upload_id) = part_url(&app, key, &body).await;
    // The checksum travels as signed headers, not hoisted into the query (where S3 would not
    // check it against the body).
    let signed = signed_headers(&part.url);
    for header in ["content-length", "x-amz-checksum-sha256"] {
        assert!(signed.iter().any(|h| h == header), "{header}: {signed:?}");
    }
    // The SDK's own header is not: it is for AWS SDKs only, and some stores (B2) refuse it.
    assert!(
        !signed.iter().any(|h| h == "x-amz-sdk-checksum-algorithm"),
        "{signed:?}"
    );
    let sent: Vec<&str> = part.headers.iter().map(|(name, _)| name.as_str()).collect();
    assert!(sent.contains(&"x-amz-checksum-sha256"), "{sent:?}");
    assert!(!part
        .url
        .to_ascii_lowercase()
        .contains("x-amz-checksum-sha256="));

    // Longer and shorter bodies are refused by S3 itself; nothing is stored.
    for len in [1001, 999, 300 * 1024] {
        let response = put_signed(&app, &part, test_bytes(len, 2)).await;
        assert_eq!(response.status(), 403, "a body of {len} bytes");
    }
    let parts = app.storage.list_parts(key, &upload_id).await.unwrap();
    assert_eq!(parts, Some(vec![]), "no part may exist after refused PUTs");
    let response = put_signed(&app, &part, body).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_part_whose_bytes_differ_from_the_signed_sha256_is_refused() {
    let app = spawn_app().await;
    let key = "u/test/corrupt";
    let body = test_bytes(1000, 5);
    let (part, upload_id) = part_url(&app, key, &body).await;
    // Same length, one bit flipped on the way.
    let mut corrupt = body.clone();
    corrupt[500] ^= 1;
    let response = put_signed(&app, &part, corrupt).await;
    assert_eq!(response.status(), 400);
    let answer = response.text().await.unwrap();
    assert!(answer.contains("<Code>BadDigest</Code>"), "{answer}");
    let parts = app.storage.list_parts(key, &upload_id).await.unwrap();
    assert_eq!(parts, Some(vec![]), "a corrupt part must not be stored");
    assert_eq!(put_signed(&app, &part, body).await.status(), 200);
}

#[tokio::test]
async fn a_part_put_without_the_signed_checksum_header_is_refused() {
    let app = spawn_app().await;
    let key = "u/test/no-checksum";
    let body = test_bytes(1000, 6);
    let (part, upload_id) = part_url(&app, key, &body).await;
    // The right bytes, but no checksum header: the signature does not hold.
    let response = put(&app, &part.url, body).await;
    assert_eq!(response.status(), 403);
    let parts = app.storage.list_parts(key, &upload_id).await.unwrap();
    assert_eq!(parts, Some(vec![]));
}

#[tokio::test]
async fn multipart_upload_through_presigned_parts_reassembles_the_bytes() {
    let app = spawn_app().await;
    let key = "u/test/multi";
    let bytes = test_bytes(11 * MIB + 3, 3);
    let upload_id = &app
        .storage
        .create_multipart(key, OCTETS, true)
        .await
        .unwrap();

    // Parts of 5 MiB (S3's minimum), the last one shorter; PUT out of order, all at once.
    let chunks: Vec<(i32, Vec<u8>)> = bytes
        .chunks(5 * MIB)
        .enumerate()
        .map(|(i, chunk)| (i as i32 + 1, chunk.to_vec()))
        .rev()
        .collect();
    assert_eq!(chunks.len(), 3);
    let puts = chunks.into_iter().map(|(number, chunk)| {
        let app = &app;
        async move {
            let checksum = digest(&chunk);
            let response = put_part(app, key, upload_id, number, chunk).await;
            assert_eq!(response.status(), 200);
            let etag = header(&response, "etag");
            CompletedPart::builder()
                .part_number(number)
                .e_tag(etag)
                .checksum_sha256(checksum)
                .build()
        }
    });
    let mut parts = futures::future::join_all(puts).await;
    parts.sort_by_key(|part| part.part_number());

    app.storage
        .client()
        .complete_multipart_upload()
        .bucket(app.storage.bucket())
        .key(key)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap();

    assert_eq!(sha256(&object_bytes(&app, key).await), sha256(&bytes));
}

#[tokio::test]
async fn tampered_signature_is_refused() {
    let app = spawn_app().await;
    let (part, _) = part_url(&app, "u/test/tampered", b"evil").await;
    let (head, signature) = part.url.split_once("X-Amz-Signature=").unwrap();
    let flipped = if signature.starts_with('0') { '1' } else { '0' };
    let tampered = PresignedPart {
        url: format!("{head}X-Amz-Signature={flipped}{}", &signature[1..]),
        ..part
    };

    let response = put_signed(&app, &tampered, b"evil".to_vec()).await;
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn expired_url_is_refused() {
    let app = spawn_app().await;
    // Signed an hour ago for one minute: long expired, without waiting for it.
    let expired = PresigningConfig::builder()
        .start_time(SystemTime::now() - Duration::from_secs(3600))
        .expires_in(Duration::from_secs(60))
        .build()
        .unwrap();
    let request = app
        .storage
        .client()
        .put_object()
        .bucket(app.storage.bucket())
        .key("u/test/expired")
        .content_type(OCTETS)
        .presigned(expired)
        .await
        .unwrap();

    let response = put(&app, request.uri(), b"late".to_vec()).await;
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn cors_allows_the_app_origin_and_exposes_etag() {
    let app = spawn_app().await;
    let bytes = test_bytes(64, 4);
    let (part, _) = part_url(&app, "u/test/cors", &bytes).await;
    let url = &part.url;

    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, url)
        .header("origin", &app.origin)
        .header("access-control-request-method", "PUT")
        .header(
            "access-control-request-headers",
            "content-type,x-amz-checksum-sha256,x-amz-sdk-checksum-algorithm",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        app.origin.as_str()
    );
    let methods = header(&preflight, "access-control-allow-methods");
    assert!(methods.contains("PUT"), "{methods}");

    // A refusal is readable by the page too: the engine tells a bad digest or an expired URL
    // from the error code in the body.
    let mut corrupt = bytes.clone();
    corrupt[0] ^= 1;
    let put_from_page = |body: Vec<u8>| {
        let mut request = app.client.put(url).header("origin", &app.origin);
        for (name, value) in &part.headers {
            request = request.header(name, value);
        }
        request.header("content-type", OCTETS).body(body).send()
    };
    let refused = put_from_page(corrupt).await.unwrap();
    assert_eq!(refused.status(), 400);
    assert_eq!(
        refused.headers()["access-control-allow-origin"],
        app.origin.as_str()
    );

    let response = put_from_page(bytes).await.unwrap();
    assert_eq!(response.status(), 200);
    let exposed = header(&response, "access-control-expose-headers").to_ascii_lowercase();
    assert!(exposed.contains("etag"), "{exposed}");
    assert!(response.headers().contains_key("etag"));
}

#[tokio::test]
async fn cors_refuses_another_origin() {
    let app = spawn_app().await;
    let (part, _) = part_url(&app, "u/test/cors-evil", b"evil").await;
    let url = &part.url;

    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, url)
        .header("origin", "http://evil.example")
        .header("access-control-request-method", "PUT")
        .send()
        .await
        .unwrap();
    assert!(!preflight.status().is_success(), "{}", preflight.status());
    assert!(!preflight
        .headers()
        .contains_key("access-control-allow-origin"));
}

/// ListParts answers at most 1 000 parts a page: every page must be read.
#[tokio::test]
async fn listing_parts_follows_every_page() {
    let app = spawn_app().await;
    let key = "u/test/many-parts";
    let upload_id = &app
        .storage
        .create_multipart(key, OCTETS, true)
        .await
        .unwrap();
    // ListParts does not check sizes (only completion does): one byte per part keeps it quick.
    let parts: Vec<i32> = (1..=1001).collect();
    for chunk in parts.chunks(50) {
        let puts = chunk.iter().map(|&number| {
            let app = &app;
            async move {
                put_part(app, key, upload_id, number, vec![number as u8])
                    .await
                    .status()
            }
        });
        for status in futures::future::join_all(puts).await {
            assert_eq!(status, 200);
        }
    }

    let listed = app
        .storage
        .list_parts(key, upload_id)
        .await
        .unwrap()
        .unwrap();
    let numbers: Vec<i32> = listed.iter().map(|p| p.number).collect();
    assert_eq!(numbers, parts);
    // The store does cut the list into pages of the size asked (as AWS always does, at 1 000)...
    let first_page = app
        .storage
        .client()
        .list_parts()
        .bucket(app.storage.bucket())
        .key(key)
        .upload_id(upload_id)
        .max_parts(1000)
        .send()
        .await
        .unwrap();
    assert_eq!(first_page.parts().len(), 1000);
    assert_eq!(first_page.is_truncated(), Some(true));
    // ...and with small pages many are read.
    let paged = app
        .storage
        .list_parts_paged(key, upload_id, 90)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(paged, listed);
    assert!(listed.iter().all(|p| p.size == 1 && !p.etag.is_empty()));
}

/// weed's filer, volume server and master refuse anyone without weed's keys; only the S3 API
/// (with its credentials) reaches the objects.
#[tokio::test]
async fn the_stores_internal_ports_refuse_strangers() {
    use std::io::{Read, Write};
    let app = spawn_app().await;
    // Over 4 MiB: stored as volume chunks.
    let bytes = test_bytes(5 * MIB + 3, 9);
    app.storage
        .client()
        .put_object()
        .bucket(app.storage.bucket())
        .key("secret")
        .body(bytes.clone().into())
        .send()
        .await
        .unwrap();
    let weed = crate::helpers::stack().await.s3.internal_addrs();
    let bucket = app.storage.bucket();
    let http = reqwest::Client::new();
    let file = format!("http://{}/buckets/{bucket}/secret", weed.filer);
    // The volume server checks the JWT before it looks the needle up.
    let needle = format!("http://{}/1,0123456789", weed.volume);
    for request in [
        http.get(&file),
        http.delete(&file),
        http.put(&file).body("x"),
        http.get(format!("http://{}/buckets/{bucket}/", weed.filer)),
        http.get(&needle),
        http.delete(&needle),
        http.post(&needle).body("x"),
        http.get(format!("http://{}/dir/assign", weed.master)),
        http.get(format!(
            "http://{}/dir/lookup?fileId=1,0123456789&read=yes",
            weed.master
        )),
    ] {
        let request = request.build().unwrap();
        let what = format!("{} {}", request.method(), request.url());
        let status = http.execute(request).await.unwrap().status();
        assert!(
            matches!(status.as_u16(), 401 | 403 | 404),
            "{what} answered {status}"
        );
    }
    // gRPC: a client without the certificate gets no HTTP/2 SETTINGS frame, only a hang-up.
    for addr in weed.grpc {
        let mut stream =
            std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let mut frame = [0u8; 9];
        let plain = stream
            .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
            .is_ok()
            && stream.read_exact(&mut frame).is_ok()
            && frame[3] == 4;
        assert!(!plain, "gRPC on {addr} answers without TLS");
    }
    assert_eq!(
        object_bytes(&app, "secret").await,
        bytes,
        "the object is intact"
    );
}

/// The store's data is the server's alone: directories 0700, files 0600.
#[tokio::test]
async fn the_stores_data_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let stack = crate::helpers::stack().await;
    let root = stack.dir.join("s3");
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode();
    assert_eq!(mode(&root) & 0o777, 0o700);
    let mut open = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let (path, kind) = (entry.path(), entry.file_type().unwrap());
            if kind.is_dir() {
                dirs.push(path.clone());
            }
            // weed chmods each new volume's .vif (metadata) to 0644 itself; it sits in 0700
            // directories and is tightened at the next start.
            let vif = path.extension().is_some_and(|e| e == "vif");
            if (kind.is_dir() || kind.is_file()) && !vif && mode(&path) & 0o077 != 0 {
                open.push(format!("{} {:o}", path.display(), mode(&path) & 0o777));
            }
        }
    }
    assert!(open.is_empty(), "readable by others: {open:?}");
}

/// HAUL_S3_PUBLIC_ENDPOINT: the store as browsers reach it (here a proxy in front of it).
#[tokio::test]
async fn with_a_public_endpoint_browsers_go_there_and_the_server_does_not() {
    let proxy = FaultProxy::start(stack().await.s3.endpoint()).await;
    let mut args = upload::ARGS.to_vec();
    args.extend(["--s3-public-endpoint", proxy.endpoint.as_str()]);
    let app = spawn_app_with(&args).await;
    app.signed_up_user().await;
    let bytes = test_bytes(6 * MIB, 31);
    let (status, started) = app.start("public.bin", bytes.len(), OCTETS).await;
    assert_eq!(status, 200, "{started}");
    let file_id = upload::id(&started);

    // The browser's URLs point at the public endpoint, and its bytes go through there.
    let (status, signed) = app
        .sign(&file_id, &[(1, upload::part_of(&bytes, 5 * MIB, 1))])
        .await;
    assert_eq!(status, 200, "{signed}");
    let url = signed[0]["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/", proxy.endpoint)), "{url}");
    app.upload_parts(&file_id, &bytes, 5 * MIB, None).await;
    let (status, file) = app.complete(&file_id).await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(file["status"], "complete");
    // The server's own calls (create, list, complete) went straight to the store.
    let seen = proxy.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen.iter().all(|(method, _)| method == Method::PUT),
        "{seen:?}"
    );

    // Downloads too; and pages let the browser connect there.
    assert_eq!(sha256(&app.object(&file_id).await), sha256(&bytes));
    assert_eq!(proxy.seen().last().unwrap().0, Method::GET);
    let page = app.get("/upload").await;
    let policy = header(&page, "content-security-policy");
    assert!(policy.contains(&proxy.endpoint), "{policy}");
}

#[tokio::test]
async fn the_local_store_leaves_no_grpc_socket_in_tmp() {
    // weed makes /tmp/seaweedfs-KIND-grpc-PORT.sock for each gRPC server and never removes it.
    // One that a killed store left: two minutes old, nothing listening (its port is free).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let left = std::path::PathBuf::from(format!("/tmp/seaweedfs-master-grpc-{port}.sock"));
    drop(std::os::unix::net::UnixListener::bind(&left).unwrap());
    let touched = std::process::Command::new("touch")
        .args(["-h", "-d", "2 minutes ago"])
        .arg(&left)
        .status()
        .unwrap();
    assert!(touched.success());

    let dir = stack().await.dir.join(crate::helpers::unique_name("store"));
    let mut store = server::local_stack::LocalS3::start(&dir, None, 0)
        .await
        .unwrap();
    assert!(
        !left.exists(),
        "the socket a killed store left is still there"
    );
    let sockets = store.grpc_sockets().to_vec();
    assert_eq!(sockets.len(), 5);
    for socket in &sockets {
        assert!(socket.exists(), "{} is missing", socket.display());
    }
    store.stop();
    for socket in &sockets {
        assert!(!socket.exists(), "{} is left after stop", socket.display());
    }
}
