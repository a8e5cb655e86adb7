// Starts a real `gantry serve` for a browser test, in a fresh data directory on a free port.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const PATIENCE_MS = 60_000;

export async function startDaemon(args = []) {
  const bin = process.env.GANTRY_BIN;
  if (!bin) throw new Error("GANTRY_BIN must name the gantry binary (scripts/test.sh sets it)");
  const root = mkdtempSync(join(tmpdir(), "gantry-e2e-"));
  const dataDir = join(root, "data");
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
      port = JSON.parse(readFileSync(join(dataDir, "daemon.json"), "utf8")).port;
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
      rmSync(root, { recursive: true, force: true });
      return result;
    },
  };
}
