//! `haul-load`, the load generator of `make bench-load` (bench/load-bench.mjs drives it).
//!
//! Signs in the accounts `load-1@bench.test` … (which the bench seeds), then runs each step of
//! the ramp: that many simulated uploaders at once, each over its own connection and session,
//! for the step's time. An uploader uploads small files (start, sign, PUT real bytes,
//! complete: one part each) and now and then a large one (start, sign parts in batches ahead as
//! the browser does, PUT the first part, then abort), and lists its files between uploads. An
//! upload begun before the step's time is up is finished, so every small upload completes.
//!
//! Each step prints `STEP_START n` when its uploaders begin and `STEP_END n {json}` with what
//! it measured: per endpoint, requests per second and the p50 and p99 of the admitted requests
//! (503s that shed load are counted apart, retried after their Retry-After); completed uploads
//! and signed URLs per second; errors by kind.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use base64::{engine::general_purpose::STANDARD, Engine};
use clap::Parser;
use futures::{stream, StreamExt};
use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

#[derive(Parser)]
#[command(about = "Simulated uploaders against a Haul server (make bench-load)")]
struct Args {
    /// The server's base URL (http://127.0.0.1:PORT); several, comma-separated, share the
    /// uploaders out between them (round robin by account), as a load balancer would.
    #[arg(long, value_delimiter = ',', required = true)]
    url: Vec<String>,
    /// The accounts' password (every `load-N@bench.test` has the same).
    #[arg(long)]
    password: String,
    /// Uploaders at once in each step of the ramp.
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    steps: Vec<usize>,
    /// How long each step starts new uploads.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// The share of uploads that are large.
    #[arg(long, default_value_t = 0.1)]
    large: f64,
    /// A small file's size in bytes (one part).
    #[arg(long, default_value_t = 64 * 1024)]
    small_bytes: u64,
    /// A large file's declared size in bytes.
    #[arg(long, default_value_t = 4 << 30)]
    large_bytes: u64,
    /// Parts signed per `sign_parts` call of a large upload (the browser and `haul` sign two
    /// rounds of their parts in flight: 8 at their default of 4, 12 at their most).
    #[arg(long, default_value_t = 6)]
    batch: u32,
    /// `sign_parts` calls per large upload before it is aborted.
    #[arg(long, default_value_t = 4)]
    large_batches: u32,
    /// Whether a large upload PUTs its first part (false: it only signs, so the store does
    /// no work but create and abort, and what is measured is the signing).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    large_put: bool,
    /// Sign-ins at once while the sessions are made (each is an argon2 check on the server).
    #[arg(long, default_value_t = 8)]
    sign_in_concurrency: usize,
    /// A file listing after every this many uploads.
    #[arg(long, default_value_t = 3)]
    list_every: u32,
}

/// A simulated user: its own client (so its own connection) and session cookie.
struct Session {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

/// How a request ended when it did not answer 2xx.
#[derive(Debug)]
enum Failure {
    /// 503: the server shed load; try again after this long.
    Shed(Duration),
    /// Anything else, by kind ("HTTP 500", "timeout", "connect", …).
    Other(String),
}

/// What one uploader (and, merged, one step) measured.
#[derive(Default)]
struct Stats {
    /// Microseconds of each admitted request, by endpoint.
    latencies: HashMap<&'static str, Vec<u32>>,
    shed: HashMap<&'static str, u64>,
    errors: BTreeMap<String, u64>,
    started: u64,
    completed: u64,
    aborted: u64,
    signed: u64,
    put_bytes: u64,
}

impl Stats {
    fn merge(&mut self, other: Stats) {
        for (endpoint, mut times) in other.latencies {
            self.latencies
                .entry(endpoint)
                .or_default()
                .append(&mut times);
        }
        for (endpoint, n) in other.shed {
            *self.shed.entry(endpoint).or_default() += n;
        }
        for (kind, n) in other.errors {
            *self.errors.entry(kind).or_default() += n;
        }
        self.started += other.started;
        self.completed += other.completed;
        self.aborted += other.aborted;
        self.signed += other.signed;
        self.put_bytes += other.put_bytes;
    }

    fn report(mut self, uploaders: usize, seconds: f64) -> Value {
        let mut endpoints = serde_json::Map::new();
        let mut names: Vec<&'static str> = self.latencies.keys().copied().collect();
        names.extend(self.shed.keys().copied());
        names.sort_unstable();
        names.dedup();
        for name in names {
            let times = self.latencies.entry(name).or_default();
            times.sort_unstable();
            let at = |q: usize| {
                times
                    .get((times.len() * q / 100).min(times.len().saturating_sub(1)))
                    .map_or(0.0, |&us| f64::from(us) / 1000.0)
            };
            endpoints.insert(
                name.to_owned(),
                json!({
                    "count": times.len(),
                    "per_s": times.len() as f64 / seconds,
                    "p50_ms": at(50),
                    "p99_ms": at(99),
                    "max_ms": times.last().map_or(0.0, |&us| f64::from(us) / 1000.0),
                    "shed": self.shed.get(name).copied().unwrap_or(0),
                }),
            );
        }
        json!({
            "uploaders": uploaders,
            "seconds": seconds,
            "endpoints": endpoints,
            "started": self.started,
            "completed": self.completed,
            "completed_per_s": self.completed as f64 / seconds,
            "aborted": self.aborted,
            "signed": self.signed,
            "signed_per_s": self.signed as f64 / seconds,
            "put_mib": self.put_bytes as f64 / (1 << 20) as f64,
            "errors": self.errors,
        })
    }
}

/// Bytes to PUT and their base64 SHA-256, made once per size.
struct Payload {
    bytes: bytes::Bytes,
    sha256: String,
}

fn payload(len: u64) -> anyhow::Result<(Vec<u8>, String)> {
    let mut bytes = vec![0u8; usize::try_from(len)?];
    rand::rng().fill(&mut bytes[..]);
    let sha256 = STANDARD.encode(Sha256::digest(&bytes));
    Ok((bytes, sha256))
}

#[derive(Deserialize)]
struct NewUpload {
    file: FileRef,
    part_size: u64,
}

#[derive(Deserialize)]
struct FileRef {
    id: String,
}

#[derive(Deserialize)]
struct SignedPart {
    url: String,
    headers: Vec<(String, String)>,
}

impl Session {
    fn new(base: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(20))
            .timeout(Duration::from_secs(120))
            .pool_max_idle_per_host(1)
            .build()?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            cookie: String::new(),
        })
    }

    /// One call of a server function; the session cookie the answer sets is kept.
    async fn call(&mut self, endpoint: &str, body: Body) -> Result<Value, Failure> {
        let request = self
            .http
            .post(format!("{}/api/{endpoint}", self.base))
            .header("Origin", &self.base)
            .header("Cookie", &self.cookie);
        let request = match body {
            Body::Form(form) => request.form(&form),
            Body::Json(value) => request.json(&value),
        };
        let response = request.send().await.map_err(sorted)?;
        let status = response.status().as_u16();
        if let Some(cookie) = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("haul_session="))
        {
            self.cookie = cookie.split(';').next().unwrap_or_default().to_owned();
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
        let text = response.text().await.map_err(sorted)?;
        match status {
            200..=299 => serde_json::from_str(&text)
                .map_err(|_| Failure::Other(format!("{endpoint}: not JSON"))),
            503 => Err(Failure::Shed(Duration::from_secs(retry_after.unwrap_or(1)))),
            _ => Err(Failure::Other(format!("{endpoint}: HTTP {status}"))),
        }
    }

    /// `call`, timed into `stats`; a shed request is tried again after its Retry-After (with
    /// jitter, so the retries do not come back together), as the clients do.
    async fn timed(
        &mut self,
        stats: &mut Stats,
        endpoint: &'static str,
        body: impl Fn() -> Body,
    ) -> Option<Value> {
        loop {
            let began = Instant::now();
            match self.call(endpoint, body()).await {
                Ok(value) => {
                    let us = u32::try_from(began.elapsed().as_micros()).unwrap_or(u32::MAX);
                    stats.latencies.entry(endpoint).or_default().push(us);
                    return Some(value);
                }
                Err(Failure::Shed(after)) => {
                    *stats.shed.entry(endpoint).or_default() += 1;
                    let jitter = rand::rng().random_range(0.5..1.5);
                    tokio::time::sleep(after.min(Duration::from_secs(5)).mul_f64(jitter)).await;
                }
                Err(Failure::Other(kind)) => {
                    *stats.errors.entry(kind).or_default() += 1;
                    return None;
                }
            }
        }
    }

    /// PUTs `payload` to a signed part's URL with its headers; true when S3 took it.
    async fn put(&self, stats: &mut Stats, part: &SignedPart, payload: &Payload) -> bool {
        // Bytes clone without copying.
        let mut request = self.http.put(&part.url).body(payload.bytes.clone());
        for (name, value) in &part.headers {
            request = request.header(name, value);
        }
        match request.send().await {
            Ok(response) if response.status().is_success() => {
                stats.put_bytes += payload.bytes.len() as u64;
                true
            }
            Ok(response) => {
                let kind = format!("PUT: HTTP {}", response.status().as_u16());
                *stats.errors.entry(kind).or_default() += 1;
                false
            }
            Err(error) => {
                let Failure::Other(kind) = sorted(error) else {
                    return false;
                };
                *stats.errors.entry(format!("PUT: {kind}")).or_default() += 1;
                false
            }
        }
    }
}

/// A server function's arguments: a form (`PostUrl`, most) or JSON (`sign_parts`).
enum Body {
    Form(Vec<(&'static str, String)>),
    Json(Value),
}

fn sorted(error: reqwest::Error) -> Failure {
    Failure::Other(if error.is_timeout() {
        "timeout".to_owned()
    } else if error.is_connect() {
        "connect".to_owned()
    } else {
        "request".to_owned()
    })
}

/// The part digests a batch signs: the first part's real one (it is PUT), made-up ones for
/// the rest (never PUT, the upload is aborted).
fn digests(numbers: std::ops::RangeInclusive<u32>, first: &str) -> Value {
    let parts: Vec<Value> = numbers
        .map(|n| {
            let sha256 = if n == 1 {
                first.to_owned()
            } else {
                STANDARD.encode(Sha256::digest(n.to_be_bytes()))
            };
            json!({ "part_number": n, "sha256": sha256 })
        })
        .collect();
    Value::Array(parts)
}

struct Plan {
    args: Args,
    small: Payload,
    /// The first part of a large upload, made for the part size the server answers.
    large_part: tokio::sync::OnceCell<Payload>,
}

/// Starts an upload of `size` bytes named `name`, counted in `stats` once started.
async fn start(
    session: &mut Session,
    stats: &mut Stats,
    name: String,
    size: u64,
) -> Option<NewUpload> {
    let size = size.to_string();
    let started = session
        .timed(stats, "start_upload", || {
            Body::Form(vec![
                ("name", name.clone()),
                ("size", size.clone()),
                ("content_type", "application/octet-stream".to_owned()),
            ])
        })
        .await
        .and_then(|v| serde_json::from_value::<NewUpload>(v).ok())?;
    stats.started += 1;
    Some(started)
}

/// Signs `parts` (their digests, as `digests` writes them) of upload `id`, counted in `stats`.
async fn sign(
    session: &mut Session,
    stats: &mut Stats,
    id: &str,
    parts: Value,
) -> Option<Vec<SignedPart>> {
    let signed = session
        .timed(stats, "sign_parts", || {
            Body::Json(json!({ "file_id": id, "parts": parts }))
        })
        .await
        .and_then(|v| serde_json::from_value::<Vec<SignedPart>>(v).ok())?;
    stats.signed += signed.len() as u64;
    Some(signed)
}

/// Ends upload `id` with `endpoint` (`complete_upload` or `abort_upload`); true when it did.
async fn end(session: &mut Session, stats: &mut Stats, endpoint: &'static str, id: &str) -> bool {
    session
        .timed(stats, endpoint, || {
            Body::Form(vec![("file_id", id.to_owned())])
        })
        .await
        .is_some()
}

/// One small upload: start, sign its one part, PUT it, complete.
async fn small_upload(plan: &Plan, session: &mut Session, stats: &mut Stats, n: u64) {
    let Some(upload) = start(
        session,
        stats,
        format!("small-{n}.bin"),
        plan.small.bytes.len() as u64,
    )
    .await
    else {
        return;
    };
    let id = upload.file.id;
    let parts = digests(1..=1, &plan.small.sha256);
    let Some(part) = sign(session, stats, &id, parts)
        .await
        .and_then(|mut parts| parts.pop())
    else {
        return;
    };
    if session.put(stats, &part, &plan.small).await
        && end(session, stats, "complete_upload", &id).await
    {
        stats.completed += 1;
    }
}

/// One large upload: start, sign parts in batches ahead, PUT the first (unless
/// `--large-put false`), abort.
async fn large_upload(plan: &Plan, session: &mut Session, stats: &mut Stats, n: u64) {
    let name = format!("large-{n}.bin");
    let Some(upload) = start(session, stats, name, plan.args.large_bytes).await else {
        return;
    };
    let id = upload.file.id;
    let Ok(first) = plan
        .large_part
        .get_or_try_init(|| async {
            let (bytes, sha256) = payload(upload.part_size)?;
            anyhow::Ok(Payload {
                bytes: bytes::Bytes::from(bytes),
                sha256,
            })
        })
        .await
    else {
        return;
    };
    for batch in 0..plan.args.large_batches {
        let from = batch * plan.args.batch + 1;
        let parts = digests(from..=from + plan.args.batch - 1, &first.sha256);
        let Some(signed) = sign(session, stats, &id, parts).await else {
            break;
        };
        if batch == 0 && plan.args.large_put {
            if let Some(part) = signed.first() {
                session.put(stats, part, first).await;
            }
        }
    }
    if end(session, stats, "abort_upload", &id).await {
        stats.aborted += 1;
    }
}

/// One uploader for one step: uploads until `until`, listing its files now and then.
async fn uploader(
    plan: Arc<Plan>,
    mut session: Session,
    until: Instant,
    seed: u64,
) -> (Session, Stats) {
    let mut stats = Stats::default();
    // Uploaders start spread over the first second, as users arrive, not in one burst.
    let delay = rand::rng().random_range(0..1000);
    tokio::time::sleep(Duration::from_millis(delay)).await;
    let mut n = seed;
    while Instant::now() < until {
        n += 1;
        if rand::rng().random_bool(plan.args.large.clamp(0.0, 1.0)) {
            large_upload(&plan, &mut session, &mut stats, n).await;
        } else {
            small_upload(&plan, &mut session, &mut stats, n).await;
        }
        if n.is_multiple_of(u64::from(plan.args.list_every.max(1))) {
            session
                .timed(&mut stats, "list_files", || Body::Form(Vec::new()))
                .await;
        }
    }
    (session, stats)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let most = args.steps.iter().copied().max().unwrap_or(0);
    let (small, sha256) = payload(args.small_bytes)?;
    let small = Payload {
        bytes: bytes::Bytes::from(small),
        sha256,
    };

    // Sessions: one sign-in each, a few at once (each is an argon2 check on the server).
    let began = Instant::now();
    let mut sign_in_stats = Stats::default();
    let signed_in: Vec<anyhow::Result<(Session, u32)>> = stream::iter(1..=most)
        .map(|i| {
            let url = args.url[(i - 1) % args.url.len()].clone();
            let password = args.password.clone();
            async move {
                let mut session = Session::new(&url)?;
                let fields = vec![
                    ("email", format!("load-{i}@bench.test")),
                    ("password", password),
                ];
                let at = Instant::now();
                match session.call("sign_in", Body::Form(fields)).await {
                    Ok(_) => Ok((session, u32::try_from(at.elapsed().as_micros())?)),
                    Err(failure) => bail!("sign-in of load-{i}@bench.test: {failure:?}"),
                }
            }
        })
        .buffer_unordered(args.sign_in_concurrency.max(1))
        .collect()
        .await;
    let mut sessions = Vec::with_capacity(most);
    for result in signed_in {
        let (session, us) = result?;
        sign_in_stats
            .latencies
            .entry("sign_in")
            .or_default()
            .push(us);
        sessions.push(session);
    }
    let took = began.elapsed().as_secs_f64();
    println!("SIGNED_IN {}", sign_in_stats.report(most, took));

    let plan = Arc::new(Plan {
        args,
        small,
        large_part: tokio::sync::OnceCell::new(),
    });
    for (step, &uploaders) in plan.args.steps.iter().enumerate() {
        println!("STEP_START {step}");
        let began = Instant::now();
        let until = began + Duration::from_secs(plan.args.seconds);
        let tasks: Vec<_> = sessions
            .drain(..uploaders)
            .enumerate()
            .map(|(i, session)| {
                let seed = (step as u64) << 40 | (i as u64) << 20;
                tokio::spawn(uploader(plan.clone(), session, until, seed))
            })
            .collect();
        let mut stats = Stats::default();
        let mut back = Vec::with_capacity(uploaders);
        for task in tasks {
            let (session, one) = task.await.context("an uploader panicked")?;
            stats.merge(one);
            back.push(session);
        }
        back.append(&mut sessions);
        sessions = back;
        let seconds = began.elapsed().as_secs_f64();
        println!("STEP_END {step} {}", stats.report(uploaders, seconds));
    }
    Ok(())
}
