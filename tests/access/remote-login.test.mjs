// The Remote Access Authentication screen in headless Chromium, run inside a network namespace
// so the daemon sees a visitor from another machine. A real OS account (useradd/chpasswd) signs
// in through PAM with the service file Gantry ships. Needs root; skips with the reason otherwise.
// Saves docs/remote-login.png.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { launchBrowser } from "../e2e/lib/browser.mjs";
import { startDaemon } from "../e2e/lib/daemon.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const tag = `${process.pid % 100000}`;
const ns = `gantry-e2e${tag}`;
const hostIf = `geh${tag}`;
const peerIf = `gev${tag}`;
// A /30 from 10.231.0.0/16, on a pair made here and nowhere else.
const third = 200 + (process.pid % 50);
const hostIp = `10.231.${third}.1`;
const visitorIp = `10.231.${third}.2`;
const user = `gte${tag}`;
const password = `Browser-${tag}-pw`;
const pamService = `gantry-e2e-${tag}`;

function ip(...args) {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function why() {
  if (process.getuid?.() !== 0) return "not root: network namespaces, useradd and PAM need root";
  if (spawnSync("ip", ["-V"]).status !== 0) return "`ip` (iproute2) is not installed";
  return null;
}

test("a visitor from another machine signs in with an OS account", async (t) => {
  const reason = why();
  if (reason) {
    console.log(`# skipping: ${reason}`);
    t.skip(reason);
    return;
  }
  const cleanup = [];
  const work = mkdtempSync(join(tmpdir(), "gantry-access-"));
  cleanup.push(() => rmSync(work, { recursive: true, force: true }));
  let daemon;
  let browser;
  try {
    ip("netns", "add", ns);
    cleanup.push(() => spawnSync("ip", ["netns", "del", ns]));
    ip("link", "add", hostIf, "type", "veth", "peer", "name", peerIf);
    cleanup.push(() => spawnSync("ip", ["link", "del", hostIf]));
    ip("link", "set", peerIf, "netns", ns);
    ip("addr", "add", `${hostIp}/30`, "dev", hostIf);
    ip("link", "set", hostIf, "up");
    ip("-n", ns, "addr", "add", `${visitorIp}/30`, "dev", peerIf);
    ip("-n", ns, "link", "set", peerIf, "up");
    ip("-n", ns, "link", "set", "lo", "up");

    writeFileSync(`/etc/pam.d/${pamService}`, readFileSync(join(root, "installers/linux/pam.d/gantry")));
    cleanup.push(() => rmSync(`/etc/pam.d/${pamService}`, { force: true }));
    spawnSync("userdel", [user]);
    execFileSync("useradd", ["-M", "-s", "/usr/sbin/nologin", user]);
    cleanup.push(() => spawnSync("userdel", [user]));
    execFileSync("chpasswd", { input: `${user}:${password}\n` });

    process.env.GANTRY_PAM_SERVICE = pamService;
    daemon = await startDaemon(["--simulate", "1"]);
    execFileSync(process.env.GANTRY_BIN, ["--data-dir", daemon.dataDir, "config", "set", "external-access", "on"]);
    // PAM already waits ~2 s after a failure; keep the test from also waiting on the backoff.
    const patched = await fetch(`http://127.0.0.1:${daemon.port}/api/v1/access/settings`, {
      method: "PATCH",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ throttle: { base_delay_ms: 1, max_delay_ms: 1 } }),
    });
    assert.equal(patched.status, 200);

    // Chromium itself runs inside the namespace; playwright talks to it over a pipe.
    const wrapper = join(work, "chromium-in-namespace.sh");
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} ${process.env.CHROMIUM || "/usr/bin/chromium"} "$@"\n`);
    chmodSync(wrapper, 0o755);
    process.env.CHROMIUM = wrapper;
    browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 900, height: 640 } });
    const base = `http://${hostIp}:${daemon.port}`;

    // Nothing but the sign-in screen.
    await page.goto(`${base}/`);
    assert.equal(new URL(page.url()).pathname, "/login.html");
    await page.getByRole("heading", { name: "Remote Access Authentication" }).waitFor();
    await page.getByText("Only this computer's accounts can be used right now").waitFor();
    const api = await page.evaluate(async () => (await fetch("/api/v1/printers")).status);
    assert.equal(api, 401);
    mkdirSync(join(root, "docs"), { recursive: true });
    await page.screenshot({ path: join(root, "docs/remote-login.png") });

    // A wrong password: one generic message.
    await page.fill("#username", user);
    await page.fill("#password", "wrong-password");
    await page.click("#submit");
    await page.locator("#error").filter({ hasText: "Sign-in failed" }).waitFor();

    // The right one: the dashboard, live, with the visitor signed in.
    await page.fill("#password", password);
    await page.click("#submit");
    await page.waitForURL(`${base}/`);
    await page.locator("#link[data-state=live]").waitFor();
    await page.getByText(`Signed in as ${user}`).waitFor();
    await page.locator("#access-sessions").getByText(visitorIp).waitFor();
    // A state-changing request from the page carries the CSRF token and works.
    const command = await page.evaluate(async () => {
      const response = await fetch("/api/v1/access/settings", {
        method: "PATCH",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ idle_timeout_secs: 1200 }),
      });
      return response.status;
    });
    assert.equal(command, 200);
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === `gantry_session_${daemon.port}`);
    assert.ok(session?.httpOnly, "HttpOnly session cookie");
    assert.equal(session.sameSite, "Strict");

    // Sign out: back to the sign-in screen, and the API is closed again.
    await page.getByRole("button", { name: "Sign out" }).first().click();
    await page.waitForURL(`${base}/login.html`);
    assert.equal(await page.evaluate(async () => (await fetch("/api/v1/printers")).status), 401);
  } finally {
    await browser?.close();
    await daemon?.stop();
    for (const undo of cleanup.reverse()) undo();
  }
});
