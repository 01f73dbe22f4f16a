// Verification charts: each metric's measurements over time against its condition's threshold.

import { svg } from "./view.js";

const W = 260;
const H = 90;
const PAD = 10;

// A number out of a measurement's value: 0.02, "0.02", [0.02] or {"value": 0.02}; else null.
export function numeric(value) {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  if (Array.isArray(value) && value.length === 1) return numeric(value[0]);
  if (value && typeof value === "object" && "value" in value) return numeric(value.value);
  return null;
}

// The threshold of a condition such as "result < 0.05" or "result[0] <= 500": {op, limit}.
export function threshold(condition) {
  const match = /result(?:\[0\])?\s*(<=|>=|<|>|==)\s*(-?\d+(?:\.\d+)?)/.exec(String(condition || ""));
  return match ? { op: match[1], limit: Number(match[2]) } : null;
}

export function metricChart(metric, condition) {
  const points = (metric.measurements || []).map((m, index) => ({ index, value: numeric(m.value), phase: m.phase }));
  const numbers = points.filter((p) => p.value !== null);
  const line = threshold(condition);
  const count = points.length;
  const last = numbers.length ? numbers[numbers.length - 1].value : null;
  const label = `${metric.name}: ${count} measurement${count === 1 ? "" : "s"}`
    + (last !== null ? `, latest ${Number(last.toPrecision(4))}` : "")
    + (condition ? `, passes when ${condition}` : "")
    + `, ${metric.successful || 0} ok, ${metric.failed || 0} failed`;
  const x = (index) => PAD + (count <= 1 ? (W - 2 * PAD) / 2 : (index * (W - 2 * PAD)) / (count - 1));
  const values = numbers.map((p) => p.value).concat(line ? [line.limit] : []);
  const low = Math.min(0, ...values);
  const high = Math.max(...values, low + 1e-9);
  const y = (value) => H - PAD - ((value - low) / (high - low || 1)) * (H - 2 * PAD);
  const parts = [svg("rect", { class: "frame", x: 0, y: 0, width: W, height: H, rx: 6 })];
  if (line) {
    parts.push(svg("line", { class: "threshold", x1: PAD, x2: W - PAD, y1: y(line.limit), y2: y(line.limit),
      "data-limit": line.limit }));
    parts.push(svg("text", { class: "limit", x: W - PAD, y: y(line.limit) - 4, "text-anchor": "end" },
      `${line.op} ${line.limit}`));
  }
  if (numbers.length > 1) {
    parts.push(svg("polyline", { class: "series", points: numbers.map((p) => `${x(p.index)},${y(p.value)}`).join(" ") }));
  }
  for (const p of points) {
    parts.push(svg("circle", { class: `point ${String(p.phase || "").toLowerCase()}`, r: 4,
      cx: x(p.index), cy: p.value === null ? H / 2 : y(p.value), "data-value": p.value ?? "" }));
  }
  return svg("svg", { class: "metric-chart", viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img",
    "aria-label": label }, parts);
}
