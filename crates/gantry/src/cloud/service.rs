//! The daemon's cloud link: one link per printer while an account is linked, started and
//! stopped as printers come and go, and never in offline mode.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::account::{self, LinkError, LinkRecord, Mode, SsoGrant};
use super::api::Credentials;
use super::host::PrintHost;
use super::link::{run_printer, Board, LinkContext, PrinterLinkState};
use super::renew::LinkedAccount;
use super::streamer::StreamerApi;
use super::vault::Vault;
use crate::secrets::{Backend, Secrets};
use crate::store::Store;

/// How often new and vanished printers are noticed.
const SCAN_PERIOD: Duration = Duration::from_secs(1);

/// The link as the dashboard and `gantry status` show it.
#[derive(Debug, Clone, Serialize)]
pub struct CloudStatus {
    pub mode: Mode,
    pub account: Option<String>,
    pub base_url: String,
    /// What "Forgot your password?" opens.
    pub password_reset_url: String,
    pub secrets: Backend,
    /// A sentence for the user about where the tokens are.
    pub secrets_note: String,
    pub printers: Vec<PrinterLink>,
    pub warning: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PrinterLink {
    pub printer: i64,
    #[serde(flatten)]
    pub state: PrinterLinkState,
}

struct Running {
    /// Shared with the account, which stops the links itself when the sign-in is lost.
    stop: Arc<watch::Sender<bool>>,
    task: JoinHandle<()>,
    board: Arc<Board>,
}

pub struct CloudService<H> {
    store: Store,
    host: Arc<H>,
    vault: Arc<Vault>,
    data_dir: PathBuf,
    running: tokio::sync::Mutex<Option<Running>>,
    warning: Mutex<Option<String>>,
    /// Also written by the links' account when the sign-in is lost.
    error: Arc<Mutex<Option<String>>>,
    /// True while an account is linked with a token: Remote Access may then offer it.
    linked: Arc<AtomicBool>,
}

impl<H: PrintHost> CloudService<H> {
    /// Opens the token store and starts the links if an account is linked.
    pub async fn start(
        store: Store,
        host: Arc<H>,
        data_dir: PathBuf,
    ) -> Result<Arc<CloudService<H>>, LinkError> {
        let vault = Arc::new(Vault::new(Secrets::open(&data_dir)?));
        let service = Arc::new(CloudService {
            store,
            host,
            vault,
            data_dir,
            running: tokio::sync::Mutex::new(None),
            warning: Mutex::new(None),
            error: Arc::new(Mutex::new(None)),
            linked: Arc::new(AtomicBool::new(false)),
        });
        service.reload().await?;
        Ok(service)
    }

    pub fn linked_flag(&self) -> Arc<AtomicBool> {
        self.linked.clone()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    fn note(slot: &Mutex<Option<String>>, value: Option<String>) {
        *slot.lock().unwrap_or_else(PoisonError::into_inner) = value;
    }

    pub async fn status(&self) -> Result<CloudStatus, LinkError> {
        let record = account::record(&self.store).await?;
        let settings = account::settings(&self.store).await?;
        let printers = match &*self.running.lock().await {
            Some(running) => running
                .board
                .all()
                .into_iter()
                .map(|(printer, state)| PrinterLink { printer, state })
                .collect(),
            None => Vec::new(),
        };
        let secrets = self.vault.backend();
        Ok(CloudStatus {
            mode: record.mode,
            account: record.account,
            password_reset_url: settings.password_reset_url(),
            base_url: settings.base_url,
            secrets_note: format!("tokens are kept in {}", secrets.describe()),
            secrets,
            printers,
            warning: self
                .warning
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            error: self
                .error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        })
    }

    /// Signs in (switching accounts if another is linked) and relinks every printer under it.
    /// `sso` keeps what renews an SSO or device-code sign-in later.
    pub async fn login(
        &self,
        credentials: &Credentials,
        sso: Option<SsoGrant>,
    ) -> Result<CloudStatus, LinkError> {
        self.stop_links().await;
        match account::sign_in(&self.store, &self.vault, credentials, sso).await {
            Ok(session) => {
                Self::note(&self.warning, account::clock_warning(session.clock_skew));
                Self::note(&self.error, None);
            }
            Err(e) => {
                // A failed sign-in leaves a previous link as it was.
                self.reload().await?;
                return Err(e);
            }
        }
        self.reload().await?;
        self.status().await
    }

    /// Unlinks. Refused while printing unless `force`; prints continue either way.
    pub async fn logout(&self, force: bool) -> Result<(), LinkError> {
        let printing: Vec<String> = self
            .host
            .printers()
            .into_iter()
            .filter(|p| p.is_printing())
            .map(|p| p.name)
            .collect();
        if !printing.is_empty() && !force {
            return Err(LinkError::Printing(printing));
        }
        self.stop_links().await;
        // Remote Access must stop offering the account at once, not at the next reload.
        self.linked.store(false, Ordering::Relaxed);
        account::sign_out(&self.store, &self.vault).await?;
        Self::note(&self.warning, None);
        Self::note(&self.error, None);
        tracing::info!(
            forced = force,
            "logged out of the cloud; printers carry on locally"
        );
        Ok(())
    }

    /// Offline mode on: the links stop and the cloud is never contacted. Off: back to the
    /// login screen.
    pub async fn set_offline(&self, offline: bool) -> Result<(), LinkError> {
        self.stop_links().await;
        if offline {
            account::go_offline(&self.store, &self.vault).await?;
        } else if account::record(&self.store).await?.mode == Mode::Offline {
            account::set_record(&self.store, &LinkRecord::default()).await?;
        }
        Self::note(&self.error, None);
        self.reload().await
    }

    /// Applies the stored link: after a start, and after `gantry login` signed in elsewhere.
    pub async fn reload(&self) -> Result<(), LinkError> {
        self.stop_links().await;
        self.linked.store(false, Ordering::Relaxed);
        let record = account::record(&self.store).await?;
        if record.mode != Mode::Linked {
            return Ok(());
        }
        let Some(token) = account::user_token(&self.vault)? else {
            Self::note(
                &self.error,
                Some("linked, but the token is missing from the keychain; sign in again".into()),
            );
            return Ok(());
        };
        let settings = account::settings(&self.store).await?;
        let cloud: StreamerApi = account::backend(&self.store, &settings).await?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(6))
            .read_timeout(settings.request_timeout())
            .build()
            .map_err(|e| LinkError::Cloud(super::api::CloudError::Transport(e.to_string())))?;
        let board = Arc::new(Board::default());
        let (stop, stopping) = watch::channel(false);
        let stop = Arc::new(stop);
        let cloud = Arc::new(cloud);
        let on_lost = {
            let error = self.error.clone();
            let linked = self.linked.clone();
            let stop = stop.clone();
            Box::new(move |message: String| {
                Self::note(&error, Some(message));
                linked.store(false, Ordering::Relaxed);
                let _ = stop.send(true);
            })
        };
        let context = Arc::new(LinkContext {
            cloud: cloud.clone(),
            host: self.host.clone(),
            settings,
            account: LinkedAccount::new(
                cloud,
                self.store.clone(),
                self.vault.clone(),
                token,
                on_lost,
            ),
            vault: self.vault.clone(),
            download_dir: self.data_dir.join("cloud-downloads"),
            http,
            board: board.clone(),
        });
        let task = tokio::spawn(supervise(context, stopping));
        *self.running.lock().await = Some(Running { stop, task, board });
        self.linked.store(true, Ordering::Relaxed);
        Ok(())
    }

    async fn stop_links(&self) {
        let running = self.running.lock().await.take();
        if let Some(running) = running {
            let _ = running.stop.send(true);
            if let Err(e) = running.task.await {
                tracing::error!(error = %e, "the cloud link task failed");
            }
        }
    }

    pub async fn shutdown(&self) {
        self.stop_links().await;
    }
}

/// Keeps one link task per printer present.
async fn supervise<C: super::api::Cloud, H: PrintHost>(
    context: Arc<LinkContext<C, H>>,
    mut stopping: watch::Receiver<bool>,
) {
    let mut links: Vec<(i64, watch::Sender<bool>, JoinHandle<()>)> = Vec::new();
    loop {
        let present: Vec<i64> = context.host.printers().iter().map(|p| p.id).collect();
        links.retain(|(id, _, task)| present.contains(id) && !task.is_finished());
        for id in present {
            if !links.iter().any(|(linked, _, _)| *linked == id) {
                let (stop, stopped) = watch::channel(false);
                let task = tokio::spawn(run_printer(context.clone(), id, stopped));
                links.push((id, stop, task));
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(SCAN_PERIOD) => {}
            _ = stopping.wait_for(|s| *s) => break,
        }
    }
    for (_, stop, _) in &links {
        let _ = stop.send(true);
    }
    for (_, _, task) in links {
        let _ = task.await;
    }
}
