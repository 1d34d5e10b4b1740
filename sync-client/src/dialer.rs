//! The WebSocket dialer samod reconnects through (exponential backoff with
//! jitter is samod's), counting bytes on the wire for the sync benchmark.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::BoxFuture;
use futures::{SinkExt, StreamExt, TryStreamExt};
use tokio_tungstenite::tungstenite::Message;

/// Bytes of protocol messages sent and received (WebSocket payloads).
#[derive(Debug, Default)]
pub struct Wire {
    pub sent: AtomicU64,
    pub received: AtomicU64,
    /// Set when the server answers a dial with 401 (token revoked or expired).
    refused_flag: std::sync::atomic::AtomicBool,
    pub refused: tokio::sync::Notify,
}

impl Wire {
    pub fn is_refused(&self) -> bool {
        self.refused_flag.load(Ordering::Relaxed)
    }

    pub fn clear_refused(&self) {
        self.refused_flag.store(false, Ordering::Relaxed);
    }

    fn refuse(&self) {
        self.refused_flag.store(true, Ordering::Relaxed);
        self.refused.notify_waiters();
    }

    pub fn totals(&self) -> (u64, u64) {
        (
            self.sent.load(Ordering::Relaxed),
            self.received.load(Ordering::Relaxed),
        )
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct WsError(String);

pub struct WsDialer {
    pub url: url::Url,
    pub wire: Arc<Wire>,
}

impl samod::Dialer for WsDialer {
    type Error = std::convert::Infallible;

    fn url(&self) -> url::Url {
        // The token stays out of logs.
        let mut u = self.url.clone();
        u.set_query(None);
        u
    }

    fn connect(
        &self,
    ) -> BoxFuture<'static, Result<samod::Transport, samod::DialError<Self::Error>>> {
        let url = self.url.clone();
        let wire = self.wire.clone();
        Box::pin(async move {
            let (ws, _) = match tokio_tungstenite::connect_async(url.as_str()).await {
                Ok(ok) => ok,
                Err(e) => {
                    if let tokio_tungstenite::tungstenite::Error::Http(r) = &e
                        && r.status() == 401
                    {
                        wire.refuse();
                    }
                    return Err(samod::DialError::transient(e));
                }
            };
            let (sink, stream) = ws.split();
            let rx_wire = wire.clone();
            let stream = stream
                .map_err(|e| WsError(format!("receive: {e}")))
                .try_filter_map(move |m| {
                    let wire = rx_wire.clone();
                    async move {
                        match m {
                            Message::Binary(b) => {
                                wire.received.fetch_add(b.len() as u64, Ordering::Relaxed);
                                Ok(Some(b.to_vec()))
                            }
                            Message::Text(t) => Err(WsError(format!("unexpected text frame: {t}"))),
                            _ => Ok(None),
                        }
                    }
                })
                .boxed();
            let sink =
                sink.sink_map_err(|e| WsError(format!("send: {e}")))
                    .with(move |b: Vec<u8>| {
                        wire.sent.fetch_add(b.len() as u64, Ordering::Relaxed);
                        futures::future::ready(Ok::<_, WsError>(Message::Binary(b.into())))
                    });
            Ok(samod::Transport::new(stream, Box::pin(sink)))
        })
    }
}
