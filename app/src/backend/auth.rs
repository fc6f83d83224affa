//! Sign-up and sign-in: validation, argon2id hashing, rate limits, audit.

use std::{net::IpAddr, sync::OnceLock, time::Duration};

use crate::backend::error::Context;
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use serde_json::json;

use super::{
    audit::{self, Actor, Event},
    state::AppState,
    users::{self, PasswordHash, User},
};
use crate::{backend::Error, error::check_field, model::Email, validate};

/// OWASP's argon2id parameters: 19 MiB of memory, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    #[allow(clippy::expect_used)] // constant, valid parameters
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashing takes tens of milliseconds of CPU: off the async workers.
pub async fn hash_password(password: String) -> Result<PasswordHash, Error> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| PasswordHash(hash.to_string()))
            .map_err(|e| Error::from(anyhow::anyhow!("hashing a password: {e}")))
    })
    .await
    .context("joining the hashing task")?
}

/// Checks `password` against `hash`; with no hash, checks against a dummy so that an unknown
/// email takes as long as a wrong password.
pub async fn verify_password(password: String, hash: Option<PasswordHash>) -> Result<bool, Error> {
    let hash = match hash {
        Some(hash) => hash.0,
        None => dummy_hash().await?,
    };
    tokio::task::spawn_blocking(move || {
        let parsed = argon2::PasswordHash::new(&hash)
            .map_err(|e| anyhow::anyhow!("stored password hash is malformed: {e}"))?;
        Ok(argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .context("joining the verifying task")?
}

async fn dummy_hash() -> Result<String, Error> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash.clone());
    }
    let hash = hash_password("not the password of anyone".to_owned())
        .await?
        .0;
    Ok(DUMMY.get_or_init(|| hash).clone())
}

/// Counts one `action` attempt from `ip` against the per-IP limit.
pub(crate) async fn limit_ip(state: &AppState, action: &str, ip: IpAddr) -> Result<(), Error> {
    let key = format!("{action}:{}", ip_key(ip));
    let limit = state.config.rate_limit_per_ip;
    let counted = state.rate_limiter.hit(&state.db, &key, limit).await?;
    counted.map(drop).map_err(|wait| refused(state, "ip", wait))
}

/// Who an address's attempts are counted against: an IPv4 address, or an IPv6 address's /64
/// network, the block one host or home is given (one counter per IPv6 address would give
/// each of them 2^64). An IPv4 address written as IPv6 (::ffff:a.b.c.d) counts as itself.
pub(crate) fn ip_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                format!("{}/64", std::net::Ipv6Addr::from(network))
            }
        },
    }
}

/// A refusal by a rate limit, counted by which limit.
fn refused(state: &AppState, limit: &'static str, wait: Duration) -> Error {
    state
        .metrics
        .count("haul_rate_limited_total", &[("limit", limit)], 1);
    rate_limited(wait)
}

fn rate_limited(wait: Duration) -> Error {
    Error::RateLimited {
        retry_after: wait.as_secs().max(1),
    }
}

/// Checks the password of a link (a share link, an upload request) whose stored hash is
/// `hash` (None: it has none, any password passes). Guesses are counted like sign-ins:
/// against the address and against the link (`link`, e.g. `share:<id>`); a right one gives
/// its count back.
pub async fn link_password(
    state: &AppState,
    ip: IpAddr,
    link: &str,
    hash: Option<String>,
    password: &str,
) -> Result<bool, Error> {
    let Some(hash) = hash else {
        return Ok(true);
    };
    limit_ip(state, "link-password", ip).await?;
    let limit = state.config.rate_limit_per_account;
    let counted = state
        .rate_limiter
        .hit(&state.db, &format!("link-password:{link}"), limit)
        .await?
        .map_err(|wait| refused(state, "link", wait))?;
    let matches = {
        let _turn = hashing_turn(state).await?;
        verify_password(password.to_owned(), Some(PasswordHash(hash))).await?
    };
    if matches {
        state.rate_limiter.refund(&state.db, &counted).await?;
    }
    Ok(matches)
}

/// Creates an account after checking the input; every problem is reported by field.
pub async fn sign_up(
    state: &AppState,
    ip: IpAddr,
    email: &str,
    password: &str,
) -> Result<User, Error> {
    limit_ip(state, "sign-up", ip).await?;

    let mut problems = Vec::new();
    let email = check_field(&mut problems, "email", validate::email(email));
    check_field(&mut problems, "password", validate::new_password(password));
    let Some(email) = email.filter(|_| problems.is_empty()) else {
        return Err(Error::Invalid(problems));
    };

    let hash = {
        let _turn = hashing_turn(state).await?;
        hash_password(password.to_owned()).await?
    };
    let quota = i64::try_from(state.config.default_quota).unwrap_or(i64::MAX);
    let user = users::create(&state.db, &email, &hash, quota).await?;
    users::seen(&state.db, &user, true).await?;
    audit_own(state, &user, "user.sign_up", ip).await?;
    Ok(user)
}

/// The user whose email and password these are. Unknown email and wrong password (on any
/// account, disabled or not) answer the same, after the same amount of work; only the right
/// password for a disabled account is told that it is disabled.
pub async fn sign_in(
    state: &AppState,
    ip: IpAddr,
    email: &str,
    password: &str,
) -> Result<User, Error> {
    limit_ip(state, "sign-in", ip).await?;
    let email = validate::email(email).ok();
    let normalised = email.as_ref().map_or("", Email::as_str);
    let account_key = format!("sign-in-account:{normalised}");
    // Counted before the password is checked: concurrent guesses cannot all slip in while
    // the first ones are still hashing. A successful sign-in gives its count back.
    let limit = state.config.rate_limit_per_account;
    let counted = state
        .rate_limiter
        .hit(&state.db, &account_key, limit)
        .await?
        .map_err(|wait| refused(state, "account", wait))?;

    let found = match &email {
        Some(email) => users::find_with_hash(&state.db, email).await?,
        None => None,
    };
    let (user, hash) = found.map_or((None, None), |(user, hash)| (Some(user), Some(hash)));
    let matches = {
        let _turn = hashing_turn(state).await?;
        verify_password(password.to_owned(), hash).await?
    };
    match user {
        Some(user) if matches && !user.disabled => {
            state.rate_limiter.refund(&state.db, &counted).await?;
            let ok = [("outcome", "ok")];
            state.metrics.count("haul_sign_ins_total", &ok, 1);
            users::seen(&state.db, &user, true).await?;
            audit_own(state, &user, "user.sign_in", ip).await?;
            Ok(user)
        }
        // Whoever knows the password may know the account is disabled, and whom to ask.
        Some(user) if matches => {
            failed_sign_in(state, Some(&user), normalised, ip).await?;
            Err(Error::AccountDisabled)
        }
        // Failures stay counted against the account, so guessing one password from many IPs
        // stops too.
        user => {
            failed_sign_in(state, user.as_ref(), normalised, ip).await?;
            Err(Error::WrongCredentials)
        }
    }
}

/// Records a failed sign-in: in the audit log (with why, and from where) and in the metrics.
async fn failed_sign_in(
    state: &AppState,
    user: Option<&User>,
    email: &str,
    ip: IpAddr,
) -> Result<(), Error> {
    let why = match user {
        None => "unknown email",
        Some(user) if user.disabled => "disabled",
        Some(_) => "wrong password",
    };
    let mut event =
        Event::new("user.sign_in_failed").detail(json!({ "email": email, "reason": why }));
    if let Some(user) = user {
        event = event.on_user(user);
    }
    let actor = Actor {
        ip: Some(ip),
        ..Actor::system()
    };
    audit::record(&state.db, &actor, event).await?;
    let failed = [("outcome", "failed")];
    state.metrics.count("haul_sign_ins_total", &failed, 1);
    Ok(())
}

/// Waits for a free hashing slot: each argon2 run holds 19 MiB, so at most
/// HAUL_HASH_CONCURRENCY run at once and a burst of sign-ins queues instead of eating memory.
pub(crate) async fn hashing_turn(
    state: &AppState,
) -> Result<tokio::sync::SemaphorePermit<'_>, Error> {
    state
        .hashing
        .acquire()
        .await
        .context("the hashing queue is closed")
}

/// Records something a user did to their own account, and from where.
async fn audit_own(state: &AppState, user: &User, action: &str, ip: IpAddr) -> Result<(), Error> {
    let actor = Actor::user(user, Some(ip));
    audit::record(&state.db, &actor, Event::new(action).on_user(user)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hash = hash_password("correct horse battery".into()).await.unwrap();
        assert!(
            hash.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.0
        );
        assert!(
            verify_password("correct horse battery".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!verify_password("correct horse batter".into(), Some(hash))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn long_passwords_are_not_truncated() {
        let long = "x".repeat(1024);
        let hash = hash_password(long.clone()).await.unwrap();
        let mut almost = long.clone();
        almost.replace_range(1023.., "y");
        assert!(!verify_password(almost, Some(hash)).await.unwrap());
    }

    #[tokio::test]
    async fn no_hash_never_verifies() {
        assert!(!verify_password("anything".into(), None).await.unwrap());
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_and_ipv4_by_itself() {
        let key = |ip: &str| ip_key(ip.parse().unwrap());
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            key("2001:db8:1:2::ffff"),
            key("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
    }

    #[test]
    fn the_hash_hides_itself_in_debug_output() {
        let hash = PasswordHash("$argon2id$secret".into());
        assert_eq!(format!("{hash:?}"), "PasswordHash(<hidden>)");
    }
}
