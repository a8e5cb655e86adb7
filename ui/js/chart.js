// A live temperature chart on a canvas: the last 30 minutes of actual and target values for
// the nozzle and the bed. No library: a few dozen lines of drawing.

const WINDOW_MS = 30 * 60 * 1000;
const SERIES = [
  { key: "tool", label: "Nozzle", color: "#dc2626" },
  { key: "bed", label: "Bed", color: "#2563eb" },
];

export class TemperatureChart {
  constructor(canvas) {
    this.canvas = canvas;
    this.samples = [];
  }

  load(samples) {
    this.samples = samples.slice();
    this.draw();
  }

  push(sample) {
    const last = this.samples[this.samples.length - 1];
    if (last && sample.t - last.t < 900) return; // one point a second is plenty
    this.samples.push(sample);
    const cutoff = sample.t - WINDOW_MS;
    while (this.samples.length && this.samples[0].t < cutoff) this.samples.shift();
    this.draw();
  }

  draw() {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 300;
    const height = canvas.clientHeight || 120;
    if (canvas.width !== width * ratio) {
      canvas.width = width * ratio;
      canvas.height = height * ratio;
    }
    const g = canvas.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);
    const now = this.samples.length ? this.samples[this.samples.length - 1].t : Date.now();
    const values = this.samples.flatMap((s) =>
      SERIES.flatMap(({ key }) => [s[key]?.actual, s[key]?.target].filter((v) => v != null && v > 0)),
    );
    const top = Math.max(50, ...values) * 1.1;
    const pad = { left: 30, right: 6, top: 6, bottom: 14 };
    const x = (t) => pad.left + ((t - (now - WINDOW_MS)) / WINDOW_MS) * (width - pad.left - pad.right);
    const y = (v) => height - pad.bottom - (v / top) * (height - pad.top - pad.bottom);

    g.strokeStyle = "#e5e7eb";
    g.fillStyle = "#6b7280";
    g.font = "10px system-ui, sans-serif";
    g.lineWidth = 1;
    for (let v = 0; v <= top; v += top > 200 ? 100 : 50) {
      g.beginPath();
      g.moveTo(pad.left, y(v));
      g.lineTo(width - pad.right, y(v));
      g.stroke();
      g.fillText(String(v), 2, y(v) + 3);
    }
    g.fillText("−30 min", pad.left, height - 2);
    g.fillText("now", width - pad.right - 20, height - 2);

    for (const { key, color } of SERIES) {
      for (const [field, dash] of [["target", [4, 3]], ["actual", []]]) {
        g.beginPath();
        g.setLineDash(dash);
        g.strokeStyle = color;
        g.lineWidth = field === "actual" ? 2 : 1;
        let started = false;
        for (const sample of this.samples) {
          const v = sample[key]?.[field];
          if (v == null) {
            started = false;
            continue;
          }
          if (started) g.lineTo(x(sample.t), y(v));
          else g.moveTo(x(sample.t), y(v));
          started = true;
        }
        g.stroke();
      }
    }
    g.setLineDash([]);
  }
}

/// A chart sample from a printer view.
export function sampleOf(printer, t = Date.now()) {
  const tool = printer.temperatures.tools[0];
  return { t, tool: tool ?? null, bed: printer.temperatures.bed ?? null };
}
