#!/usr/bin/env node
// A "system browser" for tests, used as $BROWSER: like a real launcher it re-spawns itself
// detached and exits 0 at once; the detached copy drives Debian's chromium through
// playwright-core to sign in at the test provider, approve (or deny) consent, confirm a device
// code, and stops at the app's loopback callback or the device-flow success page.
//
//   browser.mjs URL            launcher mode (what `webbrowser` runs)
//   browser.mjs --wait URL     drive the browser in the foreground (device approval)
//
// Environment: GANTRY_TEST_USER, GANTRY_TEST_PASSWORD, GANTRY_TEST_CONSENT=allow|deny,
// GANTRY_TEST_BROWSER_LOG (a file that gets one JSON line per run with the outcome).

import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
if (args[0] !== '--wait') {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--wait', ...args], { detached: true, stdio: 'ignore' });
  child.unref();
  process.exit(0);
}
const start = args[1];
const require = createRequire(new URL('../../../../tests/e2e/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const log = (outcome) => {
  if (process.env.GANTRY_TEST_BROWSER_LOG) appendFileSync(process.env.GANTRY_TEST_BROWSER_LOG, `${JSON.stringify(outcome)}\n`);
};

const browser = await chromium.launch({
  executablePath: process.env.GANTRY_TEST_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-default-apps', '--disable-extensions'],
});
let outcome = { start, result: 'unfinished' };
try {
  const page = await browser.newPage();
  const redirect = new URL(start).searchParams.get('redirect_uri');
  let callback = null;
  if (redirect) {
    // Stop at the app's callback: whatever the app answers is recorded, not judged here.
    const prefix = redirect.split('?')[0];
    page.on('response', async (response) => {
      if (response.url().startsWith(prefix)) callback = { status: response.status(), url: response.url(), body: await response.text().catch(() => '') };
    });
  }
  await page.goto(start, { waitUntil: 'domcontentloaded' }).catch((e) => { outcome = { start, result: 'error', error: e.message }; });
  for (let step = 0; step < 40 && outcome.result === 'unfinished'; step += 1) {
    try {
      await stepOnce();
    } catch (e) {
      // A navigation between finding an element and using it: look again on the new page.
      if (!/context was destroyed|navigat|Target closed/i.test(e.message)) throw e;
    }
  }
  async function stepOnce() {
    await page.waitForLoadState('domcontentloaded').catch(() => {});
    if (callback) { outcome = { start, result: 'callback', ...callback }; return; }
    const url = page.url();
    if (redirect && url.startsWith(redirect.split('?')[0])) {
      outcome = { start, result: 'callback', url, body: await page.content() };
      return;
    }
    if (await page.$('#device-done')) { outcome = { start, result: 'device-done' }; return; }
    const deviceError = await page.$('#device-error');
    if (deviceError) { outcome = { start, result: 'device-error', error: await deviceError.innerText() }; return; }
    const click = async (selector) => Promise.all([page.waitForNavigation({ waitUntil: 'domcontentloaded' }).catch(() => {}), page.click(selector)]);
    if (await page.$('#email')) {
      await page.fill('#email', process.env.GANTRY_TEST_USER ?? '');
      await page.fill('#password', process.env.GANTRY_TEST_PASSWORD ?? '');
      await click('#login');
    } else if (await page.$('#allow')) {
      await click(process.env.GANTRY_TEST_CONSENT === 'deny' ? '#deny' : '#allow');
    } else if (await page.$('#confirm')) {
      await click('#confirm');
    } else if (await page.$('#bad')) {
      outcome = { start, result: 'login-refused' };
    } else {
      await page.waitForTimeout(200);
    }
  }
  if (outcome.result === 'unfinished' && callback) outcome = { start, result: 'callback', ...callback };
  if (outcome.result === 'unfinished') {
    outcome.page = { url: page.url(), text: (await page.innerText('body').catch(() => '')).slice(0, 300) };
  }
} catch (e) {
  outcome = { start, result: 'error', error: e.message };
} finally {
  log(outcome);
  await browser.close();
}
