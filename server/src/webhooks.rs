//! Sends webhooks from the outbox (`app::backend::webhooks`): every app server runs this
//! task; each round routes new events, claims due deliveries and posts them, so a delivery
//! goes out from one server at a time and survives restarts and a receiver that is down.
//!
//! What a receiver gets, and how it checks it (the README says the same):
//! - `POST` with a JSON body `{"id", "type", "created_at", "data"}`;
//! - `Haul-Event: <type>`, `Haul-Event-Id: <id>` (the same on every attempt: a receiver that
//!   got it already answers 2xx and ignores it), `Haul-Timestamp: <unix seconds>` of this
//!   attempt, and `Haul-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use app::backend::{
    notifications::public,
    state::AppState,
    webhooks::{self, Claimed, Outcome},
};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::task::JoinHandle;

/// How often a server looks for work.
const POLL: Duration = Duration::from_secs(1);
/// The longest one attempt may take...
const ATTEMPT: Duration = Duration::from_secs(10);
/// ...and how long a claim holds: no other server sends the delivery meanwhile.
const HOLD: Duration = Duration::from_secs(60);
/// Deliveries sent at once by one server.
const BATCH: i64 = 16;

pub fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let clients = match Clients::new(state.config.webhook_allow_private) {
            Ok(clients) => clients,
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "webhooks cannot be sent");
                return;
            }
        };
        let mut ticks = tokio::time::interval(POLL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(error) = round(&state, &clients).await {
                tracing::warn!(error = format!("{error:#}"), "sending webhooks failed");
            }
        }
    })
}

/// One for the site's own receiver (the operator's choice), one for users' receivers, which
/// reach only public addresses unless HAUL_WEBHOOK_ALLOW_PRIVATE says otherwise.
struct Clients {
    site: reqwest::Client,
    user: reqwest::Client,
    allow_private: bool,
}

impl Clients {
    fn new(allow_private: bool) -> anyhow::Result<Self> {
        let builder = || {
            reqwest::Client::builder()
                .timeout(ATTEMPT)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("Haul-Webhooks/", env!("CARGO_PKG_VERSION")))
        };
        let user = if allow_private {
            builder().build()?
        } else {
            builder().dns_resolver(Arc::new(PublicOnly)).build()?
        };
        Ok(Self {
            site: builder().build()?,
            user,
            allow_private,
        })
    }
}

/// Resolves names to their public addresses only: a name that points inside (127.0.0.1,
/// 10/8, 169.254.169.254, ...) reaches nothing.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| public(addr.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} has no public address").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

async fn round(state: &AppState, clients: &Clients) -> Result<(), app::backend::Error> {
    webhooks::route(&state.db, state.config.webhook_url.as_deref()).await?;
    loop {
        let claimed = webhooks::claim(&state.db, HOLD, BATCH).await?;
        if claimed.is_empty() {
            return Ok(());
        }
        let sent = claimed.iter().map(|delivery| async move {
            let outcome = send(state, clients, delivery).await;
            let label = match outcome {
                Outcome::Delivered(_) => "delivered",
                Outcome::Failed(..) => "failed",
            };
            state
                .metrics
                .count("haul_webhook_attempts_total", &[("outcome", label)], 1);
            webhooks::record(
                &state.db,
                delivery,
                &outcome,
                state.config.webhook_retry,
                state.config.webhook_retry_for,
            )
            .await
        });
        for recorded in futures::future::join_all(sent).await {
            recorded?;
        }
    }
}

async fn send(state: &AppState, clients: &Clients, delivery: &Claimed) -> Outcome {
    // The site's receiver as configured now (a restart may have changed URL and secret).
    let (client, secret, url) = if delivery.target == "site" {
        let url = state.config.webhook_url.as_deref().unwrap_or(&delivery.url);
        (&clients.site, state.config.webhook_secret.clone(), url)
    } else {
        (
            &clients.user,
            delivery.user_secret.clone(),
            delivery.url.as_str(),
        )
    };
    let Some(secret) = secret else {
        return Outcome::Failed(None, "The webhook was removed before it was sent.".into());
    };
    if delivery.target != "site" && !clients.allow_private && private_literal(url) {
        return Outcome::Failed(
            None,
            "Not sent: the address is of this machine or its network.".into(),
        );
    }
    let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let answer = client
        .post(url)
        .header("content-type", "application/json")
        .header("haul-event", &delivery.kind)
        .header("haul-event-id", delivery.event_id.to_string())
        .header("haul-timestamp", timestamp.to_string())
        .header(
            "haul-signature",
            format!("v1={}", signature(&secret, timestamp, &delivery.body)),
        )
        .body(delivery.body.clone())
        .send()
        .await;
    match answer {
        Ok(response) if response.status().is_success() => {
            Outcome::Delivered(response.status().as_u16())
        }
        Ok(response) => {
            let status = response.status().as_u16();
            Outcome::Failed(Some(status), format!("The receiver answered {status}."))
        }
        Err(error) => Outcome::Failed(None, words(&error)),
    }
}

/// A URL whose host is written as an address that is not public.
fn private_literal(url: &str) -> bool {
    match url::Url::parse(url)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    {
        Some(url::Host::Ipv4(ip)) => !public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => !public(IpAddr::V6(ip)),
        _ => false,
    }
}

/// Why an attempt got no answer, in words (the URL is in the log's row already).
fn words(error: &reqwest::Error) -> String {
    let inner = std::error::Error::source(error)
        .map(|source| format!(": {source}"))
        .unwrap_or_default();
    if error.is_timeout() {
        format!("No answer within {} s.", ATTEMPT.as_secs())
    } else if error.is_connect() {
        format!("Could not connect to the receiver{inner}.")
    } else {
        format!("The request failed{inner}.")
    }
}

/// `hex(HMAC-SHA256(secret, "<timestamp>.<body>"))`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    #[allow(clippy::expect_used)] // HMAC accepts a key of any length
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Computed apart, with Python's hmac module, as a receiver would.
        let body = r#"{"id":"e1","type":"upload.completed"}"#;
        assert_eq!(
            signature("whsec-test-secret-0123", 1_764_720_000, body),
            "5f44a408cd5c4d3fdc509494c8f3e5ed08358ca06a0b05b324e2f99f871372f9"
        );
        assert_ne!(
            signature("whsec-test-secret-0123", 1_764_720_001, body),
            signature("whsec-test-secret-0123", 1_764_720_000, body)
        );
    }

    #[test]
    fn hosts_written_as_inside_addresses_are_private() {
        assert!(private_literal("http://127.0.0.1:8080/hook"));
        assert!(private_literal("http://[::1]/hook"));
        assert!(private_literal("http://169.254.169.254/"));
        assert!(!private_literal("https://hooks.example.com/"));
        assert!(!private_literal("https://93.184.216.34/"));
    }
}
