//! How the browser calls the upload protocol's server functions: server_fn's own `fetch`
//! client, except that an error answer is read with its HTTP status (`AppError::from_answer`).
//! server_fn reads an error answer's body alone, so a proxy's HTML 502 between the page and
//! the server became a malformed answer and failed the file; here it is the transient
//! failure it is, and the upload engine tries again.

use futures::{Sink, Stream};
use leptos::server_fn::{
    client::{browser::BrowserClient, Client},
    response::ClientRes,
    Bytes,
};

use crate::error::AppError;

/// The header an upload request's page adds to the upload endpoints' calls: the request's
/// token. With it they act for the request's visitor in this session, not for the user.
pub const VIA_HEADER: &str = "haul-via";

/// The upload request this page sends files to: the token of `/r/{token}/send`, read from
/// the address the document was loaded at (the request page is always loaded whole, and
/// leaving it loads the next page whole, so one document never mixes the two).
#[cfg(feature = "hydrate")]
pub fn via() -> Option<String> {
    thread_local! {
        static VIA: Option<String> = leptos::prelude::window()
            .location()
            .pathname()
            .ok()
            .and_then(|path| send_page_token(&path));
    }
    VIA.with(Clone::clone)
}

#[cfg(not(feature = "hydrate"))]
pub fn via() -> Option<String> {
    None
}

/// The token of an upload request's sending page's path (`/r/{token}/send`).
pub fn send_page_token(path: &str) -> Option<String> {
    let token = path.strip_prefix("/r/")?.strip_suffix("/send")?;
    (!token.is_empty() && !token.contains('/')).then(|| token.to_owned())
}

/// `#[server(client = StatusAware)]`.
pub struct StatusAware;

impl Client<AppError> for StatusAware {
    type Request = <BrowserClient as Client<AppError>>::Request;
    type Response = <BrowserClient as Client<AppError>>::Response;

    async fn send(request: Self::Request) -> Result<Self::Response, AppError> {
        if let Some(token) = via() {
            request.headers().set(VIA_HEADER, &token);
        }
        let response = <BrowserClient as Client<AppError>>::send(request).await?;
        let status = ClientRes::<AppError>::status(&response);
        if !(400..=599).contains(&status) {
            return Ok(response);
        }
        // A body cut short is a failed connection, not a malformed answer.
        match ClientRes::<AppError>::try_into_bytes(response).await {
            Ok(body) => Err(AppError::from_answer(status, body)),
            Err(error) => Err(AppError::Unreachable(error.to_string())),
        }
    }

    fn open_websocket(
        path: &str,
    ) -> impl std::future::Future<
        Output = Result<
            (
                impl Stream<Item = Result<Bytes, Bytes>> + Send + 'static,
                impl Sink<Bytes> + Send + 'static,
            ),
            AppError,
        >,
    > + Send {
        <BrowserClient as Client<AppError>>::open_websocket(path)
    }

    fn spawn(future: impl std::future::Future<Output = ()> + Send + 'static) {
        <BrowserClient as Client<AppError>>::spawn(future)
    }
}

#[cfg(test)]
mod tests {
    use super::send_page_token;

    #[test]
    fn only_a_send_page_has_a_token() {
        assert_eq!(send_page_token("/r/abc_-9/send").as_deref(), Some("abc_-9"));
        for path in [
            "/r/abc",
            "/r//send",
            "/r/a/b/send",
            "/upload",
            "/r/abc/send/x",
        ] {
            assert_eq!(send_page_token(path), None, "{path}");
        }
    }
}
