// API keys for slicers and OctoPrint clients: make one for a printer (its secret is shown
// once), revoke one, and approve or deny the key requests apps send (Cura, Home Assistant).

import { api } from "./api.js";
import { confirmDialog, toast } from "./dialog.js";
import { el, when } from "./format.js";
import { on } from "./live.js";

/// How often the section asks for new app requests (apps give up if nobody decides).
const REQUEST_POLL_MS = 2000;

export class ApiKeys {
  constructor(root) {
    this.printers = [];
    this.keys = [];
    this.requestsBox = el("div", { className: "key-requests", "aria-live": "polite" });
    this.secretBox = el("div", { className: "key-secret panel", hidden: true });
    this.body = el("tbody");
    this.table = el("table", { className: "keys", hidden: true },
      el("thead", {}, el("tr", {}, ...["Name", "Printer", "Created", ""].map((h) => el("th", {}, h)))),
      this.body);
    this.emptyNote = el("p", { className: "empty" }, "No API keys yet. A slicer on this computer needs none, unless “Require login on this computer too” is on in Settings.");
    this.nameInput = el("input", { type: "text", required: true, maxLength: 100, placeholder: "e.g. PrusaSlicer on the laptop", id: "key-name" });
    this.printerSelect = el("select", { id: "key-printer", "aria-label": "Printer the key drives" });
    const form = el("form", { className: "key-form add-port", onsubmit: (event) => { event.preventDefault(); this.create(); } },
      el("label", { htmlFor: "key-name" }, "Name"), this.nameInput,
      el("label", { htmlFor: "key-printer" }, "Printer"), this.printerSelect,
      el("button", { type: "submit", className: "primary" }, "Create key"));
    root.append(
      el("p", { className: "hint" },
        "Slicers (PrusaSlicer, OrcaSlicer, Cura) and Home Assistant talk to Gantry as if it were OctoPrint. " +
        "Each key drives one printer."),
      this.requestsBox, form, this.secretBox, this.emptyNote,
      this.table);
    this.refresh();
    setInterval(() => this.refreshRequests(), REQUEST_POLL_MS);
    // Printers come and go (plugged in, renamed) while the page is open: the choices follow.
    on("snapshot", (printers) => this.setPrinters(printers));
    on("printer", (printer) => this.setPrinters([...this.printers.filter((p) => p.id !== printer.id), printer]));
  }

  /// Takes a new printer list; redraws the choices and the table only when ids or names changed.
  setPrinters(printers) {
    const list = printers.map(({ id, name }) => ({ id, name })).sort((a, b) => a.id - b.id);
    const same = list.length === this.printers.length &&
      list.every((p, i) => p.id === this.printers[i].id && p.name === this.printers[i].name);
    if (same) return;
    this.printers = list;
    for (const select of [this.printerSelect, ...this.requestsBox.querySelectorAll("select")]) {
      const chosen = select.value;
      this.printerOptions(select);
      if (chosen && list.some((p) => String(p.id) === chosen)) select.value = chosen;
    }
    this.body.replaceChildren(...this.keys.map((key) => this.row(key)));
  }

  printerName(id) {
    return this.printers.find((p) => p.id === id)?.name ?? `Printer ${id}`;
  }

  printerOptions(select) {
    select.replaceChildren(...this.printers.map((p) => el("option", { value: String(p.id) }, p.name)));
  }

  async refresh() {
    try {
      const [printers, keys] = await Promise.all([api("/api/v1/printers"), api("/api/v1/keys")]);
      this.keys = keys;
      this.emptyNote.hidden = keys.length > 0;
      this.table.hidden = keys.length === 0;
      this.printers = [];
      this.setPrinters(printers);
    } catch (error) {
      toast(`Cannot load the API keys: ${error.message}`, "error");
    }
    await this.refreshRequests();
  }

  row(key) {
    return el("tr", { dataset: { id: String(key.id) } },
      el("td", {}, key.name),
      el("td", {}, this.printerName(key.printer_id)),
      el("td", {}, when(key.created_at)),
      el("td", { className: "row-actions" }, el("button", { type: "button", className: "link danger-text revoke-key", onclick: () => this.revoke(key) }, "Revoke")));
  }

  async create() {
    const name = this.nameInput.value.trim();
    const printerId = Number(this.printerSelect.value);
    if (!name || !printerId) {
      toast("Give the key a name and choose its printer", "error");
      return;
    }
    try {
      const made = await api("/api/v1/keys", { method: "POST", json: { name, printer_id: printerId } });
      this.nameInput.value = "";
      this.showSecret(made);
      await this.refresh();
    } catch (error) {
      toast(`Cannot create the key: ${error.message}`, "error");
    }
  }

  showSecret(made) {
    const code = el("code", { className: "secret" }, made.key);
    const copy = el("button", { type: "button", className: "secondary", onclick: async () => {
      try {
        await navigator.clipboard.writeText(made.key);
        toast("Copied");
      } catch {
        toast("Select the key and copy it", "error");
      }
    } }, "Copy");
    const done = el("button", { type: "button", className: "link", onclick: () => { this.secretBox.hidden = true; this.secretBox.replaceChildren(); } }, "Done");
    this.secretBox.replaceChildren(
      el("p", {}, `The key “${made.name}” — copy it now into the slicer's API key field; Gantry shows it only this once:`),
      code, copy, done);
    this.secretBox.hidden = false;
  }

  async revoke(key) {
    const ok = await confirmDialog("Revoke this key?", `“${key.name}” stops working at once.`, "Revoke", { danger: true });
    if (!ok) return;
    try {
      await api(`/api/v1/keys/${key.id}`, { method: "DELETE" });
      toast(`Revoked “${key.name}”`);
      await this.refresh();
    } catch (error) {
      toast(`Cannot revoke: ${error.message}`, "error");
    }
  }

  async refreshRequests() {
    let requests;
    try {
      requests = await api("/api/v1/keys/requests");
    } catch {
      return;
    }
    const shown = new Set([...this.requestsBox.children].map((c) => c.dataset.id));
    const wanted = new Set(requests.map((r) => String(r.id)));
    for (const child of [...this.requestsBox.children]) {
      if (!wanted.has(child.dataset.id)) child.remove();
    }
    for (const request of requests) {
      if (!shown.has(String(request.id))) this.requestsBox.append(this.requestCard(request));
    }
  }

  requestCard(request) {
    const select = el("select", { "aria-label": `Printer for ${request.app}` });
    this.printerOptions(select);
    const decide = async (approve) => {
      try {
        await api(`/api/v1/keys/requests/${request.id}`, {
          method: "POST",
          json: approve ? { approve, printer_id: Number(select.value) } : { approve },
        });
        toast(approve ? `${request.app} now has a key` : `Denied ${request.app}`);
        await this.refresh();
      } catch (error) {
        toast(`Cannot decide: ${error.message}`, "error");
      }
    };
    const who = request.user ? ` for ${request.user}` : "";
    return el("div", { className: "panel key-request", role: "alert", dataset: { id: String(request.id) } },
      el("p", {}, el("strong", {}, request.app), ` asks for an API key${who} (from ${request.address}).`),
      el("div", { className: "add-port" },
        el("label", {}, "Printer ", select),
        el("button", { type: "button", className: "primary approve-key", onclick: () => decide(true) }, "Allow"),
        el("button", { type: "button", className: "secondary deny-key", onclick: () => decide(false) }, "Deny")));
  }
}

// The dashboard imports this module for its effect: the section fills itself in.
const root = document.getElementById("api-keys-panel");
if (root) new ApiKeys(root);
