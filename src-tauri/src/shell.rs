//! The tray itself: draws `tray-model`'s menu, performs its effects, and follows the
//! service's printers. See `tray_model`'s crate docs for the contract this implements.
//!
//! All menu and tray changes happen on the main thread: clicks arrive there, and printer
//! updates are forwarded there, so the `Ui` lock is never held while waiting for it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use tauri::image::Image;
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};
use tauri_plugin_dialog::{DialogExt, MessageDialogButtons, MessageDialogKind};
use tauri_plugin_notification::NotificationExt;
use tokio::sync::mpsc;
use tray_model::{
    diff, find_item, icon_state, menu_model, on_click, on_confirm, tooltip, Account, Effect,
    IconState, ItemId, ItemSpec, MenuDiff, Prompt, TrayState,
};

use crate::access::{AccessClient, Exposure};
use crate::alerts::{Alert, Alerts};
use crate::args::Args;
use crate::autostart::LoginItem;
use crate::backend::{Backend, Update};
use crate::cloud::{self, CloudClient};
use crate::local_api::{ApiError, LocalApi};
use crate::menu::{self, Drawn};
use crate::services::Reachable;
use crate::settings::Settings;
use crate::{open, printers, services};

const TRAY_ID: &str = "gantry";
/// Printer updates waiting for the main thread; the sender waits when it is full.
const UPDATE_QUEUE: usize = 64;

/// What is on screen, and the model it was drawn from.
struct Ui {
    state: TrayState,
    shown: Vec<ItemSpec>,
    drawn: Drawn<Wry>,
    icon: IconState,
    tooltip: String,
    alerts: Alerts,
    reachable: Reachable,
}

enum Service {
    Starting,
    Running(Backend),
    Quitting,
}

pub struct Shell {
    app: AppHandle,
    data_dir: PathBuf,
    login_item: Option<LoginItem>,
    ui: Mutex<Ui>,
    service: Mutex<Service>,
    dashboard: Mutex<Option<String>>,
    access: Mutex<Option<Arc<AccessClient>>>,
    cloud: Mutex<Option<Arc<CloudClient>>>,
}

/// A poisoned lock means a panic mid-update on the main thread; the data is still the last
/// state drawn, which is the best there is.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn icon_image(state: IconState) -> Option<Image<'static>> {
    let bytes: &[u8] = match state {
        IconState::Idle => include_bytes!("../../icons/tray-idle.png"),
        IconState::Printing => include_bytes!("../../icons/tray-printing.png"),
        IconState::Error => include_bytes!("../../icons/tray-error.png"),
    };
    match Image::from_bytes(bytes) {
        Ok(image) => Some(image.to_owned()),
        Err(e) => {
            tracing::error!(?state, error = %e, "bundled tray icon does not decode");
            None
        }
    }
}

/// Creates the tray and starts (or attaches to) the service. Runs in Tauri's `setup`.
pub fn setup(app: &tauri::App, args: Args) -> tauri::Result<()> {
    let handle = app.handle().clone();
    let data_dir = args.location.data_dir();
    let mut settings = Settings::load(&data_dir).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "using the default tray settings");
        Settings::default()
    });
    let login_item = LoginItem::for_current_exe()
        .inspect_err(|e| tracing::error!(error = %e, "Start at login is unavailable"))
        .ok();
    if let Some(item) = &login_item {
        first_run_start_at_login(item, &mut settings, &data_dir);
    }

    let mut state = TrayState::default();
    if let Some(item) = &login_item {
        match item.is_enabled() {
            Ok(enabled) => {
                state.apply_start_at_login(enabled);
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the login item"),
        }
    }
    let shown = services::visible(menu_model(&state), Reachable::default());
    let drawn = menu::build(&handle, &shown)?;
    let icon = icon_state(&state);
    let tip = tooltip(&state);
    let mut tray = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip(&tip)
        .menu(&drawn.menu)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| {
            if let Some(shell) = app.try_state::<Shell>() {
                shell.clicked(event.id().as_ref());
            }
        });
    if let Some(image) = icon_image(icon) {
        tray = tray.icon(image);
    }
    tray.build(app)?;

    app.manage(Shell {
        app: handle.clone(),
        data_dir,
        login_item,
        ui: Mutex::new(Ui {
            state,
            shown,
            drawn,
            icon,
            tooltip: tip,
            alerts: Alerts::default(),
            reachable: Reachable::default(),
        }),
        service: Mutex::new(Service::Starting),
        dashboard: Mutex::new(None),
        access: Mutex::new(None),
        cloud: Mutex::new(None),
    });

    let open_dashboard = settings.opens_dashboard(args.autostart);
    tauri::async_runtime::spawn(run_service(handle, args, open_dashboard));
    Ok(())
}

/// Start at login is on by default after install: the first run turns it on, once.
fn first_run_start_at_login(item: &LoginItem, settings: &mut Settings, data_dir: &std::path::Path) {
    if settings.start_at_login_initialized {
        return;
    }
    match item.set(true) {
        Ok(()) => {
            tracing::info!("first run: Start at login turned on");
            settings.start_at_login_initialized = true;
            if let Err(e) = settings.save(data_dir) {
                tracing::warn!(error = %e, "cannot save the tray settings");
            }
        }
        Err(e) => tracing::warn!(error = %e, "first run: cannot turn Start at login on"),
    }
}

/// Starts the service, then forwards its printer updates to the main thread until the app
/// exits.
async fn run_service(app: AppHandle, args: Args, open_dashboard: bool) {
    let (updates, mut received) = mpsc::channel(UPDATE_QUEUE);
    match Backend::start(&args.location, &args.serve, updates).await {
        Ok(backend) => {
            let url = backend.dashboard_url();
            tracing::info!(%url, in_process = backend.runs_here(), "Gantry is ready");
            let Some(shell) = app.try_state::<Shell>() else {
                return;
            };
            *lock(&shell.dashboard) = Some(url.clone());
            let api = LocalApi::new(backend.port(), backend.data_dir()).map(Arc::new);
            if api.is_none() {
                tracing::info!(
                    "the service's local token is not readable: no External access or cloud items"
                );
            }
            let access = api.clone().map(|api| Arc::new(AccessClient::new(api)));
            let cloud = api.map(|api| Arc::new(CloudClient::new(api)));
            *lock(&shell.access) = access.clone();
            *lock(&shell.cloud) = cloud.clone();
            let quit_meanwhile = {
                let mut service = lock(&shell.service);
                if matches!(*service, Service::Quitting) {
                    Some(backend)
                } else {
                    *service = Service::Running(backend);
                    None
                }
            };
            if let Some(backend) = quit_meanwhile {
                // Quit was clicked while the service was starting.
                stop_and_exit(app.clone(), Some(backend));
                return;
            }
            if open_dashboard {
                open::browser(url);
            }
            if let Some(access) = access {
                let outcome = access.exposure().await;
                on_main_thread(&app, move |shell| shell.access_reached(outcome));
            }
            if let Some(cloud) = cloud {
                tauri::async_runtime::spawn(follow_account(app.clone(), cloud));
            }
        }
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "Gantry cannot start");
            let quitting = app
                .try_state::<Shell>()
                .is_some_and(|shell| matches!(*lock(&shell.service), Service::Quitting));
            if quitting {
                app.exit(0);
                return;
            }
            let exit = app.clone();
            app.dialog()
                .message(format!("Gantry cannot start.\n\n{e:#}"))
                .title("Gantry")
                .kind(MessageDialogKind::Error)
                .show(move |_| exit.exit(1));
            return;
        }
    }
    while let Some(update) = received.recv().await {
        if !on_main_thread(&app, move |shell| shell.printers_changed(update)) {
            return; // the event loop is gone: the app is exiting
        }
    }
}

/// Keeps the account items in step with the service's cloud link, wherever it changes (this
/// menu, the dashboard, `gantry login`), until the app exits.
async fn follow_account(app: AppHandle, cloud: Arc<CloudClient>) {
    loop {
        let outcome = cloud.account().await;
        if !on_main_thread(&app, move |shell| shell.account_polled(outcome)) {
            return;
        }
        tokio::time::sleep(cloud::POLL_EVERY).await;
    }
}

/// Runs `f` on the main thread with the shell; false when the event loop is gone.
fn on_main_thread(app: &AppHandle, f: impl FnOnce(&Shell) + Send + 'static) -> bool {
    let handle = app.clone();
    app.run_on_main_thread(move || {
        if let Some(shell) = handle.try_state::<Shell>() {
            f(&shell);
        }
    })
    .is_ok()
}

/// Stops the service in order, then exits the app.
fn stop_and_exit(app: AppHandle, backend: Option<Backend>) {
    tauri::async_runtime::spawn(async move {
        if let Some(backend) = backend {
            backend.stop().await;
        }
        app.exit(0);
    });
}

impl Shell {
    /// A menu item was clicked (main thread).
    fn clicked(&self, id: &str) {
        let id = match ItemId::parse(id) {
            Ok(id) => id,
            Err(e) => {
                tracing::warn!(error = %e, "click on an unknown menu item");
                return;
            }
        };
        let effect = {
            let mut ui = lock(&self.ui);
            let effect = on_click(&mut ui.state, &id);
            // The toolkit already flipped the tick; show the confirmed value until the
            // service says otherwise.
            if let Some(checked) = find_item(&ui.shown, &id).and_then(ItemSpec::checked) {
                if let Err(e) = ui.drawn.set_checked(&id.to_string(), checked) {
                    tracing::warn!(item = %id, error = %e, "cannot reset the check mark");
                }
            }
            effect
        };
        if let Some(effect) = effect {
            self.perform(effect);
        }
    }

    fn perform(&self, effect: Effect) {
        tracing::info!(?effect, "tray");
        match effect {
            Effect::OpenDashboard => self.open_dashboard(),
            Effect::OpenPrinter(id) => match self.dashboard_url() {
                Some(url) => open::browser(open::printer_url(&url, &id)),
                None => tracing::warn!("the service is still starting; no dashboard yet"),
            },
            Effect::SetStartAtLogin(enabled) => self.set_start_at_login(enabled),
            Effect::SetExternalAccess(enabled) => self.set_external_access(enabled),
            Effect::OpenLogs => open::folder(self.data_dir.join("logs")),
            Effect::ConfirmQuit { message, .. } => self.confirm_quit(message),
            Effect::Quit => self.quit(),
            Effect::StartSso => match self.dashboard_url() {
                Some(url) => open::browser(cloud::login_page(&url)),
                None => tracing::warn!("the service is still starting; no dashboard yet"),
            },
            Effect::SetOffline(offline) => {
                self.change_account(move |cloud| async move { cloud.set_offline(offline).await })
            }
            Effect::SignOut => self.change_account(|cloud| async move { cloud.sign_out().await }),
            Effect::ConfirmSignOut { message, .. } => self.confirm_sign_out(message),
        }
    }

    fn dashboard_url(&self) -> Option<String> {
        lock(&self.dashboard).clone()
    }

    /// Opens the dashboard in the system browser: *Open dashboard*, and a second launch.
    pub fn open_dashboard(&self) {
        match self.dashboard_url() {
            Some(url) => open::browser(url),
            None => tracing::warn!("the service is still starting; no dashboard yet"),
        }
    }

    fn set_start_at_login(&self, enabled: bool) {
        let Some(item) = &self.login_item else {
            tracing::warn!("Start at login is unavailable on this system");
            return;
        };
        let outcome = item.set(enabled).and_then(|()| item.is_enabled());
        match outcome {
            Ok(now) => {
                tracing::info!(enabled = now, "Start at login changed");
                let mut ui = lock(&self.ui);
                ui.state.apply_start_at_login(now);
                self.redraw(&mut ui);
            }
            Err(e) => tracing::error!(error = %e, "cannot change Start at login"),
        }
    }

    fn set_external_access(&self, enabled: bool) {
        let Some(access) = lock(&self.access).clone() else {
            tracing::warn!("External access cannot be changed from the tray here");
            return;
        };
        let app = self.app.clone();
        tauri::async_runtime::spawn(async move {
            let outcome = access.set_external(enabled).await;
            on_main_thread(&app, move |shell| shell.exposure_changed(outcome));
        });
    }

    /// The access API answered for the first time: offer the item with its real state.
    fn access_reached(&self, outcome: Result<Exposure, ApiError>) {
        match outcome {
            Ok(exposure) => {
                let mut ui = lock(&self.ui);
                ui.reachable.access = true;
                ui.state
                    .apply_external_access(exposure.external, exposure.bind_address);
                self.redraw(&mut ui);
            }
            Err(e) => tracing::warn!(error = %e, "the access settings are unavailable"),
        }
    }

    fn exposure_changed(&self, outcome: Result<Exposure, ApiError>) {
        match outcome {
            Ok(exposure) => {
                tracing::info!(?exposure, "External access changed");
                let mut ui = lock(&self.ui);
                ui.state
                    .apply_external_access(exposure.external, exposure.bind_address);
                self.redraw(&mut ui);
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot change External access");
                self.notify(Alert {
                    title: "External access was not changed".into(),
                    body: e.to_string(),
                });
            }
        }
    }

    /// Asks the cloud API for a change of the link, then shows what the service reports.
    fn change_account<F, Fut>(&self, request: F)
    where
        F: FnOnce(Arc<CloudClient>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<Account, ApiError>> + Send,
    {
        let Some(cloud) = lock(&self.cloud).clone() else {
            tracing::warn!("the cloud link cannot be changed from the tray here");
            return;
        };
        let app = self.app.clone();
        tauri::async_runtime::spawn(async move {
            let outcome = request(cloud).await;
            on_main_thread(&app, move |shell| shell.account_changed(outcome));
        });
    }

    /// The periodic look at the link: the items appear once the API answers, and follow it.
    fn account_polled(&self, outcome: Result<Account, ApiError>) {
        let mut ui = lock(&self.ui);
        match outcome {
            Ok(account) => {
                let reached = !std::mem::replace(&mut ui.reachable.cloud, true);
                let changed = ui.state.apply_account(account.clone());
                if reached || changed {
                    tracing::info!(?account, "cloud link");
                    self.redraw(&mut ui);
                }
            }
            // Transient (the daemon restarting) or an old daemon without the API: the items
            // stay as they were, and the next look tries again.
            Err(e) => tracing::debug!(error = %e, "cannot read the cloud link"),
        }
    }

    fn account_changed(&self, outcome: Result<Account, ApiError>) {
        match outcome {
            Ok(account) => {
                tracing::info!(?account, "cloud link changed");
                let mut ui = lock(&self.ui);
                ui.state.apply_account(account);
                self.redraw(&mut ui);
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot change the cloud link");
                self.notify(Alert {
                    title: "The cloud account was not changed".into(),
                    body: e.to_string(),
                });
            }
        }
    }

    fn confirm_sign_out(&self, message: String) {
        let app = self.app.clone();
        self.app
            .dialog()
            .message(message)
            .title("Sign out of the cloud?")
            .kind(MessageDialogKind::Warning)
            .buttons(MessageDialogButtons::OkCancelCustom(
                "Sign out".into(),
                "Cancel".into(),
            ))
            .show(move |confirmed| {
                on_main_thread(&app, move |shell| shell.answer_sign_out(confirmed));
            });
    }

    fn answer_sign_out(&self, confirmed: bool) {
        let effect = on_confirm(&mut lock(&self.ui).state, Prompt::SignOut, confirmed);
        if let Some(effect) = effect {
            self.perform(effect);
        }
    }

    fn confirm_quit(&self, message: String) {
        let runs_here = matches!(&*lock(&self.service), Service::Running(b) if b.runs_here());
        if !runs_here {
            // The prints run in another process and go on after the tray quits.
            self.answer_quit(true);
            return;
        }
        let app = self.app.clone();
        self.app
            .dialog()
            .message(message)
            .title("Quit Gantry?")
            .kind(MessageDialogKind::Warning)
            .buttons(MessageDialogButtons::OkCancelCustom(
                "Quit".into(),
                "Cancel".into(),
            ))
            .show(move |confirmed| {
                on_main_thread(&app, move |shell| shell.answer_quit(confirmed));
            });
    }

    fn answer_quit(&self, confirmed: bool) {
        let effect = on_confirm(&mut lock(&self.ui).state, Prompt::Quit, confirmed);
        if let Some(effect) = effect {
            self.perform(effect);
        }
    }

    fn quit(&self) {
        let previous = std::mem::replace(&mut *lock(&self.service), Service::Quitting);
        match previous {
            Service::Running(backend) => stop_and_exit(self.app.clone(), Some(backend)),
            // `run_service` stops it as soon as it is up.
            Service::Starting => tracing::info!("quitting once the service has started"),
            Service::Quitting => {}
        }
    }

    /// New printer information from the service (main thread).
    fn printers_changed(&self, update: Update) {
        let mut ui = lock(&self.ui);
        let mut alerts = Vec::new();
        match update {
            Update::Snapshot(views) => {
                alerts.extend(views.iter().filter_map(|v| ui.alerts.observe(v)));
                let ids: Vec<i64> = views.iter().map(|v| v.id).collect();
                ui.alerts.retain(&ids);
                ui.state
                    .apply_printers(views.iter().map(printers::line).collect());
            }
            Update::Printer(view) => {
                alerts.extend(ui.alerts.observe(&view));
                ui.state.apply_printer(printers::line(&view));
            }
        }
        self.redraw(&mut ui);
        drop(ui);
        for alert in alerts {
            self.notify(alert);
        }
    }

    fn notify(&self, alert: Alert) {
        tracing::info!(title = %alert.title, body = %alert.body, "notification");
        let shown = self
            .app
            .notification()
            .builder()
            .title(&alert.title)
            .body(&alert.body)
            .show();
        if let Err(e) = shown {
            tracing::warn!(error = %e, "cannot show a notification");
        }
    }

    /// Brings the menu, icon and tooltip in line with the model (main thread).
    fn redraw(&self, ui: &mut Ui) {
        let fresh = services::visible(menu_model(&ui.state), ui.reachable);
        let Some(tray) = self.app.tray_by_id(TRAY_ID) else {
            tracing::error!("the tray icon is gone");
            return;
        };
        match diff(&ui.shown, &fresh) {
            MenuDiff::Unchanged => {}
            MenuDiff::Update(updates) => {
                if let Err(e) = ui.drawn.update(&updates) {
                    tracing::warn!(error = %e, "cannot update the tray menu");
                }
            }
            MenuDiff::Rebuild => match menu::build(&self.app, &fresh) {
                Ok(drawn) => {
                    if let Err(e) = tray.set_menu(Some(drawn.menu.clone())) {
                        tracing::warn!(error = %e, "cannot replace the tray menu");
                    }
                    ui.drawn = drawn;
                }
                Err(e) => tracing::warn!(error = %e, "cannot build the tray menu"),
            },
        }
        ui.shown = fresh;
        let icon = icon_state(&ui.state);
        if icon != ui.icon {
            if let Err(e) = tray.set_icon(icon_image(icon)) {
                tracing::warn!(error = %e, "cannot change the tray icon");
            }
            ui.icon = icon;
        }
        let tip = tooltip(&ui.state);
        if tip != ui.tooltip {
            if let Err(e) = tray.set_tooltip(Some(&tip)) {
                tracing::warn!(error = %e, "cannot change the tooltip");
            }
            ui.tooltip = tip;
        }
    }
}
