// Building the page: elements whose text is always set as text (never parsed as HTML).

import { morph } from "./morph.js";

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "onclick") node.onclick = value; // a property, so that morph() can swap it
    else if (name === "className") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A table's head and rows, updated in place; a row's `key` (rows are arrays of cells, see
// keyed()) keeps its nodes with it when rows come and go.
export function table(node, headings, rows, empty) {
  const head = el("thead", {}, el("tr", {}, headings.map((h) => el("th", { scope: "col" }, h))));
  const body = el("tbody", {}, rows.length
    ? rows.map((cells) => el("tr", { "data-key": cells.key }, cells.map((cell) => el("td", {}, cell))))
    : el("tr", {}, el("td", { colspan: headings.length, className: "muted" }, empty)));
  morph(node, head, body);
}

export const keyed = (key, cells) => Object.assign(cells, { key });

export function age(timestamp, now = Date.now()) {
  if (!timestamp) return "";
  const seconds = Math.max(0, Math.round((now - Date.parse(timestamp)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

export const short = (id, length = 7) => String(id || "").slice(0, length);

export function phaseBadge(phase) {
  const value = phase || "Pending";
  const tone = {
    Succeeded: "ok", Successful: "ok", Healthy: "ok",
    Failed: "bad", Errored: "bad", Error: "bad", Unhealthy: "bad", Aborted: "bad",
    Running: "busy", Pending: "busy", Progressing: "busy",
  }[value] || "plain";
  return el("span", { className: `badge ${tone}` }, value);
}

// Stages in pipeline order: those fed by a warehouse first, then each after its sources.
export function pipelineOrder(stages) {
  const byName = new Map(stages.map((s) => [s.metadata.name, s]));
  const sources = (stage) => (stage.spec.requestedFreight || [])
    .flatMap((r) => (r.sources && r.sources.stages) || []).filter((n) => byName.has(n));
  const placed = [];
  const seen = new Set();
  const visit = (stage) => {
    if (seen.has(stage.metadata.name)) return;
    seen.add(stage.metadata.name);
    sources(stage).forEach((name) => visit(byName.get(name)));
    placed.push(stage);
  };
  [...stages].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)).forEach(visit);
  return placed;
}

const SVG = "http://www.w3.org/2000/svg";

export function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Re-render, then put the focus back on the element with the same data-key (the page is
// rebuilt on every change; without this the focus would fall to the body).
export function keepingFocus(render) {
  const before = document.activeElement;
  const key = before && before.getAttribute ? before.getAttribute("data-key") : null;
  const result = render();
  const settle = () => {
    if (!key || (document.activeElement && document.activeElement !== document.body
      && document.activeElement.isConnected)) return;
    const again = document.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (again) again.focus();
  };
  return result instanceof Promise ? result.then((value) => { settle(); return value; }) : (settle(), result);
}

// A colour for each stage, in pipeline order (the same in the graph and the timeline).
const PALETTE = ["#3b82f6", "#16a34a", "#d97706", "#db2777", "#7c3aed", "#0891b2", "#dc2626", "#65a30d"];
export function stageColours(stages) {
  const index = new Map(stages.map((s, i) => [s.metadata.name, i]));
  return (name) => PALETTE[(index.get(name) ?? 0) % PALETTE.length];
}
