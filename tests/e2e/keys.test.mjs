// API keys in a real browser against a real daemon with two simulated printers: a key made in
// the dashboard (its secret shown once, only its hash stored), used by a program with
// `X-Api-Key` on this computer and from another address, revoked in the dashboard and refused
// at once; then the app-keys flow (Cura, Home Assistant) approved with a click.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { startDaemon } from "./lib/daemon.mjs";
import { launchBrowser } from "./lib/browser.mjs";
import { call, outsideAddress, pollForKey } from "./lib/octoprint.mjs";

const here = dirname(fileURLToPath(import.meta.url));
// Screenshots land in target/ unless asked to refresh the ones the README shows.
const shots = process.env.UPDATE_SCREENSHOTS ? join(here, "..", "..", "docs") : join(here, "..", "..", "target", "e2e");
const LOCAL = "127.0.0.1";

/// A daemon with two ready simulated printers and the dashboard open on its API keys section.
async function setUp(t) {
  const daemon = await startDaemon(["--simulate", "2", "--no-discovery"]);
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await daemon.stop();
  });
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
  await page.goto(`${daemon.url}#api-keys-title`);
  await page.locator('.card[data-state="ready"]').nth(1).waitFor({ timeout: 30_000 });
  const printers = (await call(LOCAL, daemon.port, "/api/v1/printers")).body;
  const byName = Object.fromEntries(printers.map((p) => [p.name, p]));
  // The key form offers every printer the page knows of.
  await page.locator("#key-printer option").nth(1).waitFor({ state: "attached" });
  return { daemon, page, errors, first: byName["Simulated printer 1"], second: byName["Simulated printer 2"] };
}

/// Makes a key in the dashboard and reads its secret off the page.
async function makeKey(page, name, printerName) {
  const panel = page.locator("#api-keys-panel");
  await page.locator("#key-name").fill(name);
  await page.locator("#key-printer").selectOption({ label: printerName });
  await panel.getByRole("button", { name: "Create key" }).click();
  const secret = panel.locator(".key-secret code.secret");
  await secret.waitFor();
  return (await secret.textContent()).trim();
}

function keyRow(page, name) {
  return page.locator("#api-keys-panel table.keys tbody tr").filter({ hasText: name });
}

test("a key made in the dashboard drives its printer until it is revoked there", async (t) => {
  const { daemon, page, errors, first, second } = await setUp(t);
  const port = daemon.port;

  const key = await makeKey(page, "PrusaSlicer on the laptop", "Simulated printer 2");
  assert.match(key, /^gantry_\S{30,}$/);
  const row = keyRow(page, "PrusaSlicer on the laptop");
  await row.waitFor();
  assert.match(await row.textContent(), /Simulated printer 2/);
  assert.equal(await page.locator("#api-keys-panel .empty").isHidden(), true);

  // Shown once: after "Done" and after a reload the page has it nowhere, the list never
  // carries it, and the database holds only its hash.
  await page.locator("#api-keys-panel .key-secret").getByRole("button", { name: "Done" }).click();
  await page.locator("#api-keys-panel .key-secret").waitFor({ state: "hidden" });
  await page.reload();
  await keyRow(page, "PrusaSlicer on the laptop").waitFor();
  assert.equal((await page.content()).includes(key), false);
  const listed = await call(LOCAL, port, "/api/v1/keys");
  assert.equal(listed.status, 200);
  assert.equal(listed.body.length, 1);
  assert.equal(JSON.stringify(listed.body).includes(key), false);
  for (const file of ["gantry.db", "gantry.db-wal"].map((f) => join(daemon.dataDir, f))) {
    if (existsSync(file)) assert.equal(readFileSync(file).includes(key), false, `${file} holds the key`);
  }

  // On this computer: the key is checked and chooses the printer (no key drives the first).
  const keyed = await call(LOCAL, port, "/api/connection", { key });
  assert.equal(keyed.status, 200);
  assert.equal(keyed.body.current.port, second.port);
  const keyless = await call(LOCAL, port, "/api/connection");
  assert.equal(keyless.body.current.port, first.port);
  const status = await call(LOCAL, port, "/api/printer", { key });
  assert.equal(status.status, 200, JSON.stringify(status.body));
  assert.equal(status.body.state.flags.operational, true);
  assert.equal((await call(LOCAL, port, "/api/job", { key })).status, 200);
  // A key never manages keys.
  assert.equal((await call(LOCAL, port, "/api/v1/keys", { key })).status, 403);

  // From another address of this machine (external access on): no key, no entry; the key works.
  const outside = outsideAddress();
  if (outside) {
    const toggle = page.locator("#external-access");
    await toggle.check();
    await page.waitForFunction(() => document.querySelector("#external-access")?.checked === true);
    let away;
    for (let tries = 0; tries < 50; tries += 1) {
      away = await call(outside, port, "/api/printer").catch((error) => ({ status: 0, body: error.message }));
      if (away.status !== 0) break;
      await page.waitForTimeout(100);
    }
    assert.equal(away.status, 401, JSON.stringify(away.body));
    const remote = await call(outside, port, "/api/printer", { key });
    assert.equal(remote.status, 200, JSON.stringify(remote.body));
    assert.equal((await call(outside, port, "/api/connection", { key })).body.current.port, second.port);
  } else {
    t.diagnostic("this machine has no non-loopback IPv4 address: the other-address checks were skipped");
  }

  // Revoke in the dashboard: the same requests are refused at once.
  await keyRow(page, "PrusaSlicer on the laptop").getByRole("button", { name: "Revoke" }).click();
  const dialog = page.locator("dialog.confirm");
  await dialog.waitFor();
  assert.match(await dialog.textContent(), /PrusaSlicer on the laptop/);
  await dialog.getByRole("button", { name: "Revoke" }).click();
  await keyRow(page, "PrusaSlicer on the laptop").waitFor({ state: "detached" });
  await page.locator("#api-keys-panel .empty").waitFor();
  for (const path of ["/api/printer", "/api/job", "/api/connection"]) {
    const refused = await call(LOCAL, port, path, { key });
    assert.equal(refused.status, 401, `${path}: ${JSON.stringify(refused.body)}`);
    if (outside) assert.equal((await call(outside, port, path, { key })).status, 401, path);
  }
  const audit = (await call(LOCAL, port, "/api/v1/access/audit?limit=20")).body.map((a) => a.event);
  assert.ok(audit.includes("apikey.created") && audit.includes("apikey.revoked"), audit.join(", "));
  assert.deepEqual(errors, []);
});

test("an app asks for a key, the owner allows it in the dashboard, and the app's key works", async (t) => {
  const { daemon, page, errors, first, second } = await setUp(t);
  const port = daemon.port;
  // A key made earlier, so the picture shows the list as well as the request.
  await makeKey(page, "PrusaSlicer on the laptop", "Simulated printer 1");
  await page.locator("#api-keys-panel .key-secret").getByRole("button", { name: "Done" }).click();

  // The app's side, as Cura's OctoPrint plugin runs it.
  assert.equal((await call(LOCAL, port, "/plugin/appkeys/probe")).status, 204);
  const asked = await call(LOCAL, port, "/plugin/appkeys/request", { method: "POST", json: { app: "Cura", user: "maker" } });
  assert.equal(asked.status, 201, JSON.stringify(asked.body));
  const token = asked.body.app_token;
  assert.equal((await call(LOCAL, port, `/plugin/appkeys/request/${token}`)).status, 202);
  const polled = pollForKey(LOCAL, port, token);

  // The dashboard shows the request by itself (it asks every few seconds).
  const card = page.locator("#api-keys-panel .key-request").filter({ hasText: "Cura" });
  await card.waitFor({ timeout: 15_000 });
  assert.match(await card.textContent(), /Cura asks for an API key for maker \(from 127\.0\.0\.1\)/);
  mkdirSync(shots, { recursive: true });
  await page.locator("#api-keys").screenshot({ path: join(shots, "api-keys.png") });

  await card.getByRole("combobox").selectOption({ label: "Simulated printer 2" });
  await card.getByRole("button", { name: "Allow" }).click();
  const key = await polled;
  assert.match(key ?? "", /^gantry_/);
  await card.waitFor({ state: "detached" });
  const row = keyRow(page, "Cura");
  await row.waitFor();
  assert.match(await row.textContent(), /Simulated printer 2/);
  // The key is handed out once; the app's next poll finds nothing.
  assert.equal((await call(LOCAL, port, `/plugin/appkeys/request/${token}`)).status, 404);

  const connection = await call(LOCAL, port, "/api/connection", { key });
  assert.equal(connection.status, 200);
  assert.equal(connection.body.current.port, second.port);
  assert.notEqual(second.port, first.port);
  const status = await call(LOCAL, port, "/api/printer", { key });
  assert.equal(status.status, 200, JSON.stringify(status.body));

  // A denied request gives the app nothing.
  const again = await call(LOCAL, port, "/plugin/appkeys/request", { method: "POST", json: { app: "Home Assistant" } });
  assert.equal(again.status, 201);
  const denied = pollForKey(LOCAL, port, again.body.app_token);
  const haCard = page.locator("#api-keys-panel .key-request").filter({ hasText: "Home Assistant" });
  await haCard.getByRole("button", { name: "Deny" }).click();
  assert.equal(await denied, null);
  await haCard.waitFor({ state: "detached" });
  assert.equal(await keyRow(page, "Home Assistant").count(), 0);
  assert.deepEqual(errors, []);
});
