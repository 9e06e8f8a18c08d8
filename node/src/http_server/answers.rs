//! JSON bodies for the answers hyper writes by itself: a request it cannot parse (`400`), a
//! URI it cannot hold (`414`) or a head over the size limit (`431`) gets a head-only answer
//! from hyper, with no hook to change it, before any handler runs. docs/API.md promises a
//! JSON body on every answer, so the connection's writer recognises those heads (status
//! 400, 414 or 431 with `content-length: 0`) and writes the same answer with a JSON body
//! and `connection: close`. Hyper closes such a connection after that answer anyway.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection whose automatic error answers carry a JSON body.
pub struct JsonAutomaticAnswers<S> {
    inner: S,
    /// A rewritten answer not yet fully written, and how much of it is.
    pending: Option<(Vec<u8>, usize)>,
}

impl<S> JsonAutomaticAnswers<S> {
    /// Wraps a connection.
    pub fn new(inner: S) -> Self {
        JsonAutomaticAnswers {
            inner,
            pending: None,
        }
    }
}

/// The stable code and the message of an automatic answer's status.
fn explain(status: &str) -> Option<(&'static str, &'static str)> {
    match status {
        "400" => Some(("bad_request", "the request could not be read as HTTP/1.1")),
        "414" => Some(("uri_too_long", "the address is too long")),
        "431" => Some(("headers_too_large", "the request's headers are too large")),
        _ => None,
    }
}

/// The answer to write instead of `written`, if `written` is exactly one of hyper's
/// automatic head-only error answers.
pub fn with_json_body(written: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(written).ok()?;
    let head = text.strip_suffix("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status = status_line.strip_prefix("HTTP/1.1 ")?.get(..3)?;
    let (code, message) = explain(status)?;
    let rest: Vec<&str> = lines.collect();
    if !rest
        .iter()
        .any(|line| line.eq_ignore_ascii_case("content-length: 0"))
    {
        return None;
    }
    let body = serde_json::json!({ "error": code, "message": message }).to_string();
    let mut answer = format!("{status_line}\r\n");
    for line in rest {
        let name = line.split(':').next().unwrap_or_default();
        if !name.eq_ignore_ascii_case("content-length") && !name.eq_ignore_ascii_case("connection")
        {
            answer.push_str(line);
            answer.push_str("\r\n");
        }
    }
    answer.push_str("content-type: application/json\r\n");
    answer.push_str(&format!("content-length: {}\r\n", body.len()));
    answer.push_str("connection: close\r\n\r\n");
    answer.push_str(&body);
    Some(answer.into_bytes())
}

impl<S: AsyncWrite + Unpin> JsonAutomaticAnswers<S> {
    /// Writes what is left of a rewritten answer.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, done)) = &mut self.pending {
            if *done == bytes.len() {
                self.pending = None;
                break;
            }
            let wrote = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*done..]))?;
            if wrote == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *done += wrote;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for JsonAutomaticAnswers<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for JsonAutomaticAnswers<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if let Some(answer) = with_json_body(buf) {
            self.pending = Some((answer, 0));
            // The whole head counts as written; what the socket has not taken yet goes out
            // on the next write, flush or shutdown.
            if let Poll::Ready(Err(error)) = self.poll_pending(cx) {
                return Poll::Ready(Err(error));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
