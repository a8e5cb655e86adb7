// While this client is not linked to a cloud account, the dashboard opens with the Client
// Cloud Login choices above the printers (which work regardless): sign in with email and
// password, with the organisation's SSO, or work offline.

import { api } from "./api.js";
import { toast } from "./dialog.js";
import { el } from "./format.js";

export async function showCloudBanner(root) {
  let status;
  try {
    status = await api("/api/v1/cloud");
  } catch {
    return; // a remote visitor without rights, or an old daemon: no banner
  }
  if (status.mode !== "unlinked") {
    root.hidden = true;
    return;
  }
  const offline = async () => {
    try {
      await api("/api/v1/cloud/offline", { method: "POST", json: { offline: true } });
      root.hidden = true;
      toast("Working offline: Gantry will not contact the cloud.");
    } catch (error) {
      toast(`Cannot switch to offline mode: ${error.message}`, "error");
    }
  };
  root.replaceChildren(
    el("div", { className: "banner-text" },
      el("strong", {}, "Client Cloud Login"),
      el("span", {}, " — link this computer's printers to your cloud account, or keep everything on this computer."),
      // Why an earlier link ended by itself (a sign-in that expired and could not be renewed).
      ...(status.error ? [el("p", { className: "banner-reason", role: "alert" }, status.error)] : [])),
    el("div", { className: "banner-actions" },
      el("a", { className: "button primary", href: "/cloud.html" }, "Sign in with email and password"),
      el("a", { className: "button secondary", href: "/cloud.html#sso" }, "Sign in with your organisation (SSO)"),
      el("button", { className: "secondary work-offline", type: "button", onclick: offline }, "Work offline")),
  );
  root.hidden = false;
}
