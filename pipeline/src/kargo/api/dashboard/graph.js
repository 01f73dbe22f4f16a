// The pipeline graph: warehouses and stages as SVG nodes laid out from the stages'
// requestedFreight sources, arrows from upstream to downstream (fan-out and fan-in as drawn).

import { short, svg } from "./view.js";

const NODE_W = 230;
const NODE_H = 104;
const GAP_X = 70;
const GAP_Y = 22;
const subject = (message) => String(message || "").split("\n")[0];
const LINE_LENGTH = 32; // characters of a stage node's line that fit its box
const clip = (text, length) => (text.length > length ? `${text.slice(0, length - 1)}…` : text);

// Nodes and edges of the project: {id, kind, name, stage?}, {from, to}.
export function pipelineShape(warehouses, stages) {
  const nodes = new Map();
  const edges = [];
  for (const w of warehouses) nodes.set(`warehouse:${w.metadata.name}`, { kind: "warehouse", name: w.metadata.name });
  for (const stage of stages) nodes.set(`stage:${stage.metadata.name}`, { kind: "stage", name: stage.metadata.name, stage });
  for (const stage of stages) {
    const to = `stage:${stage.metadata.name}`;
    for (const request of stage.spec.requestedFreight || []) {
      const sources = request.sources || {};
      const origin = `warehouse:${(request.origin || {}).name}`;
      if (sources.direct) {
        if (!nodes.has(origin)) nodes.set(origin, { kind: "warehouse", name: request.origin.name });
        edges.push({ from: origin, to });
      }
      for (const upstream of sources.stages || []) {
        if (nodes.has(`stage:${upstream}`)) edges.push({ from: `stage:${upstream}`, to });
      }
    }
  }
  const unique = [...new Map(edges.map((e) => [`${e.from}>${e.to}`, e])).values()];
  return { nodes, edges: unique };
}

// Columns by longest path from a warehouse; rows in the order the nodes come.
function layout(shape) {
  const depth = new Map();
  const incoming = (id) => shape.edges.filter((e) => e.to === id).map((e) => e.from);
  const depthOf = (id, seen = new Set()) => {
    if (depth.has(id)) return depth.get(id);
    if (seen.has(id)) return 0; // a cycle; the engine refuses those, draw it anyway
    seen.add(id);
    const from = incoming(id);
    const value = shape.nodes.get(id).kind === "warehouse" || !from.length
      ? (shape.nodes.get(id).kind === "warehouse" ? 0 : 1)
      : 1 + Math.max(...from.map((f) => depthOf(f, seen)));
    depth.set(id, value);
    return value;
  };
  const columns = [];
  for (const id of shape.nodes.keys()) {
    const column = depthOf(id);
    (columns[column] ||= []).push(id);
  }
  const tallest = Math.max(1, ...columns.map((c) => (c ? c.length : 0)));
  const height = tallest * (NODE_H + GAP_Y) - GAP_Y;
  const place = new Map();
  columns.forEach((ids, column) => {
    if (!ids) return;
    const offset = (height - (ids.length * (NODE_H + GAP_Y) - GAP_Y)) / 2;
    ids.forEach((id, row) => place.set(id, {
      x: column * (NODE_W + GAP_X), y: offset + row * (NODE_H + GAP_Y),
    }));
  });
  return { place, width: columns.length * (NODE_W + GAP_X) - GAP_X, height };
}

// How far the stage's running promotion is: {step, steps} (steps 0 when unknown).
function progressOf(stage, promotions) {
  const running = (stage.status || {}).currentPromotion;
  if (!running) return null;
  const found = promotions.find((p) => p.metadata.name === running.name);
  const status = (found && found.status) || {};
  const steps = (found && (found.spec.steps || []).length) || (status.stepExecutionMetadata || []).length;
  return { step: Math.min((status.currentStep || 0) + 1, steps || 1), steps };
}

function stageLines(stage, freightByName, progress) {
  const status = stage.status || {};
  const head = (status.freightHistory || [])[0];
  const found = head ? freightByName.get(head.name) : null;
  const commit = (head && head.commits && head.commits[0]) || (found && (found.commits || [])[0]);
  const verification = head && head.verificationHistory && head.verificationHistory[0];
  const health = (status.health && status.health.status) || "Unknown";
  const lines = [
    head ? `${head.alias || short(head.name)} · ${clip(subject(commit && commit.message), 22)}` : "no freight yet",
    `health ${health}${stage.spec.verification ? ` · verify ${verification ? verification.phase : "Pending"}` : ""}`,
  ];
  const shown = lines.map((line) => clip(line, LINE_LENGTH));
  const running = status.currentPromotion;
  if (running) {
    const where = progress && progress.steps ? ` step ${progress.step}/${progress.steps}` : "…";
    const alias = running.freightAlias || short(running.freight);
    lines.push(`promoting ${alias}${where}`);
    // On the node's clipped line the alias gives way, so that the step stays visible.
    shown.push(`promoting ${clip(alias, LINE_LENGTH - "promoting ".length - where.length)}${where}`);
  }
  return { lines, shown, health, verification: verification && verification.phase, running: Boolean(running) };
}

function badgeOf(stage, freight) {
  const annotations = stage.metadata.annotations || {};
  if (annotations["kargo.akuity.io/auto-promotion-hold"]) return "held";
  const name = stage.metadata.name;
  const soaking = freight.some((f) => ((f.status || {}).soakRemainingSeconds || {})[name] > 0);
  if (soaking) return "soaking";
  const gated = (stage.spec.requestedFreight || []).some((r) => !(r.sources || {}).direct);
  return gated ? "needs verified freight or approval" : "";
}

// The graph as an SVG element; onOpen(stageName) for a click, Enter or Space on a stage,
// onDrop(stageName, freightName) when freight is dragged onto one.
export function pipelineGraph({ warehouses, stages, freight, promotions = [], colours, onOpen, onDrop }) {
  const shape = pipelineShape(warehouses, stages);
  const { place, width, height } = layout(shape);
  const freightByName = new Map(freight.map((f) => [f.metadata.name, f]));
  const arrows = shape.edges.map((edge) => {
    const a = place.get(edge.from);
    const b = place.get(edge.to);
    const x1 = a.x + NODE_W;
    const y1 = a.y + NODE_H / 2;
    const x2 = b.x - 6;
    const y2 = b.y + NODE_H / 2;
    const bend = (x2 - x1) / 2;
    return svg("path", {
      class: "edge", d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`,
      "marker-end": "url(#arrow)", "data-from": edge.from.split(":")[1], "data-to": edge.to.split(":")[1],
    });
  });
  const nodes = [...shape.nodes.entries()].map(([id, node]) => {
    const { x, y } = place.get(id);
    if (node.kind === "warehouse") {
      return svg("g", { class: "node warehouse", transform: `translate(${x},${y})`, "data-node": id },
        svg("rect", { width: NODE_W, height: NODE_H, rx: 12 }),
        svg("text", { x: 14, y: 30, class: "kind" }, "Warehouse"),
        svg("text", { x: 14, y: 56, class: "title" }, clip(node.name, 24)),
        svg("text", { x: 14, y: 82, class: "line" }, `${freight.filter((f) => (f.origin || {}).name === node.name).length} freight`));
    }
    const progress = progressOf(node.stage, promotions);
    const { lines, shown, health, running } = stageLines(node.stage, freightByName, progress);
    const done = progress && progress.steps ? (progress.step - 1) / progress.steps : 0;
    const badge = badgeOf(node.stage, freight);
    const label = `Stage ${node.name}: ${lines.join(", ")}${badge ? `, ${badge}` : ""}`;
    const group = svg("g", {
      class: `node stage health-${health.toLowerCase()}${running ? " running" : ""}`,
      transform: `translate(${x},${y})`, tabindex: 0, role: "button", "aria-label": label,
      "data-node": id, "data-stage": node.name, "data-key": `node:${node.name}`,
    },
    svg("rect", { width: NODE_W, height: NODE_H, rx: 12 }),
    svg("rect", { class: "swatch", width: 8, height: NODE_H, rx: 4, fill: colours(node.name) }),
    svg("text", { x: 18, y: 24, class: "title" }, clip(node.name, 22)),
    shown.map((line, index) => svg("text", { x: 18, y: 46 + index * 18, class: "line" }, line)),
    badge ? svg("text", { x: NODE_W - 10, y: 24, class: "badge-text", "text-anchor": "end" }, badge === "needs verified freight or approval" ? "gated" : badge) : null,
    running ? svg("rect", { class: "track", x: 18, y: NODE_H - 10, width: NODE_W - 36, height: 4, rx: 2 }) : null,
    running ? svg("rect", { class: "progress", x: 18, y: NODE_H - 10, width: Math.max(8, (NODE_W - 36) * done), height: 4, rx: 2,
      "data-done": done.toFixed(2) }) : null);
    const open = () => onOpen(node.name);
    group.addEventListener("click", open);
    group.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); open(); }
    });
    group.addEventListener("dragover", (event) => { event.preventDefault(); group.classList.add("drop"); });
    group.addEventListener("dragleave", () => group.classList.remove("drop"));
    group.addEventListener("drop", (event) => {
      event.preventDefault();
      group.classList.remove("drop");
      const name = event.dataTransfer.getData("application/x-kargo-freight");
      if (name) onDrop(node.name, name);
    });
    return group;
  });
  return svg("svg", {
    class: "graph", viewBox: `-2 -2 ${width + 4} ${height + 4}`, width: width + 4, height: height + 4,
    "aria-labelledby": "pipeline-title",
  },
  svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 8,
    markerHeight: 8, orient: "auto-start-reverse" }, svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }))),
  arrows, nodes);
}
