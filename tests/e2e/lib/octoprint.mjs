// An OctoPrint client as slicers and Home Assistant are: plain HTTP from a program (no
// browser, so no Origin or cookies), with the key in `X-Api-Key` when it has one.
import { request } from "node:http";
import { networkInterfaces } from "node:os";

/// This machine's first non-loopback IPv4 address: a client that connects to it comes from
/// that address, which the daemon does not count as "this computer". Null when there is none.
export function outsideAddress() {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === "IPv4" && !address.internal) return address.address;
    }
  }
  return null;
}

/// One request to `http://host:port/path`; resolves to `{ status, body }` (JSON when it is).
export function call(host, port, path, { key, method = "GET", json } = {}) {
  const headers = { Host: `${host}:${port}` };
  if (key !== undefined) headers["X-Api-Key"] = key;
  const payload = json === undefined ? null : Buffer.from(JSON.stringify(json));
  if (payload) {
    headers["Content-Type"] = "application/json";
    headers["Content-Length"] = String(payload.length);
  }
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method, headers, agent: false }, (response) => {
      const chunks = [];
      response.on("data", (chunk) => chunks.push(chunk));
      response.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body = text;
        try {
          body = text ? JSON.parse(text) : null;
        } catch {
          // not JSON: kept as text
        }
        resolve({ status: response.statusCode, body });
      });
    });
    req.setTimeout(15_000, () => req.destroy(new Error(`${method} ${path}: no answer`)));
    req.on("error", reject);
    req.end(payload ?? undefined);
  });
}

/// Polls an app-key request every `everyMs` (as Cura does) until the owner decides: resolves
/// to the key, or null when the request was denied or expired.
export async function pollForKey(host, port, token, { everyMs = 500, timeoutMs = 60_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const answer = await call(host, port, `/plugin/appkeys/request/${token}`);
    if (answer.status === 200) return answer.body.api_key;
    if (answer.status !== 202) return null;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error("the app-key request was never decided");
}
