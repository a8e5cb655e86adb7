// Printer cards: state, temperatures, the running job with its controls (or how the last one
// ended), the chart and the console.

import { api } from "./api.js";
import { TemperatureChart, sampleOf } from "./chart.js";
import { confirmDialog, toast } from "./dialog.js";
import { ago, celsius, duration, el, when } from "./format.js";
import { noteConsoleSeq, watchConsole } from "./live.js";

const STATE_WORDS = {
  connecting: "Connecting",
  ready: "Ready",
  printing: "Printing",
  paused: "Paused",
  error: "Error",
  offline: "Offline",
};

const ADVICE = {
  connecting: "Talking to the printer's firmware…",
  offline: "Gantry cannot reach this printer. Check that it is switched on and its USB cable is plugged in; Gantry reconnects by itself.",
  error: "The printer's firmware stopped. Fix the cause, then reset or power-cycle the printer; Gantry reconnects by itself.",
};

// A last job's result as the card words it.
const RESULT_WORDS = {
  finished: "finished",
  failed: "failed",
  cancelled: "cancelled",
  interrupted: "interrupted",
};

// How often "12 min ago" is brought up to date.
const RELATIVE_TIME_MS = 30_000;

const TEMPERATURE_LINE = /^(ok )?\s*T:[\d.]+/;
const SAFE_NOTE = "While a print runs, only M105, M114, M115, M117, M104, M140, M106, M107, M220, M221 and M290 are accepted: anything else would mix into the job's G-code.";

export class PrinterCards {
  /// `resumeJob(job)` is the history's resume (it asks from which line), given a journal row.
  constructor(grid, empty, summary, files, resumeJob) {
    this.grid = grid;
    this.empty = empty;
    this.summary = summary;
    this.files = files;
    this.resumeJob = resumeJob;
    this.cards = new Map();
    this.consoleOpen = null;
    files.onChange(() => this.cards.forEach((card) => card.renderFiles()));
    setInterval(() => this.cards.forEach((card) => card.renderLastJob()), RELATIVE_TIME_MS);
  }

  snapshot(printers) {
    const ids = new Set(printers.map((p) => p.id));
    for (const [id, card] of this.cards) {
      if (!ids.has(id)) {
        card.root.remove();
        this.cards.delete(id);
      }
    }
    printers.forEach((p) => this.update(p));
  }

  update(printer) {
    let card = this.cards.get(printer.id);
    if (!card) {
      card = new Card(printer, this);
      this.cards.set(printer.id, card);
      this.grid.append(card.root);
    }
    card.render(printer);
    this.renderSummary();
  }

  console(message) {
    this.cards.get(message.printer)?.appendConsole(message.lines);
  }

  renderSummary() {
    const all = [...this.cards.values()].map((c) => c.printer);
    this.empty.hidden = all.length > 0;
    const count = (state) => all.filter((p) => p.state === state).length;
    const parts = [`${all.length} printer${all.length === 1 ? "" : "s"}`];
    for (const state of ["printing", "paused", "ready", "offline", "error"]) {
      if (count(state)) parts.push(`${count(state)} ${STATE_WORDS[state].toLowerCase()}`);
    }
    this.summary.textContent = all.length ? parts.join(" · ") : "";
  }

  openConsole(card) {
    if (this.consoleOpen && this.consoleOpen !== card) this.consoleOpen.closeConsole();
    this.consoleOpen = card;
    watchConsole(card.printer.id, 0);
  }

  closeConsole(card) {
    if (this.consoleOpen === card) {
      this.consoleOpen = null;
      watchConsole(null);
    }
  }
}

class Card {
  constructor(printer, owner) {
    this.owner = owner;
    this.printer = printer;
    const button = (label, className, onclick, title) => el("button", { className, onclick, type: "button", title }, label);

    this.name = el("h2", { className: "name" });
    this.stateBadge = el("span", { className: "state" });
    this.identity = el("p", { className: "identity" });
    this.advice = el("p", { className: "advice", hidden: true });
    this.nozzle = heaterBox("Nozzle", "nozzle");
    this.bed = heaterBox("Bed", "bed");

    this.jobFile = el("div", { className: "job-file" });
    this.fill = el("div", { className: "fill" });
    this.bar = el("div", { className: "bar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100" }, this.fill);
    this.jobFacts = el("div", { className: "job-facts" });
    this.pauseButton = button("Pause", "secondary pause", () => this.control("pause"));
    this.resumeButton = button("Resume", "primary resume", () => this.control("resume"));
    this.cancelButton = button("Cancel", "secondary cancel", () => this.cancel());
    this.job = el("div", { className: "job", hidden: true }, this.jobFile, this.bar, this.jobFacts,
      el("div", { className: "job-actions" }, this.pauseButton, this.resumeButton, this.cancelButton));

    this.fileSelect = el("select", { className: "file-select", "aria-label": "File to print" });
    this.printButton = button("Print", "primary print", () => this.start());
    this.start_ = el("div", { className: "start", hidden: true }, this.fileSelect, this.printButton);

    this.lastFile = el("span", { className: "last-file" });
    this.lastOutcome = el("span", { className: "last-outcome" });
    this.lastResume = button("Resume…", "link resume-last", () => this.resumeLast());
    this.lastMessage = el("p", { className: "last-message" });
    this.lastDetail = el("div", { className: "last-detail" }, this.lastMessage, this.lastResume);
    this.lastJob = el("div", { className: "last-job", hidden: true },
      el("div", { className: "last-line" }, el("span", { className: "last-label" }, "Last print:"), this.lastFile, this.lastOutcome),
      this.lastDetail);

    this.chartCanvas = el("canvas", { className: "chart", hidden: true, height: 120 });
    this.chart = new TemperatureChart(this.chartCanvas);
    this.consoleLines = el("pre", { className: "console-lines", "aria-live": "off" });
    this.hideTemps = el("input", { type: "checkbox", checked: true, onchange: () => this.filterConsole() });
    this.commandInput = el("input", { className: "command", placeholder: "G-code, e.g. M105", autocomplete: "off", spellcheck: false });
    this.consoleNote = el("p", { className: "console-note" });
    this.consoleBox = el("div", { className: "console", hidden: true },
      el("label", { className: "hide-temps" }, this.hideTemps, " Hide temperature reports"),
      this.consoleLines,
      el("form", { className: "command-form", onsubmit: (e) => this.sendCommand(e) }, this.commandInput,
        el("button", { className: "secondary", type: "submit" }, "Send")),
      this.consoleNote);

    this.chartButton = button("Chart", "link chart-toggle", () => this.toggleChart());
    this.consoleButton = button("Console", "link console-toggle", () => this.toggleConsole());
    this.stopButton = button("Emergency stop", "danger estop", () => this.emergencyStop(), "Send M112: halt the printer at once");

    this.root = el("article", { className: "card", dataset: { id: String(printer.id) } },
      el("header", {}, this.name, this.stateBadge),
      this.identity, this.advice,
      el("div", { className: "temps" }, this.nozzle.root, this.bed.root),
      this.job, this.lastJob, this.start_,
      el("div", { className: "card-actions" }, this.chartButton, this.consoleButton, this.stopButton),
      this.chartCanvas, this.consoleBox);
    this.name.title = "Click to rename";
    this.name.addEventListener("click", () => this.rename());
  }

  render(printer) {
    this.printer = printer;
    const root = this.root;
    root.dataset.state = printer.state;
    this.name.textContent = printer.name;
    this.stateBadge.textContent = STATE_WORDS[printer.state] ?? printer.state;
    const firmware = printer.firmware?.machine_type || printer.firmware?.name;
    this.identity.textContent = [firmware, printer.port].filter(Boolean).join(" · ");
    this.identity.title = `${printer.identity}${printer.firmware?.uuid ? ` · UUID ${printer.firmware.uuid}` : ""}`;
    const advice = ADVICE[printer.state];
    this.advice.hidden = !advice && !printer.error;
    this.advice.textContent = [printer.error, advice].filter(Boolean).join(" — ");
    this.nozzle.show(printer.temperatures.tools[0]);
    this.bed.show(printer.temperatures.bed);
    this.chart.push(sampleOf(printer));

    const job = printer.job;
    this.job.hidden = !job;
    if (job) {
      this.jobFile.textContent = job.file_name;
      this.fill.style.width = `${job.progress}%`;
      this.bar.setAttribute("aria-valuenow", String(job.progress));
      const facts = [`${job.progress.toFixed(1)} %`];
      if (job.layer) facts.push(`layer ${job.layer}${job.layer_count ? ` of ${job.layer_count}` : ""}`);
      facts.push(`${duration(job.elapsed_s)} elapsed`);
      if (job.eta_s != null) facts.push(`${duration(job.eta_s)} left`);
      if (job.resumed_from_line) facts.push(`resumed after line ${job.resumed_from_line}`);
      this.jobFacts.textContent = facts.join(" · ");
      this.pauseButton.hidden = job.paused;
      this.resumeButton.hidden = !job.paused;
    }
    this.renderLastJob();
    const canStart = printer.state === "ready" && !job;
    this.start_.hidden = !canStart;
    if (canStart) this.renderFiles();
    this.stopButton.disabled = !["ready", "printing", "paused"].includes(printer.state);
    this.consoleNote.textContent = job ? SAFE_NOTE : "";
  }

  /// How the printer's last print ended, while no print runs; also called on a timer for "… ago".
  renderLastJob() {
    const last = this.printer.last_job;
    this.lastJob.hidden = !last || Boolean(this.printer.job);
    if (this.lastJob.hidden) return;
    const word = RESULT_WORDS[last.result] ?? last.result;
    this.lastJob.dataset.result = word;
    this.lastFile.textContent = last.file_name;
    this.lastFile.title = last.file_name;
    this.lastOutcome.textContent = `— ${[word, ago(last.ended_at)].filter(Boolean).join(" ")}`;
    this.lastOutcome.title = last.ended_at ? when(last.ended_at) : "";
    const trouble = word === "failed" || word === "interrupted";
    this.lastMessage.hidden = !(trouble && last.message);
    this.lastMessage.textContent = last.message ?? "";
    this.lastMessage.title = last.message ?? "";
    this.lastResume.hidden = word !== "interrupted" || !this.owner.resumeJob;
    this.lastDetail.hidden = this.lastMessage.hidden && this.lastResume.hidden;
    this.lastResume.disabled = this.printer.state !== "ready";
    this.lastResume.title = this.lastResume.disabled
      ? "The printer must be ready to resume"
      : `Resume ${last.file_name} from where it stopped`;
  }

  async resumeLast() {
    const last = this.printer.last_job;
    if (!last) return;
    let job;
    try {
      job = await api(`/api/v1/jobs/${last.id}`);
    } catch (error) {
      toast(`Cannot read the print: ${error.message}`, "error");
      return;
    }
    if (job.acked_line > 0) this.owner.resumeJob(job);
    else toast(`${job.file_name} stopped before its first line: print it again from the start`);
  }

  renderFiles() {
    const files = this.owner.files.files;
    const selected = this.fileSelect.value;
    this.fileSelect.replaceChildren(
      ...(files.length
        ? files.map((f) => el("option", { value: String(f.id), selected: String(f.id) === selected }, f.name))
        : [el("option", { value: "", disabled: true, selected: true }, "Upload a file to print it")]),
    );
    this.printButton.disabled = files.length === 0;
  }

  async start() {
    const fileId = Number(this.fileSelect.value);
    if (!fileId) return;
    try {
      await api(`/api/v1/printers/${this.printer.id}/job`, { method: "POST", json: { file_id: fileId } });
    } catch (error) {
      toast(`Cannot start the print: ${error.message}`, "error");
    }
  }

  async control(action) {
    try {
      await api(`/api/v1/printers/${this.printer.id}/job/${action}`, { method: "POST" });
    } catch (error) {
      toast(`Cannot ${action}: ${error.message}`, "error");
    }
  }

  async cancel() {
    const name = this.printer.job?.file_name ?? "the print";
    const sure = await confirmDialog("Cancel the print?", `${name} stops now on ${this.printer.name}; the heaters are turned off. It cannot be continued later.`, "Cancel print", { danger: true });
    if (sure) this.control("cancel");
  }

  async emergencyStop() {
    const sure = await confirmDialog("Emergency stop?", `${this.printer.name} halts at once (M112). The printer must be reset or power-cycled afterwards, and a running print is lost.`, "Stop now", { danger: true });
    if (!sure) return;
    try {
      await api(`/api/v1/printers/${this.printer.id}/emergency-stop`, { method: "POST" });
    } catch (error) {
      toast(`Emergency stop failed: ${error.message}`, "error");
    }
  }

  async rename() {
    const name = prompt("Printer name", this.printer.name);
    if (name == null || name.trim() === this.printer.name) return;
    try {
      await api(`/api/v1/printers/${this.printer.id}`, { method: "PATCH", json: { name: name.trim() } });
    } catch (error) {
      toast(`Cannot rename: ${error.message}`, "error");
    }
  }

  async toggleChart() {
    this.chartCanvas.hidden = !this.chartCanvas.hidden;
    if (!this.chartCanvas.hidden) {
      try {
        const samples = await api(`/api/v1/printers/${this.printer.id}/temperatures`);
        this.chart.load(samples);
      } catch (error) {
        toast(`Cannot load the temperature history: ${error.message}`, "error");
      }
    }
  }

  toggleConsole() {
    if (this.consoleBox.hidden) {
      this.consoleBox.hidden = false;
      this.consoleLines.textContent = "";
      this.owner.openConsole(this);
      this.commandInput.focus();
    } else {
      this.closeConsole();
    }
  }

  closeConsole() {
    this.consoleBox.hidden = true;
    this.owner.closeConsole(this);
  }

  appendConsole(lines) {
    const atBottom = this.consoleLines.scrollTop + this.consoleLines.clientHeight >= this.consoleLines.scrollHeight - 4;
    for (const line of lines) {
      noteConsoleSeq(line.seq);
      const row = el("div", { className: `line ${line.direction}` }, `${line.direction === "sent" ? "›" : "‹"} ${line.text}`);
      row.dataset.temperature = String(TEMPERATURE_LINE.test(line.text) || /^N\d+ M105\*/.test(line.text) || line.text === "M105");
      this.consoleLines.append(row);
    }
    while (this.consoleLines.childElementCount > 500) this.consoleLines.firstElementChild.remove();
    this.filterConsole();
    if (atBottom) this.consoleLines.scrollTop = this.consoleLines.scrollHeight;
  }

  filterConsole() {
    this.consoleLines.classList.toggle("hide-temperatures", this.hideTemps.checked);
  }

  async sendCommand(event) {
    event.preventDefault();
    const command = this.commandInput.value.trim();
    if (!command) return;
    try {
      await api(`/api/v1/printers/${this.printer.id}/commands`, { method: "POST", json: { command } });
      this.commandInput.value = "";
    } catch (error) {
      toast(error.message, "error");
    }
  }
}

function heaterBox(label, className) {
  const actual = el("span", { className: "actual" }, "—");
  const target = el("span", { className: "target" });
  const root = el("div", { className: `temp ${className}` }, el("span", { className: "label" }, label), actual, target);
  return {
    root,
    show(heater) {
      actual.textContent = celsius(heater?.actual);
      target.textContent = heater?.target ? `→ ${heater.target.toFixed(0)} °C` : heater ? "off" : "";
    },
  };
}
