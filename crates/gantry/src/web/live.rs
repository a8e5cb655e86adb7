//! Live updates over one WebSocket per page: a snapshot, then one message per change.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;

use super::guard::is_local_origin;
use super::{ApiError, AppState};
use crate::manager::PrinterView;

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum LiveMessage<'a> {
    Snapshot { printers: &'a [PrinterView] },
    Printer { printer: &'a PrinterView },
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

async fn serve(mut socket: WebSocket, state: AppState) {
    let mut updates = state.manager.subscribe();
    let stopping = state.stopping.clone();
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
            incoming = socket.recv() => match incoming {
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
