// One WebSocket per page: a snapshot, then every printer change, plus console lines for the
// printer whose console is open. Reconnects by itself with a capped back-off.

const listeners = { snapshot: [], printer: [], console: [], link: [] };
let socket = null;
let consoleWanted = null; // { printer, after }
let retry = 0;

export function on(type, listener) {
  listeners[type].push(listener);
}

function emit(type, value) {
  for (const listener of listeners[type]) listener(value);
}

function send(message) {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

/// Streams the console of `printer` (or none) from sequence number `after`.
export function watchConsole(printer, after = 0) {
  consoleWanted = printer == null ? null : { printer, after };
  send({ type: "console", printer: printer ?? null, after });
}

export function noteConsoleSeq(seq) {
  if (consoleWanted) consoleWanted.after = Math.max(consoleWanted.after, seq);
}

export function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/api/v1/live`);
  socket.addEventListener("open", () => {
    retry = 0;
    emit("link", "live");
    if (consoleWanted) send({ type: "console", ...consoleWanted });
  });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "snapshot") emit("snapshot", message.printers);
    else if (message.type === "printer") emit("printer", message.printer);
    else if (message.type === "console") emit("console", message);
  });
  socket.addEventListener("close", () => {
    const delay = Math.min(500 * 2 ** retry, 5000);
    retry += 1;
    emit("link", "lost");
    setTimeout(connect, delay);
  });
}
