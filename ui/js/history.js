// The job history of every printer, newest first, with resume for interrupted prints.

import { api } from "./api.js";
import { toast } from "./dialog.js";
import { duration, el, when } from "./format.js";

const RESUMABLE = new Set(["interrupted", "failed", "cancelled"]);

export class JobHistory {
  constructor(root, printerName) {
    this.printerName = printerName;
    this.refreshes = 0;
    this.body = el("tbody");
    this.emptyNote = el("p", { className: "empty" }, "No prints yet.");
    root.append(this.emptyNote, el("table", { className: "history" },
      el("thead", {}, el("tr", {}, ...["Printer", "File", "Result", "Started", "Duration", "Line", ""].map((h) => el("th", {}, h)))),
      this.body));
  }

  async refresh() {
    // Refreshes can overlap; only the latest one's answer is shown, so a slow stale answer
    // never overwrites a newer one.
    const refresh = ++this.refreshes;
    let jobs;
    try {
      jobs = await api("/api/v1/jobs?limit=50");
    } catch (error) {
      if (refresh === this.refreshes) toast(`Cannot load the job history: ${error.message}`, "error");
      return;
    }
    if (refresh !== this.refreshes) return;
    this.emptyNote.hidden = jobs.length > 0;
    this.body.replaceChildren(...jobs.map((job) => this.row(job)));
  }

  row(job) {
    const end = job.ended_at ? new Date(job.ended_at) : new Date();
    const seconds = job.started_at ? (end - new Date(job.started_at)) / 1000 : null;
    const resume = RESUMABLE.has(job.state) && job.acked_line > 0
      ? el("button", { className: "link resume-job", type: "button", onclick: () => this.resume(job) }, `Resume after line ${job.acked_line}`)
      : null;
    return el("tr", { dataset: { id: String(job.id), state: job.state } },
      el("td", {}, this.printerName(job.printer_id)),
      el("td", {}, job.file_name),
      el("td", { className: `result ${job.state}`, title: job.message ?? "" }, job.state + (job.message ? ` — ${job.message}` : "")),
      el("td", {}, when(job.started_at)),
      el("td", {}, duration(seconds)),
      el("td", {}, String(job.acked_line)),
      el("td", {}, resume));
  }

  async resume(job) {
    const answer = prompt(`Resume ${job.file_name} after which line? (the last acknowledged line was ${job.acked_line})`, String(job.acked_line));
    if (answer == null) return;
    const line = Number(answer);
    if (!Number.isInteger(line) || line < 1) {
      toast("Give a line number, e.g. 1234", "error");
      return;
    }
    try {
      await api(`/api/v1/jobs/${job.id}/resume`, { method: "POST", json: { after_line: line } });
      toast(`Resuming ${job.file_name} after line ${line}`);
      await this.refresh();
    } catch (error) {
      toast(`Cannot resume: ${error.message}`, "error");
    }
  }
}
