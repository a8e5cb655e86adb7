// The file library: drag-and-drop or picker uploads with a progress bar, and the list with
// the slicer's metadata, thumbnail, rename and delete.

import { api, upload } from "./api.js";
import { confirmDialog, toast } from "./dialog.js";
import { bytes, duration, el, when } from "./format.js";

const ACCEPTED = /\.(gcode|gco|g)$/i;

export class FileLibrary {
  constructor(root) {
    this.files = [];
    this.listeners = [];
    this.input = el("input", { type: "file", accept: ".gcode,.gco,.g", multiple: true, hidden: true,
      onchange: () => this.uploadAll([...this.input.files]) });
    this.progress = el("div", { className: "uploads" });
    this.drop = el("div", { className: "drop", tabIndex: 0, role: "button",
      onclick: () => this.input.click(),
      onkeydown: (e) => (e.key === "Enter" || e.key === " ") && this.input.click() },
      el("strong", {}, "Drop G-code files here"), " or click to choose (.gcode, .gco, .g)");
    for (const type of ["dragenter", "dragover"]) {
      this.drop.addEventListener(type, (e) => { e.preventDefault(); this.drop.classList.add("over"); });
    }
    for (const type of ["dragleave", "drop"]) {
      this.drop.addEventListener(type, () => this.drop.classList.remove("over"));
    }
    this.drop.addEventListener("drop", (e) => { e.preventDefault(); this.uploadAll([...e.dataTransfer.files]); });
    this.table = el("tbody");
    this.emptyNote = el("p", { className: "empty" }, "No files yet. Upload a sliced .gcode file to print it.");
    root.append(this.input, this.drop, this.progress, this.emptyNote,
      el("table", { className: "files" },
        el("thead", {}, el("tr", {}, ...["", "Name", "Size", "Print time", "Filament", "Layers", "Uploaded", ""].map((h) => el("th", {}, h)))),
        this.table));
  }

  onChange(listener) {
    this.listeners.push(listener);
  }

  async refresh() {
    try {
      this.files = await api("/api/v1/files");
    } catch (error) {
      toast(`Cannot list the files: ${error.message}`, "error");
      return;
    }
    this.render();
    this.listeners.forEach((l) => l(this.files));
  }

  render() {
    this.emptyNote.hidden = this.files.length > 0;
    this.table.replaceChildren(...this.files.map((file) => this.row(file)));
  }

  row(file) {
    const m = file.metadata ?? {};
    const filament = [m.filament_used_g != null ? `${m.filament_used_g.toFixed(1)} g` : null,
      m.filament_used_mm != null ? `${(m.filament_used_mm / 1000).toFixed(2)} m` : null, m.filament_type].filter(Boolean).join(" · ");
    const layers = [m.layer_count, m.layer_height_mm != null ? `${m.layer_height_mm} mm` : null].filter((v) => v != null).join(" × ");
    return el("tr", { dataset: { id: String(file.id) } },
      el("td", { className: "thumb" }, file.thumbnail ? el("img", { src: file.thumbnail, alt: "", loading: "lazy", width: 48, height: 48 }) : null),
      el("td", { className: "file-name", title: m.slicer ?? "" }, file.name),
      el("td", {}, bytes(file.size)),
      el("td", {}, m.estimated_time_s != null ? duration(m.estimated_time_s) : "—"),
      el("td", {}, filament || "—"),
      el("td", {}, layers || "—"),
      el("td", {}, when(file.uploaded_at)),
      el("td", { className: "row-actions" },
        el("button", { className: "link", type: "button", onclick: () => this.rename(file) }, "Rename"),
        el("button", { className: "link danger-text", type: "button", onclick: () => this.remove(file) }, "Delete")));
  }

  async uploadAll(files) {
    this.input.value = "";
    for (const file of files) await this.uploadOne(file);
    await this.refresh();
  }

  async uploadOne(file) {
    if (/\.bgcode$/i.test(file.name)) {
      toast(`${file.name}: binary G-code (.bgcode) is not supported yet; export plain .gcode from the slicer.`, "error");
      return;
    }
    if (!ACCEPTED.test(file.name)) {
      toast(`${file.name}: only G-code files (.gcode, .gco, .g) can be printed.`, "error");
      return;
    }
    const fill = el("div", { className: "fill" });
    const label = el("span", {}, `${file.name} — 0 %`);
    const bar = el("div", { className: "upload" }, label, el("div", { className: "bar", role: "progressbar" }, fill));
    this.progress.append(bar);
    const show = (fraction) => {
      const percent = Math.round(fraction * 100);
      fill.style.width = `${percent}%`;
      label.textContent = `${file.name} — ${percent} %`;
    };
    try {
      const exists = this.files.some((f) => f.name === file.name);
      if (exists && !(await confirmDialog("Replace the file?", `${file.name} is already in the library.`, "Replace"))) return;
      await upload(file, show, { overwrite: exists });
      show(1);
      bar.classList.add("done");
      toast(`${file.name} uploaded`);
    } catch (error) {
      bar.classList.add("failed");
      label.textContent = `${file.name} — ${error.message}`;
      toast(`${file.name}: ${error.message}`, "error");
    } finally {
      setTimeout(() => bar.remove(), 4000);
    }
  }

  async rename(file) {
    const name = prompt("New file name", file.name);
    if (name == null || name === file.name) return;
    try {
      await api(`/api/v1/files/${file.id}`, { method: "PATCH", json: { name } });
      await this.refresh();
    } catch (error) {
      toast(`Cannot rename: ${error.message}`, "error");
    }
  }

  async remove(file) {
    if (!(await confirmDialog("Delete the file?", `${file.name} is removed from this computer.`, "Delete", { danger: true }))) return;
    try {
      await api(`/api/v1/files/${file.id}`, { method: "DELETE" });
      await this.refresh();
    } catch (error) {
      toast(`Cannot delete: ${error.message}`, "error");
    }
  }
}
