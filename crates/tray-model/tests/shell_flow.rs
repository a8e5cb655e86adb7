//! Drives the model the way the Tauri shell will, through the public API only: a fake
//! toolkit menu that ticks check items on its own, and a fake service that confirms or
//! refuses requests. Checks that what is on screen always matches the model.

use tray_model::{
    diff, find_item, icon_state, menu_model, on_click, on_confirm, Account, Effect, IconState,
    ItemId, ItemKind, ItemSpec, MenuDiff, PrinterLine, PrinterState, Prompt, TrayState,
};

/// One toolkit item as drawn.
#[derive(Debug, Clone, PartialEq)]
struct Drawn {
    id: String,
    label: String,
    checked: Option<bool>,
    enabled: bool,
}

impl Drawn {
    fn of(spec: &ItemSpec) -> Self {
        Drawn {
            id: spec.id.to_string(),
            label: spec.label.clone(),
            checked: spec.checked(),
            enabled: spec.enabled,
        }
    }
}

/// What a toolkit holds: items keyed by their string id.
#[derive(Debug, Default)]
struct FakeMenu {
    items: Vec<Drawn>,
    rebuilds: usize,
}

impl FakeMenu {
    fn build(&mut self, menu: &[ItemSpec]) {
        self.items = menu.iter().map(Drawn::of).collect();
        self.rebuilds += 1;
    }

    fn item(&mut self, id: &str) -> &mut Drawn {
        self.items
            .iter_mut()
            .find(|i| i.id == id)
            .unwrap_or_else(|| panic!("no item {id}"))
    }

    /// A toolkit toggles its own check item before telling the app about the click.
    fn user_clicks(&mut self, id: &str) -> String {
        let item = self.item(id);
        if let Some(on) = item.checked.as_mut() {
            *on = !*on;
        }
        id.to_owned()
    }

    fn matches(&self, menu: &[ItemSpec]) -> bool {
        self.items
            .iter()
            .eq(menu.iter().map(Drawn::of).collect::<Vec<_>>().iter())
    }
}

/// The shell: keeps the rendered menu and the state, applies diffs.
struct Shell {
    state: TrayState,
    shown: Vec<ItemSpec>,
    screen: FakeMenu,
}

impl Shell {
    fn new(state: TrayState) -> Self {
        let shown = menu_model(&state);
        let mut screen = FakeMenu::default();
        screen.build(&shown);
        Shell {
            state,
            shown,
            screen,
        }
    }

    fn click(&mut self, raw_id: &str) -> Option<Effect> {
        let id = ItemId::parse(raw_id).expect("toolkit hands back ids we gave it");
        let effect = on_click(&mut self.state, &id);
        // Undo the toolkit's own tick: only a confirmation may move it.
        if let Some(confirmed) = find_item(&self.shown, &id).and_then(ItemSpec::checked) {
            self.screen.item(raw_id).checked = Some(confirmed);
        }
        effect
    }

    /// After any `apply_*`: bring the screen up to date with as little churn as possible.
    fn refresh(&mut self) {
        let next = menu_model(&self.state);
        match diff(&self.shown, &next) {
            MenuDiff::Unchanged => {}
            MenuDiff::Update(updates) => {
                for u in updates {
                    let item = self.screen.item(&u.id.to_string());
                    if let Some(label) = u.label {
                        item.label = label;
                    }
                    if let Some(checked) = u.checked {
                        item.checked = Some(checked);
                    }
                    if let Some(enabled) = u.enabled {
                        item.enabled = enabled;
                    }
                }
            }
            MenuDiff::Rebuild => self.screen.build(&next),
        }
        self.shown = next;
        assert!(
            self.screen.matches(&self.shown),
            "screen drifted from model"
        );
    }
}

#[test]
fn refused_request_leaves_the_tick_where_it_was() {
    let mut shell = Shell::new(TrayState::default());
    let id = shell.screen.user_clicks("external_access");
    assert_eq!(shell.click(&id), Some(Effect::SetExternalAccess(true)));
    // The service could not bind (port in use): no apply_* call.
    shell.refresh();
    assert_eq!(shell.screen.item("external_access").checked, Some(false));
    assert_eq!(shell.screen.rebuilds, 1);
}

#[test]
fn confirmed_request_moves_the_tick_in_place() {
    let mut shell = Shell::new(TrayState::default());
    let id = shell.screen.user_clicks("external_access");
    assert_eq!(shell.click(&id), Some(Effect::SetExternalAccess(true)));
    assert_eq!(
        shell.screen.item("external_access").checked,
        Some(false),
        "not before the service confirms"
    );
    assert!(shell
        .state
        .apply_external_access(true, Some("0.0.0.0:8008".into())));
    shell.refresh();
    assert_eq!(
        shell.screen.item("external_access").clone(),
        Drawn {
            id: "external_access".into(),
            label: "External access (0.0.0.0:8008)".into(),
            checked: Some(true),
            enabled: true,
        }
    );
    assert_eq!(shell.screen.rebuilds, 1, "updated in place");
}

#[test]
fn a_print_session_from_start_to_quit() {
    let mut shell = Shell::new(TrayState::default());
    assert_eq!(icon_state(&shell.state), IconState::Idle);

    // A printer appears: new item, so a rebuild.
    shell
        .state
        .apply_printer(PrinterLine::new("p1", "Prusa MK4", PrinterState::Ready));
    shell.refresh();
    assert_eq!(shell.screen.rebuilds, 2);
    assert_eq!(
        shell.click("printer:p1"),
        Some(Effect::OpenPrinter("p1".into()))
    );

    // Printing: progress ticks update the line in place.
    for pct in [0.0, 0.5, 1.0, 42.0, 99.9] {
        shell.state.apply_printer(
            PrinterLine::new("p1", "Prusa MK4", PrinterState::Printing).with_progress(pct),
        );
        shell.refresh();
    }
    assert_eq!(shell.screen.rebuilds, 2);
    assert_eq!(
        shell.screen.item("printer:p1").label,
        "Prusa MK4 — Printing 99 %"
    );
    assert_eq!(icon_state(&shell.state), IconState::Printing);

    // Quit asks; declining keeps running; confirming quits.
    let Some(Effect::ConfirmQuit { printing, message }) = shell.click("quit") else {
        panic!("quit while printing must ask first");
    };
    assert_eq!(printing, ["Prusa MK4"]);
    assert!(message.contains("Printing stops when Gantry quits"));
    assert_eq!(on_confirm(&mut shell.state, Prompt::Quit, false), None);
    assert!(matches!(
        shell.click("quit"),
        Some(Effect::ConfirmQuit { .. })
    ));
    assert_eq!(
        on_confirm(&mut shell.state, Prompt::Quit, true),
        Some(Effect::Quit)
    );
}

#[test]
fn account_lifecycle() {
    let mut state = TrayState::default();
    state.apply_printers(vec![PrinterLine::new(
        "p1",
        "Prusa MK4",
        PrinterState::Paused,
    )
    .with_progress(10.0)]);
    let mut shell = Shell::new(state);

    assert_eq!(shell.click("sign_in_sso"), Some(Effect::StartSso));
    shell.state.apply_account(Account::SignedIn {
        email: "alice@example.com".into(),
    });
    shell.refresh();
    assert_eq!(
        find_item(&shell.shown, &ItemId::Account).map(|i| (i.label.as_str(), i.kind)),
        Some(("Signed in as alice@example.com", ItemKind::Label))
    );

    // Paused still counts as a print in progress.
    let Some(Effect::ConfirmSignOut { message, .. }) = shell.click("sign_out") else {
        panic!("sign out while a job is active must ask first");
    };
    assert!(message.contains("Prints continue locally"));
    assert_eq!(
        on_confirm(&mut shell.state, Prompt::SignOut, true),
        Some(Effect::SignOut)
    );
    shell.state.apply_account(Account::SignedOut);
    shell.refresh();

    // Offline mode: request, confirm, SSO becomes disabled in place.
    let id = shell.screen.user_clicks("offline_mode");
    assert_eq!(shell.click(&id), Some(Effect::SetOffline(true)));
    let rebuilds = shell.screen.rebuilds;
    shell.state.apply_account(Account::Offline);
    shell.refresh();
    assert_eq!(shell.screen.rebuilds, rebuilds);
    assert!(!shell.screen.item("sign_in_sso").enabled);
    assert_eq!(shell.click("sign_in_sso"), None);
}
