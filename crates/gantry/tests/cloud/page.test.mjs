// The Client Cloud Login page in headless Chromium against a real daemon and the test cloud:
// offline mode and leaving it, a refusal with its advice, signing in, and logging out.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import { startDaemon } from "../../../../tests/e2e/lib/daemon.mjs";
import { launchBrowser } from "../../../../tests/e2e/lib/browser.mjs";

// Tokens go to a private file in the test's data directory, never a developer's keychain.
process.env.GANTRY_SECRETS = "file";

async function startCloud() {
  const child = spawn(process.execPath, [fileURLToPath(new URL("./server.mjs", import.meta.url))], {
    stdio: ["pipe", "pipe", "ignore"],
  });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise((resolve) => lines.once("line", resolve));
  return { ...JSON.parse(first), stop: () => child.kill() };
}

test("the Client Cloud Login page signs in, shows refusals, works offline", async () => {
  const cloud = await startCloud();
  const daemon = await startDaemon(["--simulate", "1"]);
  const browser = await launchBrowser();
  try {
    // Point the daemon at the test cloud; offline first, so nothing is contacted yet.
    execFileSync(process.env.GANTRY_BIN, ["--data-dir", daemon.dataDir, "--port", String(daemon.port), "login", "--offline", "--cloud-url", cloud.cloud]);
    const page = await browser.newPage();
    await page.goto(`${daemon.url}cloud.html`);
    await page.getByText("Working offline.").waitFor();
    for (const heading of ["Sign in with email and password", "Sign in with your organisation (SSO)", "Work offline"]) {
      assert.ok(await page.getByRole("heading", { name: heading }).isVisible(), heading);
    }
    assert.ok(await page.getByRole("link", { name: "Forgot your password?" }).isVisible());
    // By default the reset link leads to the cloud's website; the setting names the exact page.
    assert.equal(await page.getAttribute("#forgot", "href"), `${cloud.cloud}/`);
    const resetPage = `${cloud.cloud}/account/reset-password`;
    execFileSync(process.env.GANTRY_BIN, ["--data-dir", daemon.dataDir, "--port", String(daemon.port), "login", "--offline", "--password-reset-url", resetPage]);
    await page.reload();
    await page.getByText("Working offline.").waitFor();
    assert.equal(await page.getAttribute("#forgot", "href"), resetPage);

    await page.click("#offline");
    await page.getByText("Not linked to a cloud account.").waitFor();

    await page.fill("#email", "new@example.test");
    await page.fill("#password", "unverified pw 7");
    await page.click("#sign-in");
    await page.getByText("check your inbox and spam folder for the verification link").waitFor();

    await page.fill("#email", "ada@example.test");
    await page.fill("#password", "correct horse 42");
    await page.click("#sign-in");
    await page.getByText(/Linked to .* as ada@example\.test/).waitFor();
    assert.equal(await page.inputValue("#password").catch(() => ""), "");

    await page.click("#logout");
    await page.getByText("Not linked to a cloud account.").waitFor();
  } finally {
    await browser.close();
    await daemon.stop();
    cloud.stop();
  }
});
