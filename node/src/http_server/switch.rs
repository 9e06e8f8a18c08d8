//! One HTTP listener whose site is switched in place: the founding pages, or the page
//! served while a node starts ([`super::starting`]), then the whole node. The server
//! forwards every request to the site in force, so no visitor ever meets a closed port.

use axum::extract::Request;
use axum::response::Response;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;

/// The site in force, replaceable while the server runs.
#[derive(Clone, Debug)]
pub struct SiteSwitch {
    current: watch::Sender<Router>,
}

impl SiteSwitch {
    /// A switch serving `initial`.
    pub fn new(initial: Router) -> SiteSwitch {
        SiteSwitch {
            current: watch::Sender::new(initial),
        }
    }

    /// Serves `router` from the next request on; requests under way finish on the old one.
    pub fn set(&self, router: Router) {
        drop(self.current.send_replace(router));
    }

    /// A router that hands each request to the site in force.
    pub fn router(&self) -> Router {
        let current = self.current.subscribe();
        Router::new().fallback(move |request: Request| {
            let router = current.borrow().clone();
            async move {
                let answer: Result<Response, std::convert::Infallible> =
                    router.oneshot(request).await;
                match answer {
                    Ok(response) => response,
                    Err(never) => match never {},
                }
            }
        })
    }
}

/// An HTTP server over a [`SiteSwitch`], stopped by its own shutdown signal.
pub struct SwitchedHttp {
    /// The switch.
    pub switch: SiteSwitch,
    /// Turning it true stops the server (and, once a node runs behind it, the node).
    pub shutdown: watch::Sender<bool>,
    /// The server's task.
    pub server: JoinHandle<()>,
    /// The address served.
    pub address: std::net::SocketAddr,
}

impl SwitchedHttp {
    /// Serves `initial` on `listener` behind a switch.
    pub fn serve(
        listener: TcpListener,
        initial: Router,
        limits: crate::http_server::ServerLimits,
    ) -> std::io::Result<SwitchedHttp> {
        let address = listener.local_addr()?;
        let switch = SiteSwitch::new(initial);
        let (shutdown, signal) = watch::channel(false);
        let server = tokio::spawn(crate::http_server::serve(
            listener,
            switch.router(),
            limits,
            signal,
        ));
        Ok(SwitchedHttp {
            switch,
            shutdown,
            server,
            address,
        })
    }

    /// Stops the server and waits for it.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.server.await;
    }
}
