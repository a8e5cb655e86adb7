//! Live updates over one WebSocket per page: a snapshot, then one message per change.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;

use super::api::printers::ConsoleLine;
use super::guard::is_local_origin;
use super::{ApiError, AppState};
use crate::manager::PrinterView;

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum LiveMessage<'a> {
    Snapshot {
        printers: &'a [PrinterView],
    },
    Printer {
        printer: &'a PrinterView,
    },
    Console {
        printer: i64,
        lines: &'a [ConsoleLine],
    },
}

pub async fn upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    // Browsers let any page open a WebSocket to localhost; only our own pages may read printers.
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        if !is_local_origin(origin) {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "foreign_origin",
                format!("pages from {origin} may not connect"),
            )
            .into_response();
        }
    }
    ws.on_upgrade(move |socket| serve(socket, state))
}

/// How often an open console is topped up with new serial lines.
const CONSOLE_TICK: Duration = Duration::from_millis(250);

/// What a page may ask over its socket.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Request {
    /// Stream this printer's console from sequence number `after` (`printer: null` stops it).
    Console {
        printer: Option<i64>,
        #[serde(default)]
        after: u64,
    },
}

async fn serve(mut socket: WebSocket, state: AppState) {
    let mut updates = state.manager.subscribe();
    let stopping = state.stopping.clone();
    let mut console: Option<(i64, u64)> = None;
    let mut tick = tokio::time::interval(CONSOLE_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    if send_snapshot(&mut socket, &state).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            update = updates.recv() => {
                let sent = match update {
                    Ok(printer) => send(&mut socket, &LiveMessage::Printer { printer: &printer }).await,
                    // Fell behind: a fresh snapshot is both cheaper and correct.
                    Err(RecvError::Lagged(_)) => send_snapshot(&mut socket, &state).await,
                    Err(RecvError::Closed) => break,
                };
                if sent.is_err() {
                    return;
                }
            }
            _ = tick.tick(), if console.is_some() => {
                if let Some((printer, after)) = console.as_mut() {
                    let lines = state.manager.console(*printer, *after).unwrap_or_default();
                    if let Some(last) = lines.last() {
                        *after = last.seq;
                        let lines: Vec<ConsoleLine> = lines.into_iter().map(ConsoleLine::from).collect();
                        if send(&mut socket, &LiveMessage::Console { printer: *printer, lines: &lines }).await.is_err() {
                            return;
                        }
                    }
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<Request>(&text) {
                    Ok(Request::Console { printer, after }) => console = printer.map(|p| (p, after)),
                    Err(e) => tracing::debug!(error = %e, "ignoring a malformed live request"),
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            () = stopped(stopping.clone()) => break,
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}

async fn stopped(mut stopping: tokio::sync::watch::Receiver<bool>) {
    // Only the outcome matters; a dropped sender also means the daemon is going away.
    let _ = stopping.wait_for(|stop| *stop).await;
}

async fn send_snapshot(socket: &mut WebSocket, state: &AppState) -> Result<(), axum::Error> {
    let printers = state.manager.printers();
    send(
        socket,
        &LiveMessage::Snapshot {
            printers: &printers,
        },
    )
    .await
}

async fn send(socket: &mut WebSocket, message: &LiveMessage<'_>) -> Result<(), axum::Error> {
    let text = serde_json::to_string(message).map_err(axum::Error::new)?;
    socket.send(Message::Text(text.into())).await
}
