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

const SW = 360;
const SH = 130;
const LEFT = 44;
const BOTTOM = 18;
const clock = (time) => new Date(time).toISOString().slice(11, 19);
const shortNumber = (value) => String(Number(value.toPrecision(3)));

// A metric over its run's window as the engine's series answer has it (Prometheus's range
// query for a prometheus metric): a line per series, the threshold, the first and last time.
export function seriesChart(answer, condition) {
  const lines = (answer.series || []).filter((s) => s.points.length);
  const points = lines.flatMap((s) => s.points);
  const start = Date.parse(answer.start || (points[0] && points[0].time) || 0);
  const end = Math.max(Date.parse(answer.end || (points.length && points[points.length - 1].time) || 0), start + 1);
  const line = threshold(condition);
  const values = points.map((p) => p.value).concat(line ? [line.limit] : []);
  const low = Math.min(0, ...values);
  const high = Math.max(...values, low + 1e-9);
  const x = (time) => LEFT + ((Date.parse(time) - start) / (end - start)) * (SW - LEFT - PAD);
  const y = (value) => SH - BOTTOM - ((value - low) / (high - low || 1)) * (SH - BOTTOM - PAD);
  const latest = lines.length ? lines[0].points[lines[0].points.length - 1].value : null;
  const from = answer.source === "prometheus" ? "from Prometheus" : "as measured";
  const label = `${answer.metric} over the run ${from}: ${lines.length} series, ${points.length} points`
    + (latest !== null ? `, latest ${shortNumber(latest)}` : "")
    + (condition ? `, passes when ${condition}` : "");
  const parts = [
    svg("rect", { class: "frame", x: 0, y: 0, width: SW, height: SH, rx: 6 }),
    svg("text", { class: "axis", x: LEFT - 4, y: PAD + 4, "text-anchor": "end" }, shortNumber(high)),
    svg("text", { class: "axis", x: LEFT - 4, y: SH - BOTTOM, "text-anchor": "end" }, shortNumber(low)),
    svg("text", { class: "axis", x: LEFT, y: SH - 4 }, clock(start)),
    svg("text", { class: "axis", x: SW - PAD, y: SH - 4, "text-anchor": "end" }, clock(end)),
  ];
  if (line) {
    parts.push(svg("line", { class: "threshold", x1: LEFT, x2: SW - PAD, y1: y(line.limit), y2: y(line.limit),
      "data-limit": line.limit }));
    parts.push(svg("text", { class: "limit", x: SW - PAD, y: y(line.limit) - 4, "text-anchor": "end" },
      `${line.op} ${line.limit}`));
  }
  lines.forEach((series, index) => {
    const drawn = series.points.map((p) => `${x(p.time).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
    parts.push(svg("polyline", { class: `series line-${index % 4}`, points: drawn,
      "data-points": series.points.length, "data-labels": JSON.stringify(series.labels) }));
  });
  if (!points.length) {
    parts.push(svg("text", { class: "axis", x: SW / 2, y: SH / 2, "text-anchor": "middle" }, "no data in the window"));
  }
  return svg("svg", { class: "metric-chart series-chart", viewBox: `0 0 ${SW} ${SH}`, width: SW, height: SH,
    role: "img", "aria-label": label, "data-source": answer.source }, parts);
}
