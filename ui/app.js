// The dashboard's entry point: wires the live connection to the printer cards, the file
// library and the job history.

import { showCloudBanner } from "./js/cloud-banner.js";
import { FileLibrary } from "./js/files.js";
import "./js/keys.js";
import { JobHistory } from "./js/history.js";
import { connect, on } from "./js/live.js";
import { Ports } from "./js/ports.js";
import { PrinterCards } from "./js/printers.js";

const link = document.getElementById("link");
const files = new FileLibrary(document.getElementById("files"));
const cards = new PrinterCards(
  document.getElementById("printers"),
  document.getElementById("empty"),
  document.getElementById("summary"),
  files,
  (job) => history.resume(job),
);
new Ports(document.getElementById("ports"));
const history = new JobHistory(document.getElementById("history"), (id) => cards.cards.get(id)?.printer.name ?? `Printer ${id}`);

// A job that starts or ends changes the history. The card can drop a job before the journal
// has its end; `last_job` changes once it has, so either change refreshes the history.
const seenJobs = new Map();
function noteJob(printer) {
  const key = `${printer.job?.id ?? ""} ${printer.last_job?.id ?? ""} ${printer.last_job?.result ?? ""}`;
  if (seenJobs.has(printer.id) && seenJobs.get(printer.id) !== key) history.refresh();
  seenJobs.set(printer.id, key);
}

on("snapshot", (printers) => {
  cards.snapshot(printers);
  printers.forEach(noteJob);
  files.refresh();
  history.refresh();
});
on("printer", (printer) => {
  cards.update(printer);
  noteJob(printer);
});
on("console", (message) => cards.console(message));
on("link", (state) => {
  link.dataset.state = state;
  link.textContent = state === "live" ? "Live" : "Gantry is not answering — reconnecting…";
});

connect();
showCloudBanner(document.getElementById("cloud-banner"));
