// *Add printer by port* and the serial ports Gantry has seen, with what it makes of each.

import { api } from "./api.js";
import { toast } from "./dialog.js";
import { el } from "./format.js";

const STATUS_WORDS = { printer: "Printer", probing: "Checking…", busy: "In use", no_answer: "No answer", unknown: "Not a known printer" };

export class Ports {
  constructor(root) {
    this.port = el("input", { className: "port-path", placeholder: "/dev/ttyUSB0 or /dev/serial/by-path/…", autocomplete: "off", spellcheck: false, required: true, "aria-label": "Serial port" });
    this.baud = el("select", { className: "port-baud", "aria-label": "Baud rate" },
      el("option", { value: "" }, "Baud: try the usual"),
      ...[115200, 250000, 57600, 230400, 500000, 1000000].map((b) => el("option", { value: String(b) }, String(b))));
    this.button = el("button", { className: "secondary", type: "submit" }, "Add printer");
    this.list = el("tbody");
    this.details = el("details", { className: "ports", ontoggle: () => this.details.open && this.refresh() },
      el("summary", {}, "Serial ports on this computer"),
      el("table", {}, el("thead", {}, el("tr", {}, ...["Port", "Device", "Status", ""].map((h) => el("th", {}, h)))), this.list));
    root.append(
      el("form", { className: "add-port", onsubmit: (e) => this.add(e) }, el("strong", {}, "Add printer by port"), this.port, this.baud, this.button),
      this.details,
    );
  }

  async add(event) {
    event.preventDefault();
    const port = this.port.value.trim();
    if (!port) return;
    this.button.disabled = true;
    this.button.textContent = "Connecting…";
    try {
      const json = { port };
      if (this.baud.value) json.baud = Number(this.baud.value);
      const printer = await api("/api/v1/printers", { method: "POST", json });
      toast(`${printer.name} added`);
      this.port.value = "";
    } catch (error) {
      toast(`Cannot add ${port}: ${error.message}`, "error");
    } finally {
      this.button.disabled = false;
      this.button.textContent = "Add printer";
    }
  }

  async refresh() {
    try {
      const ports = await api("/api/v1/ports");
      this.list.replaceChildren(
        ...(ports.length
          ? ports.map((p) => el("tr", {},
              el("td", { className: "mono" }, p.path),
              el("td", {}, [p.profile ?? p.product, p.usb].filter(Boolean).join(" · ") || "—"),
              el("td", { title: p.detail }, `${STATUS_WORDS[p.status] ?? p.status} — ${p.detail}`),
              el("td", {}, p.status === "unknown" || p.status === "no_answer"
                ? el("button", { className: "link", type: "button", onclick: () => { this.port.value = p.path; this.port.focus(); } }, "Add…")
                : null)))
          : [el("tr", {}, el("td", { colSpan: 4 }, "No serial ports found. Plug the printer in by USB and switch it on."))]),
      );
    } catch (error) {
      toast(`Cannot list the ports: ${error.message}`, "error");
    }
  }
}
