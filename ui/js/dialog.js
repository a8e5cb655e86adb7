// A confirmation dialog that says what will happen, with a clearly labelled button.

import { el } from "./format.js";

export function confirmDialog(title, message, confirmLabel, { danger = false } = {}) {
  return new Promise((resolve) => {
    const dialog = el(
      "dialog",
      { className: "confirm" },
      el("h3", {}, title),
      el("p", {}, message),
      el(
        "form",
        { method: "dialog", className: "dialog-actions" },
        el("button", { value: "no", className: "secondary" }, "Keep going"),
        el("button", { value: "yes", className: danger ? "danger" : "primary" }, confirmLabel),
      ),
    );
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "yes");
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/// A short message at the bottom of the screen.
export function toast(message, kind = "info") {
  const note = el("div", { className: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  document.body.append(note);
  setTimeout(() => note.remove(), kind === "error" ? 8000 : 4000);
}
