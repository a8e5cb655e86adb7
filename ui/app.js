// The dashboard: one WebSocket carries a snapshot and then every printer change.
// It reconnects by itself (with a capped back-off) when the daemon restarts.

const STATE_WORDS = {
  connecting: "Connecting",
  ready: "Ready",
  printing: "Printing",
  paused: "Paused",
  error: "Error",
  offline: "Offline",
};

const grid = document.getElementById("printers");
const empty = document.getElementById("empty");
const summary = document.getElementById("summary");
const link = document.getElementById("link");
const template = document.getElementById("printer-card");
const printers = new Map();

function celsius(value) {
  return value == null ? "—" : `${value.toFixed(1)} °C`;
}

function showHeater(el, heater) {
  el.querySelector(".actual").textContent = celsius(heater?.actual);
  const target = heater?.target;
  el.querySelector(".target").textContent = target ? `→ ${target.toFixed(0)} °C` : heater ? "off" : "";
}

function cardFor(id) {
  let card = grid.querySelector(`[data-id="${id}"]`);
  if (!card) {
    card = template.content.firstElementChild.cloneNode(true);
    card.dataset.id = id;
    grid.append(card);
  }
  return card;
}

function render(printer) {
  printers.set(printer.id, printer);
  const card = cardFor(printer.id);
  card.dataset.state = printer.state;
  card.querySelector(".name").textContent = printer.name;
  card.querySelector(".name").title = printer.name;
  card.querySelector(".state").textContent = STATE_WORDS[printer.state] ?? printer.state;
  const firmware = printer.firmware?.machine_type || printer.firmware?.name;
  const identity = [firmware, printer.port].filter(Boolean).join(" · ");
  card.querySelector(".identity").textContent = identity;
  card.querySelector(".identity").title = `${printer.identity}${printer.firmware?.uuid ? ` · UUID ${printer.firmware.uuid}` : ""}`;
  showHeater(card.querySelector(".nozzle"), printer.temperatures.tools[0]);
  showHeater(card.querySelector(".bed"), printer.temperatures.bed);
  const error = card.querySelector(".error");
  error.hidden = !printer.error;
  error.textContent = printer.error ?? "";
}

function renderSummary() {
  const all = [...printers.values()];
  empty.hidden = all.length > 0;
  const ready = all.filter((p) => p.state === "ready").length;
  summary.textContent = all.length ? `${all.length} printer${all.length === 1 ? "" : "s"} · ${ready} ready` : "";
}

function snapshot(list) {
  const ids = new Set(list.map((p) => p.id));
  for (const id of printers.keys()) {
    if (!ids.has(id)) {
      printers.delete(id);
      grid.querySelector(`[data-id="${id}"]`)?.remove();
    }
  }
  list.forEach(render);
  renderSummary();
}

function setLink(state, text) {
  link.dataset.state = state;
  link.textContent = text;
}

let retry = 0;
function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/api/v1/live`);
  socket.addEventListener("open", () => {
    retry = 0;
    setLink("live", "Live");
  });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "snapshot") snapshot(message.printers);
    else if (message.type === "printer") {
      render(message.printer);
      renderSummary();
    }
  });
  socket.addEventListener("close", () => {
    const delay = Math.min(500 * 2 ** retry, 5000);
    retry += 1;
    setLink("lost", "Gantry is not answering — reconnecting…");
    setTimeout(connect, delay);
  });
}

connect();
