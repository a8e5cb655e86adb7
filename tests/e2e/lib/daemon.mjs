// Starts a real `gantry serve` for a browser test, in a fresh data directory (or a given one, to
// start again after a crash) on a free port.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const PATIENCE_MS = 60_000;

/// `dataDir` reuses another daemon's data directory, which that daemon's `stop()` removes.
export async function startDaemon(args = [], { dataDir: given } = {}) {
  const bin = process.env.GANTRY_BIN;
  if (!bin) throw new Error("GANTRY_BIN must name the gantry binary (scripts/test.sh sets it)");
  const root = given ? null : mkdtempSync(join(tmpdir(), "gantry-e2e-"));
  const dataDir = given ?? join(root, "data");
  const env = { ...process.env, GANTRY_LOG: "info" };
  delete env.GANTRY_PORT;
  delete env.GANTRY_DATA_DIR;
  const child = spawn(bin, ["--data-dir", dataDir, "serve", "--port", "0", ...args], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const deadline = Date.now() + PATIENCE_MS;
  let port;
  while (!port) {
    try {
      const announced = JSON.parse(readFileSync(join(dataDir, "daemon.json"), "utf8"));
      // After a crash the old daemon's file is still there until this one replaces it.
      if (announced.pid === child.pid) port = announced.port;
      else throw new Error("not yet");
    } catch {
      if (child.exitCode !== null) throw new Error(`gantry serve exited early: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`gantry serve did not start: ${stderr}`);
      await sleep(50);
    }
  }
  return {
    port,
    dataDir,
    url: `http://localhost:${port}/`,
    stderr: () => stderr,
    async stop() {
      child.kill("SIGTERM");
      const result = await exited;
      if (root) rmSync(root, { recursive: true, force: true });
      return result;
    },
    /// A crash or a power cut: SIGKILL, and the data directory stays for the next start.
    async crash() {
      child.kill("SIGKILL");
      return exited;
    },
  };
}
