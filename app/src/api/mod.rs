//! Server functions: thin, public HTTP endpoints under /api/. Each one checks the session
//! itself (through `require_user`/`require_admin`) and calls into `backend`.

pub mod admin;
pub mod auth;
pub mod files;
pub mod upload;

#[cfg(feature = "ssr")]
pub use guard::*;

#[cfg(feature = "ssr")]
mod guard {
    use std::net::{IpAddr, SocketAddr};

    use axum::extract::ConnectInfo;
    use leptos::prelude::use_context;
    use tower_sessions::Session;

    use crate::{
        backend::{session, state::AppState, users::User},
        error::AppError,
        model::{Role, UserView},
    };

    pub fn state() -> Result<AppState, AppError> {
        use_context::<AppState>().ok_or_else(|| anyhow::anyhow!("no AppState in context").into())
    }

    pub async fn session() -> Result<Session, AppError> {
        leptos_axum::extract::<Session>()
            .await
            .map_err(|e| anyhow::anyhow!("no session layer: {e}").into())
    }

    /// The signed-in user, or `Unauthorized`.
    pub async fn require_user() -> Result<(AppState, User), AppError> {
        let state = state()?;
        let session = session().await?;
        match session::user(&state, &session).await? {
            Some(user) => Ok((state, user)),
            None => Err(AppError::Unauthorized),
        }
    }

    /// The signed-in admin; a signed-in user who is not one gets `Forbidden`.
    pub async fn require_admin() -> Result<(AppState, User), AppError> {
        let (state, user) = require_user().await?;
        if user.role == Role::Admin {
            Ok((state, user))
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Signs `user` in on this request's session, then sends the browser to `next`.
    pub async fn begin_session(user: &User, next: Option<&str>) -> Result<UserView, AppError> {
        session::start(&session().await?, user).await?;
        leptos_axum::redirect(&super::safe_next(next));
        Ok(user.view())
    }

    /// The client's address: the peer, or with `trust_proxy` the address the proxy appended
    /// last to X-Forwarded-For (earlier entries are the client's to forge).
    pub async fn client_ip(state: &AppState) -> Result<IpAddr, AppError> {
        let parts = leptos_axum::extract::<axum::http::request::Parts>()
            .await
            .map_err(|e| anyhow::anyhow!("no request parts: {e}"))?;
        if state.config.trust_proxy {
            if let Some(ip) = super::last_forwarded_for(&parts.headers) {
                return Ok(ip);
            }
        }
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .ok_or_else(|| anyhow::anyhow!("no peer address (serve with connect info)").into())
    }
}

/// The address a trusted proxy appended last to X-Forwarded-For.
#[cfg(feature = "ssr")]
fn last_forwarded_for(headers: &axum::http::HeaderMap) -> Option<std::net::IpAddr> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|ip| ip.trim().parse().ok())
        .next_back()
}

/// Where to go after signing in: only a local path, never another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[cfg(feature = "ssr")]
    #[test]
    fn the_proxy_appended_address_wins_over_forged_ones() {
        let mut headers = axum::http::HeaderMap::new();
        headers.append("x-forwarded-for", "6.6.6.6, 10.0.0.1".parse().unwrap());
        headers.append("x-forwarded-for", "203.0.113.7".parse().unwrap());
        assert_eq!(
            super::last_forwarded_for(&headers),
            Some("203.0.113.7".parse().unwrap())
        );
        assert_eq!(
            super::last_forwarded_for(&axum::http::HeaderMap::new()),
            None
        );
    }

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/account?tab=1")), "/account?tab=1");
        assert_eq!(safe_next(None), "/");
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "evil",
            "/a\nb",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
    }
}
