//! A proxy between the app and S3 that fails or stalls the requests a test picks: faults are
//! injected, not hoped for. Everything else passes through unchanged (the Host header too, so
//! SigV4 signatures made for the proxy's address still hold at the store).

use std::sync::{Arc, Mutex};

use axum::{
    body::{to_bytes, Body},
    extract::{Request, State},
    http::{HeaderName, Method, StatusCode},
    response::Response,
    Router,
};
use tokio::{net::TcpListener, sync::Notify};

/// What the proxy does to a request that matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answers this status with an S3-style error body.
    Status(u16),
    /// Answers 200 with an `<Error>` in the body, as S3 may for CompleteMultipartUpload.
    ErrorIn200,
    /// Never answers.
    Hang,
    /// Waits until the test's `while_held` has run, then passes.
    Hold,
    /// Passes the request on, then never answers: the store did the work, and its caller
    /// never learns it (`swallowed` says when it has happened).
    Swallow,
    /// Answers this status with this S3 error code and message, as a store that refuses the
    /// request would.
    Refuse(u16, &'static str, &'static str),
    /// Answers 200 with an ETag without passing the request on: a store that takes any bytes.
    Accept,
    /// Passes the request on, then changes the store's answer.
    Rewrite(Rewrite),
}

/// How `Fault::Rewrite` changes an answer's headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewrite {
    /// `x-amz-checksum-sha256: <base64>-N` becomes `<base64>`, as some stores answer.
    ChecksumWithoutCount,
    /// No `x-amz-checksum-sha256` at all.
    NoChecksum,
    /// An ETag of AWS's multipart form (`<32 hex>-N`) whose MD5 is not the parts'.
    OtherMultipartEtag,
}

type Matcher = Box<dyn Fn(&Method, &str) -> bool + Send + Sync>;

#[derive(Clone)]
pub struct FaultProxy {
    pub endpoint: String,
    rule: Arc<Mutex<Option<(Matcher, Fault)>>>,
    /// Requests that matched, so a test can tell its fault was hit.
    hits: Arc<Mutex<usize>>,
    /// Every request that came through: method and path with query.
    seen: Arc<Mutex<Vec<(Method, String)>>>,
    /// Told when a request is held; tells a held request to pass.
    held: Arc<Notify>,
    released: Arc<Notify>,
    swallowed: Arc<Notify>,
    /// Refuse every request carrying a checksum header of S3's (as Backblaze B2 does).
    refuse_checksum_headers: Arc<std::sync::atomic::AtomicBool>,
    /// The names of the headers of every request, in order.
    headers_seen: Arc<Mutex<Vec<Vec<String>>>>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream` (http://host:port).
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Self {
            endpoint: format!("http://{}", listener.local_addr().unwrap()),
            rule: Arc::default(),
            hits: Arc::default(),
            seen: Arc::default(),
            held: Arc::default(),
            released: Arc::default(),
            swallowed: Arc::default(),
            refuse_checksum_headers: Arc::default(),
            headers_seen: Arc::default(),
        };
        let state = (proxy.clone(), upstream.to_owned(), reqwest::Client::new());
        let app = Router::new().fallback(forward).with_state(state);
        tokio::spawn(async move { axum::serve(listener, app).await });
        proxy
    }

    /// From now on, requests for which `matches(method, path_and_query)` holds get `fault`.
    pub fn fail(
        &self,
        matches: impl Fn(&Method, &str) -> bool + Send + Sync + 'static,
        fault: Fault,
    ) {
        *self.rule.lock().unwrap() = Some((Box::new(matches), fault));
    }

    /// From now on, the proxy answers like Backblaze B2: any request carrying
    /// `x-amz-checksum-*` or `x-amz-sdk-checksum-algorithm` gets 400 InvalidArgument
    /// "Unsupported header". Other faults still apply.
    pub fn refuse_checksum_headers(&self) {
        self.refuse_checksum_headers
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// The header names (lowercase) of every request so far, in order.
    pub fn headers_seen(&self) -> Vec<Vec<String>> {
        self.headers_seen.lock().unwrap().clone()
    }

    /// Everything passes again.
    pub fn heal(&self) {
        *self.rule.lock().unwrap() = None;
    }

    pub fn hits(&self) -> usize {
        *self.hits.lock().unwrap()
    }

    /// Once a request is held (`Fault::Hold`), everything passes again and `meanwhile` runs;
    /// then the held request goes on. What happens while a call waits on S3.
    pub async fn while_held<T>(&self, meanwhile: impl std::future::Future<Output = T>) -> T {
        self.held.notified().await;
        self.heal();
        let result = meanwhile.await;
        self.released.notify_one();
        result
    }

    /// Resolves once a request matching a `Fault::Swallow` has been answered by the store
    /// (and its answer dropped).
    pub async fn swallowed(&self) {
        self.swallowed.notified().await;
    }

    /// Every request so far, in order: method and path with query.
    pub fn seen(&self) -> Vec<(Method, String)> {
        self.seen.lock().unwrap().clone()
    }

    fn fault_for(&self, method: &Method, target: &str) -> Option<Fault> {
        let rule = self.rule.lock().unwrap();
        let (matches, fault) = rule.as_ref()?;
        if matches(method, target) {
            *self.hits.lock().unwrap() += 1;
            Some(*fault)
        } else {
            None
        }
    }
}

/// CompleteMultipartUpload: `POST /bucket/key?uploadId=…`.
pub fn is_complete(method: &Method, target: &str) -> bool {
    method == Method::POST && target.contains("uploadId=")
}

/// HeadObject: `HEAD /bucket/key`.
pub fn is_head(method: &Method, _target: &str) -> bool {
    method == Method::HEAD
}

/// ListParts: `GET /bucket/key?uploadId=…`.
pub fn is_list_parts(method: &Method, target: &str) -> bool {
    method == Method::GET && target.contains("uploadId=")
}

async fn forward(
    State((proxy, upstream, client)): State<(FaultProxy, String, reqwest::Client)>,
    request: Request,
) -> Response {
    let method = request.method().clone();
    let target = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    proxy
        .seen
        .lock()
        .unwrap()
        .push((method.clone(), target.clone()));
    let names: Vec<String> = request
        .headers()
        .keys()
        .map(|name| name.as_str().to_owned())
        .collect();
    proxy.headers_seen.lock().unwrap().push(names.clone());
    let unsupported = names.iter().find(|name| {
        name.starts_with("x-amz-checksum-") || *name == "x-amz-sdk-checksum-algorithm"
    });
    if let Some(name) = unsupported {
        if proxy
            .refuse_checksum_headers
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            let message = format!("Unsupported header '{name}' received for this API call.");
            return s3_refusal(400, "InvalidArgument", &message);
        }
    }
    let fault = proxy.fault_for(&method, &target);
    match fault {
        Some(Fault::Hang) => std::future::pending::<()>().await,
        Some(Fault::Status(status)) => return s3_error(status),
        Some(Fault::ErrorIn200) => return s3_error(200),
        Some(Fault::Refuse(status, code, message)) => return s3_refusal(status, code, message),
        Some(Fault::Accept) => {
            return Response::builder()
                .header("etag", "\"00000000000000000000000000000000\"")
                .body(Body::empty())
                .unwrap()
        }
        Some(Fault::Hold) => {
            proxy.held.notify_one();
            proxy.released.notified().await;
        }
        Some(Fault::Swallow | Fault::Rewrite(_)) | None => {}
    }
    let headers = request.headers().clone();
    let body = to_bytes(request.into_body(), usize::MAX).await.unwrap();
    let mut outgoing = client.request(method, format!("{upstream}{target}"));
    for (name, value) in &headers {
        if !is_hop_by_hop(name) {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = outgoing.body(body).send().await.unwrap();
    if fault == Some(Fault::Swallow) {
        let _ = answer.bytes().await;
        proxy.swallowed.notify_one();
        return std::future::pending::<Response>().await;
    }
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if is_hop_by_hop(name) {
            continue;
        }
        let value = value.to_str().unwrap_or_default();
        let value = match (fault, name.as_str()) {
            (Some(Fault::Rewrite(Rewrite::NoChecksum)), "x-amz-checksum-sha256") => continue,
            (Some(Fault::Rewrite(Rewrite::ChecksumWithoutCount)), "x-amz-checksum-sha256") => {
                value.split('-').next().unwrap_or_default().to_owned()
            }
            (Some(Fault::Rewrite(Rewrite::OtherMultipartEtag)), "etag") => {
                let count = value.trim_matches('"').rsplit('-').next().unwrap_or("1");
                format!("\"{}-{count}\"", "0".repeat(32))
            }
            _ => value.to_owned(),
        };
        response = response.header(name, value);
    }
    response
        .body(Body::from(answer.bytes().await.unwrap()))
        .unwrap()
}

fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection" | "keep-alive" | "transfer-encoding" | "upgrade"
    )
}

fn s3_error(status: u16) -> Response {
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code>\
                <Message>injected by the test proxy</Message></Error>";
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", "application/xml")
        .body(Body::from(body))
        .unwrap()
}

fn s3_refusal(status: u16, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>{message}</Message></Error>"
    );
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", "application/xml")
        .body(Body::from(body))
        .unwrap()
}
