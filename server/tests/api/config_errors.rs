//! Bad settings: one clear line naming the setting to change, a non-zero exit, no panic.

use std::{net::TcpListener, process::Output};

use crate::helpers::test_settings;

/// Runs the real binary with only `vars` set (plus PATH and HOME).
/// The variables of a server on the test stack's database and the S3 store at `endpoint`,
/// without credentials.
fn external_store<'a>(
    database_url: &'a str,
    endpoint: &'a str,
    bucket: &'a str,
) -> Vec<(&'static str, &'a str)> {
    vec![
        ("HAUL_ADDR", "127.0.0.1:0"),
        ("DATABASE_URL", database_url),
        ("HAUL_S3_ENDPOINT", endpoint),
        ("HAUL_S3_BUCKET", bucket),
        ("HAUL_S3_PATH_STYLE", "true"),
    ]
}

async fn run_server(vars: &[(&str, &str)]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_server"));
    command.env_clear();
    for name in ["PATH", "HOME"] {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command.envs(vars.iter().copied()).env("HAUL_LOG", "off");
    command.output().await.expect("running the server binary")
}

fn assert_fails_naming(output: &Output, setting: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "exited successfully: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr}"
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(
        stderr.contains(setting),
        "does not name {setting}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test]
async fn a_taken_port_names_haul_addr() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = run_server(&[("HAUL_ADDR", &addr)]).await;
    assert_fails_naming(&output, "HAUL_ADDR");
}

#[tokio::test]
async fn an_unreachable_database_names_database_url() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("postgres://haul:secret-password@{closed}/haul");
    let output = run_server(&[("HAUL_ADDR", "127.0.0.1:0"), ("DATABASE_URL", &url)]).await;
    assert_fails_naming(&output, "DATABASE_URL");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("secret-password"),
        "leaks the password: {stderr}"
    );
}

#[tokio::test]
async fn a_malformed_database_url_names_database_url() {
    let output = run_server(&[("HAUL_ADDR", "127.0.0.1:0"), ("DATABASE_URL", "not a url")]).await;
    assert_fails_naming(&output, "DATABASE_URL");
}

#[tokio::test]
async fn an_unreachable_s3_endpoint_names_haul_s3_endpoint() {
    let (settings, database_url) = test_settings().await;
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let endpoint = format!("http://{closed}");
    let bucket = settings.bucket();
    let mut vars = external_store(&database_url, &endpoint, &bucket);
    vars.extend([
        ("AWS_ACCESS_KEY_ID", "key"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
    ]);
    let output = run_server(&vars).await;
    assert_fails_naming(&output, "HAUL_S3_ENDPOINT");
}

#[tokio::test]
async fn a_data_dir_that_cannot_be_created_names_haul_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let data_dir = file.join("data");
    let output = run_server(&[
        ("HAUL_ADDR", "127.0.0.1:0"),
        ("HAUL_DATA_DIR", data_dir.to_str().unwrap()),
    ])
    .await;
    assert_fails_naming(&output, "HAUL_DATA_DIR");
}

#[tokio::test]
async fn half_a_key_pair_names_the_missing_key() {
    let (settings, database_url) = test_settings().await;
    let endpoint = settings.s3_endpoint.clone().unwrap();
    let bucket = settings.bucket();
    let mut vars = external_store(&database_url, &endpoint, &bucket);
    vars.push(("AWS_ACCESS_KEY_ID", "key"));
    let output = run_server(&vars).await;
    assert_fails_naming(&output, "AWS_SECRET_ACCESS_KEY");
}

#[tokio::test]
async fn no_key_pair_and_no_role_names_the_keys() {
    let (settings, database_url) = test_settings().await;
    let endpoint = settings.s3_endpoint.clone().unwrap();
    let home = tempfile::tempdir().unwrap();
    let none = home.path().join("none");
    let bucket = settings.bucket();
    let mut vars = external_store(&database_url, &endpoint, &bucket);
    vars.extend([
        ("AWS_CONFIG_FILE", none.to_str().unwrap()),
        ("AWS_SHARED_CREDENTIALS_FILE", none.to_str().unwrap()),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]);
    let output = run_server(&vars).await;
    assert_fails_naming(&output, "AWS_ACCESS_KEY_ID");
}

#[tokio::test]
async fn a_site_webhook_without_its_other_half_or_with_a_weak_secret_names_the_setting() {
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("HAUL_WEBHOOK_URL", "https://hooks.example.com/haul")],
            "HAUL_WEBHOOK_SECRET",
        ),
        (
            &[("HAUL_WEBHOOK_SECRET", "a-long-enough-secret")],
            "HAUL_WEBHOOK_URL",
        ),
        (
            &[
                ("HAUL_WEBHOOK_URL", "https://hooks.example.com/haul"),
                ("HAUL_WEBHOOK_SECRET", "short"),
            ],
            "HAUL_WEBHOOK_SECRET",
        ),
        (
            &[
                ("HAUL_WEBHOOK_URL", "ftp://hooks.example.com/haul"),
                ("HAUL_WEBHOOK_SECRET", "a-long-enough-secret"),
            ],
            "HAUL_WEBHOOK_URL",
        ),
    ];
    for (vars, setting) in cases {
        let output = run_server(vars).await;
        assert_fails_naming(&output, setting);
        // The secret is never printed.
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("a-long-enough-secret"), "{stderr}");
    }
}
