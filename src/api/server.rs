//! The accept loop: axum's router over hyper's HTTP/1.1 connections, with the time limits
//! `axum::serve` does not offer. A client must send a request's headers within
//! [`ServeOptions::header_timeout`] of connecting, and a kept-alive connection is closed when the
//! next request's headers do not arrive within the same time (hyper runs one timer for both:
//! it waits for headers whenever no request is in progress). A slow body is bounded by the
//! request timeout in [`super::router`].

use std::future::Future;
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// Connection settings of [`serve`].
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Longest wait for a request's headers, on a new connection and between the requests of a
    /// kept-alive one; then the connection is closed.
    pub header_timeout: Duration,
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting and waits for the
/// requests in flight (idle connections close at once).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(options.header_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service =
            TowerToHyperService::new(app.clone().map_request(|r: axum::http::Request<Incoming>| r.map(Body::new)));
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
