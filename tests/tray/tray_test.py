"""Headless end-to-end test of the Gantry tray app through its real tray menu.

Run inside Xvfb and a private session bus (see run.sh). It plays the desktop's part: a
StatusNotifierWatcher on the session bus that the app's tray icon registers with, then it
reads the icon's real menu over com.canonical.dbusmenu and clicks items the way a panel
does. It is also the desktop's notification server (org.freedesktop.Notifications), and
records every notification the app sends. The app runs the Gantry service in-process with
two simulated printers.

Environment: APP (the gantry-tray binary), GANTRY_BIN (optional, the gantry daemon, for the
attach test and the cloud sign-in), BROWSER (fake-browser.sh), SCREENSHOT (optional path for
a desktop screenshot with the dashboard opened in Chromium by *Open dashboard*),
TEST_CLOUD (optional, tests/cloud/server.mjs: the test cloud the account items sign in to).
"""
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.request

from dbus_next import PropertyAccess, Variant
from dbus_next.aio import MessageBus
from dbus_next.service import ServiceInterface, dbus_property, method, signal

WAIT = 90  # seconds: generous upper bounds for slow CI; every wait ends as soon as it can
RESULTS = {"passed": 0, "failed": 0, "skipped": 0}


def check(name, ok, detail=""):
    RESULTS["passed" if ok else "failed"] += 1
    print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f" -- {detail}" if detail and not ok else ""), flush=True)
    return ok


def skip(name, why):
    RESULTS["skipped"] += 1
    print(f"skip {name} -- {why}", flush=True)


class Notifications(ServiceInterface):
    """The desktop's notification server: records what it is asked to show."""

    def __init__(self):
        super().__init__("org.freedesktop.Notifications")
        self.shown = []

    @method()
    def GetCapabilities(self) -> "as":
        return ["body"]

    @method()
    def Notify(self, app_name: "s", replaces_id: "u", app_icon: "s", summary: "s", body: "s",
               actions: "as", hints: "a{sv}", expire_timeout: "i") -> "u":
        self.shown.append({"app": app_name, "summary": summary, "body": body})
        print(f"     notification: {summary!r} / {body!r}", flush=True)
        return len(self.shown)

    @method()
    def CloseNotification(self, id: "u"):
        pass

    @method()
    def GetServerInformation(self) -> "ssss":
        return ["gantry-tray-test", "Gantry", "1.0", "1.2"]

    @signal()
    def NotificationClosed(self, id, reason) -> "uu":
        return [id, reason]

    @signal()
    def ActionInvoked(self, id, key) -> "us":
        return [id, key]


class Watcher(ServiceInterface):
    """The part of a desktop panel that tray icons register with."""

    def __init__(self):
        super().__init__("org.kde.StatusNotifierWatcher")
        self.items = []

    @method()
    def RegisterStatusNotifierItem(self, service: "s"):
        self.items.append(service)

    @method()
    def RegisterStatusNotifierHost(self, service: "s"):
        pass

    @dbus_property(access=PropertyAccess.READ)
    def RegisteredStatusNotifierItems(self) -> "as":
        return self.items

    @dbus_property(access=PropertyAccess.READ)
    def IsStatusNotifierHostRegistered(self) -> "b":
        return True

    @dbus_property(access=PropertyAccess.READ)
    def ProtocolVersion(self) -> "i":
        return 0

    @signal()
    def StatusNotifierItemRegistered(self, s) -> "s":
        return s

    @signal()
    def StatusNotifierHostRegistered(self):
        return None


async def wait_for(what, probe, timeout=WAIT, every=0.2):
    """Polls `probe` (sync or async) until it returns something truthy; None on timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = probe()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            print(f"     (gave up waiting for {what})", flush=True)
            return None
        await asyncio.sleep(every)


def flatten(layout, out):
    item_id, props, children = layout
    out.append((item_id, {k: v.value for k, v in props.items()}))
    for child in children:
        flatten(child.value, out)
    return out


class TrayMenu:
    def __init__(self, menu):
        self.menu = menu

    async def items(self):
        _, layout = await self.menu.call_get_layout(0, -1, [])
        return [
            {
                "id": i,
                "label": p.get("label", ""),
                "type": p.get("type", "standard"),
                "toggle": p.get("toggle-state") if p.get("toggle-type") == "checkmark" else None,
                "enabled": p.get("enabled", True),
                "visible": p.get("visible", True),
            }
            for i, p in flatten(layout, [])
            if i != 0
        ]

    async def find(self, label):
        return next((i for i in await self.items() if i["label"] == label and i["visible"]), None)

    async def find_prefix(self, prefix):
        return next((i for i in await self.items() if i["label"].startswith(prefix) and i["visible"]), None)

    async def click(self, label):
        item = await self.find(label) or await self.find_prefix(label)
        if item is None:
            raise AssertionError(f"no menu item {label!r}")
        await self.menu.call_event(item["id"], "clicked", Variant("s", ""), 0)


class Desktop:
    """The session bus side: the watcher, and the tray items that registered."""

    async def start(self):
        self.bus = await MessageBus().connect()
        self.watcher = Watcher()
        self.bus.export("/StatusNotifierWatcher", self.watcher)
        await self.bus.request_name("org.kde.StatusNotifierWatcher")
        self.notifications = Notifications()
        self.bus.export("/org/freedesktop/Notifications", self.notifications)
        await self.bus.request_name("org.freedesktop.Notifications")
        self.registrations = []

        def on_message(msg):
            if msg.member == "RegisterStatusNotifierItem" and msg.body:
                self.registrations.append((msg.sender, msg.body[0]))
            return None

        self.bus.add_message_handler(on_message)

    def mark(self):
        """Call before launching an app; pass the result to `tray` to get that app's item."""
        return len(self.registrations)

    async def tray(self, since):
        """The tray menu of the newest item registered after `since` whose owner is still on
        the bus (a second instance that handed over and exited may have registered too)."""
        async def live_item():
            for name, path in reversed(self.registrations[since:]):
                if not path.startswith("/"):
                    name, path = path, "/StatusNotifierItem"
                try:
                    intro = await self.bus.introspect(name, path)
                except Exception:  # the owner left the bus
                    continue
                return name, path, intro
            return None
        found = await wait_for("a tray item to register", live_item)
        if found is None:
            return None
        name, path, intro = found
        item = self.bus.get_proxy_object(name, path, intro).get_interface("org.kde.StatusNotifierItem")
        menu_path = await item.get_menu()
        mintro = await self.bus.introspect(name, menu_path)
        menu = self.bus.get_proxy_object(name, menu_path, mintro).get_interface("com.canonical.dbusmenu")
        return TrayMenu(menu)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/status", timeout=2) as r:
            return json.load(r)
    except OSError:
        return None


def listening(port, data):
    """Where the service listens, from its access API (as the owner, with its local token)."""
    token = open(os.path.join(data, "local.token")).read().strip()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/access/settings",
                                     headers={"X-Gantry-Token": token})
    with urllib.request.urlopen(request, timeout=5) as r:
        return json.load(r)["listening"]


class Api:
    """The service's JSON API as the owner (with its local token), as the dashboard uses it."""

    def __init__(self, port, data):
        self.base = f"http://127.0.0.1:{port}"
        self.token = open(os.path.join(data, "local.token")).read().strip()

    def call(self, method, path, body=None, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"X-Gantry-Token": self.token}
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=10) as r:
            text = r.read()
            return json.loads(text) if text else None

    def cloud(self):
        return self.call("GET", "/api/v1/cloud")

    def printers(self):
        return self.call("GET", "/api/v1/printers")

    def upload(self, name, text):
        return self.call("POST", f"/api/v1/files?name={name}", raw=text.encode())["id"]

    def print_file(self, printer, file_id):
        return self.call("POST", f"/api/v1/printers/{printer}/job", {"file_id": file_id})["id"]

    def job(self, job_id):
        return self.call("GET", f"/api/v1/jobs/{job_id}")


def gcode(moves):
    """A print for the simulator: home, then `moves` short moves (each ~20 ms of planner time)."""
    lines = ["; a test print", "G28", "G90"]
    lines += [f"G1 X{10 + i % 50} Y{10 + (i // 50) % 50} F6000" for i in range(moves)]
    lines.append("M400")
    return "\n".join(lines) + "\n"


def finished_notifications(desktop, file_name):
    return [n for n in desktop.notifications.shown
            if n["summary"].endswith("finished printing") and file_name in n["body"]]


def is_wildcard(address):
    return address.startswith(("0.0.0.0:", "[::]:"))


def browser_lines(log):
    try:
        with open(log) as f:
            return [line.strip() for line in f if line.strip()]
    except FileNotFoundError:
        return []


async def launch(app, *args, log):
    return await asyncio.create_subprocess_exec(
        app, *args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )


async def exited(proc, timeout=WAIT):
    try:
        return await asyncio.wait_for(proc.wait(), timeout)
    except asyncio.TimeoutError:
        return None


async def screenshot(path):
    """The desktop as it is now, once Chromium has drawn the dashboard."""
    def chromium_window():
        tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True).stdout
        return "Gantry" in tree
    if not check("Chromium shows the dashboard opened from the tray", await wait_for("the Chromium window", chromium_window)):
        return
    await asyncio.sleep(4)  # let the page's WebSocket fill in the printers; not an assertion
    subprocess.run(["import", "-window", "root", path], check=True)
    colours = subprocess.run(["/usr/bin/convert", path, "-format", "%k", "info:"], capture_output=True, text=True).stdout
    check("screenshot is a real picture", colours.strip().isdigit() and int(colours) > 50, f"colours={colours}")
    print(f"     screenshot: {path}", flush=True)


async def in_process_suite(desktop, app, work):
    port = free_port()
    data = os.path.join(work, "data")
    browser_log = os.environ["BROWSER_LOG"]
    autostart = os.path.join(os.environ["HOME"], ".config", "autostart", "gantry-tray.desktop")
    args = ["--port", str(port), "--data-dir", data, "--simulate", "2"]
    app_log = open(os.path.join(work, "app.log"), "w")
    since = desktop.mark()
    proc = await launch(app, *args, log=app_log)

    tray = await desktop.tray(since)
    if not check("tray icon registers with the desktop", tray is not None):
        proc.kill()
        return

    check("launch opens the dashboard in the browser",
          await wait_for("the launch's browser call", lambda: f"http://localhost:{port}/" in browser_lines(browser_log)))
    check("the service answers on the tray's port", await wait_for("the service", lambda: status(port)))

    async def printer_lines():
        items = await tray.items()
        lines = [i["label"] for i in items if " — " in i["label"]]
        return lines if len(lines) == 2 and all(l.endswith(" — Ready") for l in lines) else None
    lines = await wait_for("two ready printers in the menu", printer_lines)
    check("menu lists the two simulated printers as ready", lines is not None, str(await tray.items()))
    if lines:
        print(f"     printer lines: {lines}", flush=True)

    # External access and the account items are offered once the service's APIs answered.
    external = await wait_for("the External access item", lambda: tray.find_prefix("External access"))
    await wait_for("the Offline mode item", lambda: tray.find("Offline mode"))
    labels = [i["label"] for i in await tray.items() if i["type"] != "separator"]
    print(f"     menu: {labels}", flush=True)
    want = ["Open dashboard", "External access", "Sign in with SSO…", "Offline mode", "Start at login",
            "Open logs folder", "Quit"]
    check("menu has every item in order", [l for l in labels if l in want] == want, str(labels))

    check("External access is offered and off", external and external["toggle"] == 0, str(external))
    check("the service listens on loopback only", not any(map(is_wildcard, listening(port, data))))
    await tray.click("External access")

    async def external_on():
        item = await tray.find_prefix("External access (")
        return item if item and item["toggle"] == 1 else None
    item = await wait_for("External access to turn on", external_on)
    now = listening(port, data)
    check("clicking External access rebinds to every interface and ticks it",
          item is not None and any(map(is_wildcard, now)), f"item={item} listening={now}")
    if item:
        print(f"     {item['label']!r}, listening on {now}", flush=True)
    check("the dashboard still answers after the rebind", status(port) is not None)
    await tray.click("External access")

    async def external_off():
        item = await tray.find("External access")
        return item if item and item["toggle"] == 0 else None
    item = await wait_for("External access to turn off", external_off)
    now = listening(port, data)
    check("clicking it again rebinds to loopback only and clears the tick",
          item is not None and not any(map(is_wildcard, now)), f"item={item} listening={now}")

    # Start at login: on after the first run; the tick follows the autostart entry.
    item = await tray.find("Start at login")
    check("first run turned Start at login on", os.path.exists(autostart) and item and item["toggle"] == 1,
          f"file={os.path.exists(autostart)} item={item}")
    if os.path.exists(autostart):
        text = open(autostart).read()
        check("login item starts the tray quietly (--autostart)", "--autostart" in text and "Exec=" in text, text)
    await tray.click("Start at login")
    gone = await wait_for("the autostart entry to go", lambda: not os.path.exists(autostart))
    item = await tray.find("Start at login")
    check("clicking Start at login removes the entry and clears the tick", gone and item["toggle"] == 0, str(item))
    await tray.click("Start at login")
    back = await wait_for("the autostart entry to come back", lambda: os.path.exists(autostart))
    item = await wait_for("the tick", lambda: tray.find("Start at login"))
    check("clicking it again writes the entry and sets the tick", back and item["toggle"] == 1, str(item))

    api = Api(port, data)
    await account_items(tray, api, port, data, browser_log)
    await print_notifications(desktop, api)

    # Single instance: a second launch hands over and the first opens the dashboard again.
    before = len(browser_lines(browser_log))
    second = await launch(app, *args, log=app_log)
    code = await exited(second, 30)
    check("a second launch exits at once", code == 0, f"exit={code}")
    check("a second launch makes the first open the dashboard again",
          await wait_for("the hand-over's browser call", lambda: len(browser_lines(browser_log)) > before))

    # Open dashboard, with Chromium as the browser when a screenshot is wanted.
    shot = os.environ.get("SCREENSHOT")
    if shot:
        open(browser_log + ".chromium", "w").close()  # fake-browser.sh: show this one in Chromium
    before = len(browser_lines(browser_log))
    await tray.click("Open dashboard")
    opened = await wait_for("Open dashboard's browser call", lambda: len(browser_lines(browser_log)) > before)
    check("Open dashboard opens the dashboard URL", opened and browser_lines(browser_log)[-1] == f"http://localhost:{port}/",
          str(browser_lines(browser_log)))
    if shot:
        await screenshot(shot)

    await tray.click("Quit")
    code = await exited(proc)
    check("Quit exits the app cleanly", code == 0, f"exit={code}")
    check("Quit stops the in-process service", status(port) is None)
    check("the service removed its runtime file", not os.path.exists(os.path.join(data, "daemon.json")))


async def account_items(tray, api, port, data, browser_log):
    """Sign in with SSO…, Offline mode, and (with the test cloud) Signed in as … / Sign out."""
    mode = api.cloud()["mode"]
    sso = await tray.find("Sign in with SSO…")
    offline = await tray.find("Offline mode")
    check("not linked: Sign in with SSO… is offered and Offline mode is off",
          mode == "unlinked" and sso and sso["enabled"] and offline and offline["toggle"] == 0,
          f"mode={mode} sso={sso} offline={offline}")

    before = len(browser_lines(browser_log))
    await tray.click("Sign in with SSO…")
    opened = await wait_for("the sign-in page's browser call", lambda: len(browser_lines(browser_log)) > before)
    check("Sign in with SSO… opens the dashboard's cloud login page",
          opened and browser_lines(browser_log)[-1] == f"http://localhost:{port}/cloud.html",
          str(browser_lines(browser_log)[-1:]))

    await tray.click("Offline mode")

    async def offline_is(tick):
        item = await tray.find("Offline mode")
        return item if item and item["toggle"] == tick else None
    item = await wait_for("Offline mode to turn on", lambda: offline_is(1))
    mode = api.cloud()["mode"]
    sso = await tray.find("Sign in with SSO…")
    check("clicking Offline mode puts the service offline and ticks it",
          item is not None and mode == "offline", f"item={item} mode={mode}")
    check("offline: Sign in with SSO… is greyed out", sso is not None and not sso["enabled"], str(sso))
    await tray.click("Offline mode")
    item = await wait_for("Offline mode to turn off", lambda: offline_is(0))
    mode = api.cloud()["mode"]
    check("clicking it again leaves offline mode and clears the tick",
          item is not None and mode == "unlinked", f"item={item} mode={mode}")

    await signed_in_items(tray, api, port, data)


def start_test_cloud():
    """The StreamerAPI test cloud and OpenID provider (tests/cloud/server.mjs); None without it."""
    script = os.environ.get("TEST_CLOUD")
    if not script or not os.path.exists(script) or not shutil.which("node"):
        return None, "TEST_CLOUD (crates/gantry/tests/cloud/server.mjs) and node are needed"
    # It runs until its standard input closes.
    proc = subprocess.Popen(["node", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    try:
        return (proc, json.loads(line)), None
    except ValueError:
        proc.kill()
        return None, f"the test cloud did not start: {line!r}"


def dialog_windows(title):
    found = subprocess.run(["xdotool", "search", "--name", title], capture_output=True, text=True)
    return found.stdout.split()


async def answer_dialog(title, key):
    """Presses `key` in the dialog called `title`, as a person would; False if none shows."""
    windows = await wait_for(f"the dialog {title!r}", lambda: dialog_windows(title), timeout=20)
    if not windows:
        return False
    window = windows[-1]
    subprocess.run(["xdotool", "windowfocus", "--sync", window], capture_output=True)
    subprocess.run(["xdotool", "key", "--window", window, key], capture_output=True)
    return await wait_for(f"the dialog {title!r} to close", lambda: not dialog_windows(title), timeout=20)


async def signed_in_items(tray, api, port, data):
    daemon_bin = os.environ.get("GANTRY_BIN")
    if not (daemon_bin and os.access(daemon_bin, os.X_OK)):
        skip("Signed in as … and Sign out", "GANTRY_BIN is not set to a built gantry binary")
        return
    started, why = start_test_cloud()
    if started is None:
        skip("Signed in as … and Sign out", why)
        return
    cloud_proc, cloud = started
    try:
        email, password = "ada@example.test", "correct horse 42"
        # `gantry login` against the tray's own service, the password on standard input.
        login = subprocess.run(
            [daemon_bin, "--port", str(port), "--data-dir", data, "login", "--email", email,
             "--cloud-url", cloud["cloud"]],
            input=password + "\n", capture_output=True, text=True, timeout=60)
        if not check("gantry login links the tray's service to the test cloud",
                     login.returncode == 0 and api.cloud()["mode"] == "linked", login.stdout + login.stderr):
            return
        item = await wait_for("Signed in as … in the menu", lambda: tray.find(f"Signed in as {email}"))
        sign_out = await tray.find("Sign out")
        if not check("the menu shows Signed in as <email>, greyed, and Sign out",
                     item is not None and not item["enabled"] and sign_out is not None and sign_out["enabled"],
                     f"item={item} sign_out={sign_out} menu={[i['label'] for i in await tray.items()]}"):
            return
        check("signed in: Sign in with SSO… is not offered", await tray.find("Sign in with SSO…") is None)

        # While a printer prints, Sign out asks first and says prints continue.
        printer = api.printers()[0]["id"]
        job = api.print_file(printer, api.upload("long-print.gcode", gcode(6000)))
        printing = await wait_for("the long print to start",
                                  lambda: api.job(job)["state"] == "printing")
        await wait_for("the tray to see the print", lambda: tray.find_prefix(f"{api.printers()[0]['name']} — Printing"))
        await tray.click("Sign out")
        asked = await wait_for("the sign-out question", lambda: dialog_windows("Sign out of the cloud?"), timeout=20)
        check("Sign out while printing asks first", printing and bool(asked))
        check("the question alone signs nothing out", api.cloud()["mode"] == "linked")
        closed = await answer_dialog("Sign out of the cloud?", "Escape")
        await asyncio.sleep(1)
        check("declining keeps the account linked", closed and api.cloud()["mode"] == "linked",
              f"closed={closed} mode={api.cloud()['mode']}")

        await tray.click("Sign out")
        closed = await answer_dialog("Sign out of the cloud?", "Return")
        unlinked = await wait_for("the sign-out", lambda: api.cloud()["mode"] == "unlinked", timeout=20)
        state = api.job(job)["state"]
        check("confirming signs out (forced) and the print carries on",
              closed and unlinked and state == "printing", f"closed={closed} job={state}")
        item = await wait_for("Sign in with SSO… to come back", lambda: tray.find("Sign in with SSO…"))
        check("signed out: the menu offers Sign in with SSO… again", item is not None and item["enabled"])
        api.call("POST", f"/api/v1/printers/{printer}/job/cancel")
        await wait_for("the long print to be cancelled", lambda: api.job(job)["state"] == "cancelled")
    finally:
        cloud_proc.stdin.close()
        try:
            cloud_proc.wait(10)
        except subprocess.TimeoutExpired:
            cloud_proc.kill()
            cloud_proc.wait()


async def print_notifications(desktop, api):
    """A print that finishes on a simulated printer is told once, on the desktop."""
    printers = api.printers()
    printer = printers[-1]
    file_id = api.upload("tray-notify.gcode", gcode(40))
    job = api.print_file(printer["id"], file_id)
    done = await wait_for("the print to finish", lambda: api.job(job)["state"] == "finished")
    check("a short print finishes on a simulated printer", bool(done), str(api.job(job)))
    shown = await wait_for("the notification", lambda: finished_notifications(desktop, "tray-notify.gcode"))
    check("the desktop shows one notification that the print finished",
          shown and shown[0]["summary"] == f"{printer['name']} finished printing"
          and shown[0]["body"] == "tray-notify.gcode is done.", str(desktop.notifications.shown))
    view = next(p for p in api.printers() if p["id"] == printer["id"])
    last = view.get("last_job") or {}
    check("the printer's view reports its last job", last.get("id") == job and last.get("result") == "finished",
          str(last))
    await asyncio.sleep(3)  # later updates of the same printer must not repeat it
    check("it is told once", len(finished_notifications(desktop, "tray-notify.gcode")) == 1,
          str(desktop.notifications.shown))


async def attach_suite(desktop, app, work, daemon_bin):
    port = free_port()
    log = open(os.path.join(work, "daemon.log"), "w")
    daemon = await asyncio.create_subprocess_exec(
        daemon_bin, "--port", str(port), "--data-dir", os.path.join(work, "daemon-data"), "serve", "--simulate", "2",
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        if not check("a gantry serve daemon starts", await wait_for("the daemon", lambda: status(port))):
            return
        api = Api(port, os.path.join(work, "daemon-data"))

        async def ready_printer():
            ready = [p for p in api.printers() if p["state"] == "ready"]
            return ready[0] if ready else None
        printer = await wait_for("a ready printer on the daemon", ready_printer)
        # A print that ends before the tray starts is history, not news.
        early = api.print_file(printer["id"], api.upload("before-tray.gcode", gcode(20)))
        check("a print finishes on the daemon before the tray starts",
              await wait_for("the early print", lambda: api.job(early)["state"] == "finished"))
        app_log = open(os.path.join(work, "app-attached.log"), "w")
        since = desktop.mark()
        proc = await launch(app, "--port", str(port), "--data-dir", os.path.join(work, "tray-data"), log=app_log)
        tray = await desktop.tray(since)
        if not check("the attached tray registers its icon", tray is not None):
            proc.kill()
            return

        async def ready_lines():
            lines = [i["label"] for i in await tray.items() if i["label"].endswith(" — Ready")]
            return lines if len(lines) == 2 else None
        check("the attached tray lists the daemon's two printers", await wait_for("the daemon's printers", ready_lines))
        late = api.print_file(printer["id"], api.upload("attached.gcode", gcode(20)))
        shown = await wait_for("the attached tray's notification", lambda: finished_notifications(desktop, "attached.gcode"))
        check("the attached tray tells a print that finishes while it runs", bool(shown), str(desktop.notifications.shown))
        await asyncio.sleep(2)
        check("but not the one that had ended before it started",
              not finished_notifications(desktop, "before-tray.gcode")
              and len(finished_notifications(desktop, "attached.gcode")) == 1,
              str(desktop.notifications.shown))
        check("the journal agrees", api.job(late)["state"] == "finished")
        daemon_pid = status(port)["pid"]
        await tray.click("Quit")
        code = await exited(proc)
        check("Quit exits the attached tray", code == 0, f"exit={code}")
        after = status(port)
        check("the daemon keeps running after the attached tray quits", after is not None and after["pid"] == daemon_pid)
    finally:
        daemon.terminate()
        await exited(daemon, 30)


async def main():
    app = os.environ["APP"]
    work = tempfile.mkdtemp(prefix="gantry-tray-test-")
    os.environ["HOME"] = os.path.join(work, "home")  # the autostart entry goes to $HOME/.config
    os.makedirs(os.environ["HOME"])
    os.environ["BROWSER_LOG"] = os.path.join(work, "browser.log")
    desktop = Desktop()
    await desktop.start()
    try:
        await in_process_suite(desktop, app, work)
        daemon_bin = os.environ.get("GANTRY_BIN")
        if daemon_bin and os.access(daemon_bin, os.X_OK):
            await attach_suite(desktop, app, work, daemon_bin)
        else:
            skip("attach to a running daemon", "GANTRY_BIN is not set to a built gantry binary")
    finally:
        for pid_line in browser_lines(os.environ["BROWSER_LOG"] + ".pids"):
            try:
                os.killpg(int(pid_line), 15)
            except (OSError, ValueError):
                pass
    if RESULTS["failed"]:
        for name in ("app.log", "app-attached.log", "daemon.log"):
            path = os.path.join(work, name)
            if os.path.exists(path):
                print(f"----- {name} (last 40 lines)")
                print("".join(open(path).readlines()[-40:]))
    else:
        shutil.rmtree(work, ignore_errors=True)
    line = f"tray: {RESULTS['passed']} passed, {RESULTS['failed']} failed"
    if RESULTS["skipped"]:
        line += f", {RESULTS['skipped']} skipped"
    print(line, flush=True)
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
