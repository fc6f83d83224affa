//! A second real S3 engine: Garage (crates.io `garage`, pinned in scripts/tools.sh and built
//! once into the tools cache), started once per test binary as a single node on free loopback
//! ports, with one key and one bucket. The upload path runs against it here as it does against
//! the embedded SeaweedFS everywhere else: real bytes PUT to the URLs Haul signs.
//!
//! Why Garage: it is a real, independent implementation (not a mock like moto, and more of
//! S3's multipart and checksum API than s3s-fs), it installs from crates.io here, and it is
//! what self-hosters run. Its answers differ from SeaweedFS's where it matters to Haul: a wrong
//! digest is `InvalidDigest`, not `BadDigest`.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use nix::sys::signal::Signal;
use server::local_stack::{free_ports, process};
use tokio::sync::OnceCell;

use crate::helpers::{stack, unique_name};

pub struct Garage {
    pub endpoint: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub bucket: String,
    pub region: &'static str,
    _child: Child,
}

static GARAGE: OnceCell<Garage> = OnceCell::const_new();

/// The tools cache's Garage (`HAUL_GARAGE_BIN` overrides it).
fn binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("HAUL_GARAGE_BIN") {
        return bin.into();
    }
    let tools = std::env::var_os("HAUL_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/haul/tools")
        });
    let bin = tools.join("garage/bin/garage");
    assert!(
        bin.is_file(),
        "Garage is not installed at {}: `scripts/tools.sh test` installs it (or set \
         HAUL_GARAGE_BIN)",
        bin.display()
    );
    bin
}

fn hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

pub async fn garage() -> &'static Garage {
    GARAGE.get_or_init(start).await
}

async fn start() -> Garage {
    // Beside the shared stack's folder, removed with it at exit.
    let dir = stack().await.dir.join("garage");
    std::fs::create_dir_all(&dir).unwrap();
    let ports = free_ports(2).unwrap();
    let (rpc, s3) = (ports[0], ports[1]);
    let config = format!(
        "metadata_dir = \"{meta}\"\n\
         data_dir = \"{data}\"\n\
         db_engine = \"sqlite\"\n\
         replication_factor = 1\n\
         rpc_bind_addr = \"127.0.0.1:{rpc}\"\n\
         rpc_public_addr = \"127.0.0.1:{rpc}\"\n\
         rpc_secret = \"{secret}\"\n\
         [s3_api]\n\
         s3_region = \"garage\"\n\
         api_bind_addr = \"127.0.0.1:{s3}\"\n",
        meta = dir.join("meta").display(),
        data = dir.join("data").display(),
        secret = hex(32),
    );
    let config_path = dir.join("garage.toml");
    std::fs::write(&config_path, config).unwrap();
    let access_key_id = format!("GK{}", hex(12));
    let secret_access_key = hex(32);
    let bucket = unique_name("haul").replace('_', "-");
    let log = std::fs::File::create(dir.join("garage.log")).unwrap();
    let mut command = Command::new(binary());
    command
        .arg("-c")
        .arg(&config_path)
        .args(["server", "--single-node", "--default-bucket"])
        .env("GARAGE_DEFAULT_ACCESS_KEY", &access_key_id)
        .env("GARAGE_DEFAULT_SECRET_KEY", &secret_access_key)
        .env("GARAGE_DEFAULT_BUCKET", &bucket)
        .env("RUST_LOG", "garage=warn")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    let child = process::spawn_tied(command, Signal::SIGKILL).expect("starting Garage");
    let garage = Garage {
        endpoint: format!("http://127.0.0.1:{s3}"),
        access_key_id,
        secret_access_key,
        bucket,
        region: "garage",
        _child: child,
    };
    garage.wait_ready(&dir).await;
    garage
}

impl Garage {
    /// Until its bucket answers HeadBucket with the key (the layout and the key are made in
    /// the background at its start).
    async fn wait_ready(&self, dir: &std::path::Path) {
        let storage = app::backend::storage::Storage::new(&self.settings());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match storage.check_bucket().await {
                Ok(()) => return,
                Err(error) if Instant::now() > deadline => panic!(
                    "Garage did not get ready within 60 s: {error:#}; its log: {}",
                    process::log_tail(&dir.join("garage.log"), 20)
                ),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    pub fn settings(&self) -> app::backend::storage::S3Settings {
        app::backend::storage::S3Settings {
            endpoint: Some(self.endpoint.clone()),
            public_endpoint: None,
            region: self.region.to_owned(),
            bucket: self.bucket.clone(),
            credentials: app::backend::storage::S3Credentials::Static {
                access_key_id: self.access_key_id.clone(),
                secret_access_key: self.secret_access_key.clone(),
                session_token: None,
            },
            path_style: true,
            timeouts: Default::default(),
        }
    }

    /// The command-line settings of an app on this store (bucket set up at start: CORS).
    pub fn args(&self) -> Vec<String> {
        [
            "--s3-endpoint",
            &self.endpoint,
            "--s3-bucket",
            &self.bucket,
            "--s3-region",
            self.region,
            "--s3-path-style",
            "true",
            "--s3-setup-bucket",
            "true",
            "--aws-access-key-id",
            &self.access_key_id,
            "--aws-secret-access-key",
            &self.secret_access_key,
        ]
        .map(str::to_owned)
        .to_vec()
    }
}

mod tests {
    use app::upload::retry::{error_code, DIGEST_REFUSALS};
    use serde_json::Value;

    use super::garage;
    use crate::{
        helpers::{assert_no_violations, sha256, spawn_app_on_store, test_bytes, TestApp},
        integrity::composite,
        upload::{id, part_of, ARGS},
    };

    const MIB: usize = 1024 * 1024;
    const PART: usize = 5 * MIB;

    /// An app on Garage checking uploads with `mode` (`auto` runs the probe at start).
    async fn app(mode: &str) -> TestApp {
        let mut extra = ARGS.to_vec();
        extra.extend(["--s3-checksum", mode]);
        if mode == "auto" {
            extra.extend(["--s3-probe", "true"]);
        }
        let app = spawn_app_on_store(&garage().await.args(), &extra).await;
        app.signed_up_user().await;
        app
    }

    /// The upload path on Garage: start, sign, a corrupted part refused with a digest code,
    /// the parts it holds listed for a resume, the rest sent, completion with the checksum,
    /// and the bytes downloaded back. `sign` signs parts as the mode wants.
    async fn upload_path(app: &TestApp, md5: bool, seed: u64) -> Value {
        let bytes = test_bytes(11 * MIB + 5, seed);
        let (status, started) = app.start("garage.bin", bytes.len(), "").await;
        assert_eq!(status, 200, "{started}");
        let file_id = id(&started);
        let parts: Vec<(i64, &[u8])> = (1..=3).map(|n| (n, part_of(&bytes, PART, n))).collect();
        let (status, signed) = if md5 {
            app.sign_with_md5(&file_id, &parts).await
        } else {
            app.sign(&file_id, &parts).await
        };
        assert_eq!(status, 200, "{signed}");
        let signed = signed.as_array().unwrap().clone();
        // Other bytes of part 2's length: Garage refuses them, in a code Haul reads as a digest.
        let (status, answer) = app.put_answer(&signed[1], test_bytes(PART, seed + 1)).await;
        assert_eq!(status, 400, "{answer}");
        let code = error_code(&answer).unwrap_or_default();
        assert!(DIGEST_REFUSALS.contains(&code), "{answer}");
        // Parts 1 and 2 go; a resume lists them, with the digests they were signed with.
        for part in &signed[..2] {
            let number = part["part_number"].as_i64().unwrap();
            let body = part_of(&bytes, PART, number).to_vec();
            let (status, answer) = app.put_answer(part, body).await;
            assert_eq!(status, 200, "{answer}");
        }
        let (status, held) = app
            .json("/api/uploaded_parts", &[("file_id", &file_id)])
            .await;
        assert_eq!(status, 200, "{held}");
        let numbers: Vec<i64> = held
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["part_number"].as_i64().unwrap())
            .collect();
        assert_eq!(numbers, [1, 2], "{held}");
        let (status, missing) = app.complete(&file_id).await;
        assert_eq!(status, 409, "{missing}");
        let (status, answer) = app
            .put_answer(&signed[2], part_of(&bytes, PART, 3).to_vec())
            .await;
        assert_eq!(status, 200, "{answer}");
        let (status, file) = app.complete(&file_id).await;
        assert_eq!(status, 200, "{file}");
        assert_eq!(file["checksum"], composite(&bytes).as_str());
        assert_eq!(sha256(&app.object(&file_id).await), sha256(&bytes));
        file
    }

    #[tokio::test]
    async fn garage_runs_the_upload_path_with_sha256_which_auto_picks() {
        let app = app("auto").await;
        let file = upload_path(&app, false, 81).await;
        assert_eq!(file["integrity"], "sha256");
        assert_no_violations(&app).await;
    }

    #[tokio::test]
    async fn garage_runs_the_upload_path_with_md5() {
        let app = app("md5").await;
        let file = upload_path(&app, true, 83).await;
        assert_eq!(file["integrity"], "md5");
        let key: String =
            sqlx::query_scalar("select object_key from file where file_id = $1::uuid")
                .bind(file["id"].as_str().unwrap())
                .fetch_one(&app.db)
                .await
                .unwrap();
        let head = app.storage.head(&key, false).await.unwrap().unwrap();
        // AWS's multipart form: completion compared it with the parts' MD5s (a mismatch fails
        // the file), it did not just take it.
        let etag = head.etag.unwrap_or_default();
        assert!(
            app::backend::checksum::etag_is_md5_of_parts(&etag),
            "{etag}"
        );
        // A 0-byte file is written by the server.
        let (status, empty) = app.start("empty.bin", 0, "").await;
        assert_eq!(status, 200, "{empty}");
        assert_no_violations(&app).await;
    }

    #[tokio::test]
    async fn the_storage_check_on_garage_finds_it_safe() {
        let app = app("sha256").await;
        let findings = server::storage_check::probe(&app.storage, &app.origin)
            .await
            .unwrap();
        let rows = server::storage_check::rows(&findings, &app.origin);
        let table = server::storage_check::table(&rows);
        eprintln!("server storage check on Garage:\n{table}");
        assert!(server::storage_check::safe(&rows), "{table}");
        assert_eq!(
            server::storage_check::integrity_for(&findings),
            app::model::Integrity::Sha256,
            "{table}"
        );
    }
}
