// The dashboard in a real browser against a real daemon with two simulated printers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { startDaemon } from "./lib/daemon.mjs";
import { launchBrowser } from "./lib/browser.mjs";

const here = dirname(fileURLToPath(import.meta.url));
// Screenshots land in target/ unless asked to refresh the ones the README shows.
const shots = process.env.UPDATE_SCREENSHOTS ? join(here, "..", "..", "docs") : join(here, "..", "..", "target", "e2e");

test("the dashboard lists both simulated printers with live temperatures", async (t) => {
  const daemon = await startDaemon(["--simulate", "2"]);
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await daemon.stop();
  });
  const page = await browser.newPage({ viewport: { width: 1100, height: 640 } });
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => message.type() === "error" && errors.push(message.text()));

  await page.goto(daemon.url);
  await page.locator(".card").nth(1).waitFor();
  assert.equal(await page.locator(".card").count(), 2);
  await page.locator('.card[data-state="ready"]').nth(1).waitFor({ timeout: 30_000 });
  const names = await page.locator(".card .name").allTextContents();
  assert.deepEqual(names.sort(), ["Simulated printer 1", "Simulated printer 2"]);
  await page.locator("#link[data-state='live']").waitFor();

  // Heat both through the API and watch the page follow without a reload.
  for (const id of await page.locator(".card").evaluateAll((cards) => cards.map((c) => c.dataset.id))) {
    for (const command of ["M104 S215", "M140 S60"]) {
      const response = await page.request.post(`${daemon.url}api/v1/printers/${id}/commands`, { data: { command } });
      assert.equal(response.status(), 202);
    }
  }
  await page.waitForFunction(() =>
    [...document.querySelectorAll(".card .nozzle .target")].every((el) => el.textContent.includes("215")),
  );
  const before = await page.locator(".card .nozzle .actual").allTextContents();
  await page.waitForFunction(
    (old) => [...document.querySelectorAll(".card .nozzle .actual")].every((el, i) => el.textContent !== old[i]),
    before,
  );
  assert.deepEqual(errors, []);

  // Not linked yet: the Client Cloud Login choices sit above the printers.
  const banner = page.locator("#cloud-banner");
  await banner.waitFor();
  for (const choice of ["Sign in with email and password", "Sign in with your organisation (SSO)", "Work offline"]) {
    await banner.getByText(choice).waitFor();
  }
  mkdirSync(shots, { recursive: true });
  await page.waitForTimeout(1500); // let the heaters climb a little for a telling picture
  await page.screenshot({ path: join(shots, "dashboard.png") });
  await banner.getByText("Work offline").click();
  await banner.waitFor({ state: "hidden" });
  const cloud = await (await page.request.get(`${daemon.url}api/v1/cloud`)).json();
  assert.equal(cloud.mode, "offline");
});

test("the dashboard reconnects by itself when the daemon goes away", async (t) => {
  const daemon = await startDaemon([]);
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await browser.newPage();
  await page.goto(daemon.url);
  await page.locator("#link[data-state='live']").waitFor();
  assert.match(await page.locator("#empty").textContent(), /No printers yet/);
  await daemon.stop();
  await page.locator("#link[data-state='lost']").waitFor();
  assert.match(await page.locator("#link").textContent(), /reconnecting/);
});
