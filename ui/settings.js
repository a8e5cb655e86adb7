// The dashboard's Access area: external access, local sign-in, HTTPS, sessions and the audit
// log. It also adds the session's CSRF token to every state-changing request this page makes,
// so the rest of the dashboard works unchanged for visitors who signed in.

const root = document.getElementById("access-settings");
let csrfToken = null;

const pageFetch = window.fetch.bind(window);
window.fetch = (input, init = {}) => {
  const method = (init.method || (input instanceof Request ? input.method : "GET")).toUpperCase();
  const url = new URL(input instanceof Request ? input.url : input, location.href);
  if (csrfToken && url.origin === location.origin && !["GET", "HEAD", "OPTIONS"].includes(method)) {
    const headers = new Headers(init.headers || (input instanceof Request ? input.headers : undefined));
    headers.set("X-CSRF-Token", csrfToken);
    init = { ...init, headers };
  }
  return pageFetch(input, init);
};

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c != null));
  return node;
}

async function api(path, options = {}) {
  const response = await fetch(path, { cache: "no-store", ...options });
  if (response.status === 401) {
    location.replace("/login.html");
    throw new Error("signed out");
  }
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.error?.message || `${response.status}`);
  return body;
}

function when(unixSeconds) {
  return new Date(unixSeconds * 1000).toLocaleString();
}

function toggle(id, label, checked, hint, onChange) {
  const input = el("input", { type: "checkbox", id, checked });
  input.addEventListener("change", () => onChange(input));
  return el("div", { className: "access-toggle" }, input, el("label", { htmlFor: id }, label), el("p", { className: "access-hint" }, hint));
}

async function patch(change, input) {
  input.disabled = true;
  message("");
  try {
    await api("/api/v1/access/settings", {
      method: "PATCH",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(change),
    });
  } catch (e) {
    message(e.message);
  }
  await render();
}

let notice;
function message(text) {
  if (notice) {
    notice.textContent = text;
    notice.hidden = !text;
  }
}

async function render() {
  let session;
  let status;
  try {
    session = await api("/api/v1/access/session");
    csrfToken = session.csrf_token || null;
    status = await api("/api/v1/access/settings");
  } catch {
    return;
  }
  const s = status.settings;
  const who = session.via === "session"
    ? el("span", {}, `Signed in as ${session.account} · `, signOutButton())
    : el("span", {}, session.local ? "On this computer" : "");
  notice = el("p", { className: "access-error", role: "alert", hidden: true });

  const listening = status.listening.join(", ");
  const lan = status.lan_urls.length ? `Other machines can open ${status.lan_urls.join(" or ")}` : "";
  const certificate = status.certificate
    ? el("p", { className: "access-hint" }, `Certificate fingerprint (SHA-256${status.certificate.self_signed ? ", self-signed" : ""}): `,
        el("code", { className: "fingerprint" }, status.certificate.fingerprint))
    : null;

  const sessions = await api("/api/v1/access/sessions").catch(() => []);
  const sessionRows = sessions.map((x) => {
    const revoke = el("button", { type: "button", className: "access-button" }, x.current ? "Sign out" : "Revoke");
    revoke.addEventListener("click", async () => {
      revoke.disabled = true;
      try {
        await api(`/api/v1/access/sessions/${x.id}`, { method: "DELETE" });
      } catch (e) {
        message(e.message);
      }
      if (x.current) location.replace("/login.html");
      else render();
    });
    return el("tr", { dataset: { session: x.id } },
      el("td", {}, x.account), el("td", {}, x.method), el("td", {}, x.address),
      el("td", {}, when(x.created_at)), el("td", {}, when(x.last_seen)), el("td", {}, revoke));
  });
  const audit = await api("/api/v1/access/audit?limit=30").catch(() => []);
  const auditRows = audit.map((a) => el("tr", {},
    el("td", {}, new Date(a.at).toLocaleString()), el("td", {}, a.event), el("td", {}, a.address ?? ""),
    el("td", {}, a.account ?? ""), el("td", {}, a.detail ?? "")));

  root.replaceChildren(
    el("div", { className: "section-head" }, el("h1", { id: "access-title" }, "Access"), el("span", { className: "summary" }, who)),
    notice,
    el("div", { className: "access-panel" },
      toggle("external-access", "External access", s.external_access,
        `Let other machines on the network reach Gantry; they must sign in first. Listening on ${listening}. ${lan}`,
        (i) => patch({ external_access: i.checked }, i)),
      toggle("require-local-login", "Require login on this computer too", s.require_local_login,
        "Ask visitors on this computer to sign in as well, instead of trusting them.",
        (i) => patch({ require_local_login: i.checked }, i)),
      toggle("tls", "HTTPS for other machines", s.tls.enabled,
        "Serve other machines over HTTPS (plain HTTP from them is redirected).",
        (i) => patch({ tls: { enabled: i.checked } }, i)),
      certificate),
    el("h2", { className: "access-sub" }, "Signed-in sessions"),
    sessions.length
      ? el("table", { className: "access-table", id: "access-sessions" },
          el("thead", {}, el("tr", {}, ...["Account", "How", "From", "Signed in", "Last seen", ""].map((h) => el("th", {}, h)))),
          el("tbody", {}, ...sessionRows))
      : el("p", { className: "access-hint" }, "Nobody is signed in from another machine."),
    el("h2", { className: "access-sub" }, "Audit log"),
    el("table", { className: "access-table", id: "access-audit" },
      el("thead", {}, el("tr", {}, ...["Time", "Event", "Address", "Account", "Detail"].map((h) => el("th", {}, h)))),
      el("tbody", {}, ...auditRows)),
  );
}

function signOutButton() {
  const button = el("button", { type: "button", className: "access-button" }, "Sign out");
  button.addEventListener("click", async () => {
    await api("/api/v1/access/logout", { method: "POST" }).catch(() => null);
    location.replace("/login.html");
  });
  return button;
}

if (root) {
  document.head.append(el("link", { rel: "stylesheet", href: "/settings.css" }));
  render();
} else {
  api("/api/v1/access/session").then((s) => (csrfToken = s.csrf_token || null)).catch(() => null);
}
