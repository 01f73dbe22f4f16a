// The freight timeline: freight newest first, each marked with the stages it is in (filled)
// and has been verified in (ringed); selecting one shows its artifacts and where it can go.

import { age, el, short, svg } from "./view.js";

const subject = (message) => String(message || "").split("\n")[0];

function marks(f, stages, colours) {
  const status = f.status || {};
  return stages.map((stage) => {
    const name = stage.metadata.name;
    const here = Boolean((status.currentlyIn || {})[name]);
    const verified = Boolean((status.verifiedIn || {})[name]);
    if (!here && !verified) return null;
    return svg("circle", {
      cx: 0, cy: 0, r: 6, class: here ? "in" : "verified", fill: here ? colours(name) : "none",
      stroke: colours(name), "stroke-width": 3, "data-stage": name, "data-mark": here ? "in" : "verified",
    });
  }).filter(Boolean).map((circle, index) => {
    circle.setAttribute("cx", String(8 + index * 16));
    circle.setAttribute("cy", "8");
    return circle;
  });
}

function describe(f, stages) {
  const status = f.status || {};
  const inStages = stages.map((s) => s.metadata.name).filter((n) => (status.currentlyIn || {})[n]);
  const verified = stages.map((s) => s.metadata.name).filter((n) => (status.verifiedIn || {})[n]);
  return `${f.alias || short(f.metadata.name)}: in ${inStages.join(", ") || "no stage"}; `
    + `verified in ${verified.join(", ") || "none"}`;
}

// The chips; onSelect(freightName) on click; each chip can be dragged onto a stage of the graph.
export function freightTimeline({ freight, stages, colours, selected, onSelect, limit }) {
  const sorted = [...freight].sort((a, b) =>
    String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)));
  return sorted.slice(0, limit).map((f) => {
    const name = f.metadata.name;
    const commit = (f.commits || [])[0] || {};
    const dots = marks(f, stages, colours);
    const chip = el("button", {
      type: "button", className: "chip", "aria-pressed": String(selected === name),
      "aria-label": describe(f, stages), draggable: "true", "data-key": `freight:${name}`,
      "data-freight": name, onclick: () => onSelect(name),
    },
    el("strong", {}, f.alias || short(name)),
    el("span", { className: "muted" }, `${short(commit.id)} · ${age(f.metadata.creationTimestamp)}`),
    el("span", { className: "subject" }, subject(commit.message)),
    svg("svg", { class: "marks", width: Math.max(16, dots.length * 16), height: 16, "aria-hidden": "true" }, dots));
    chip.addEventListener("dragstart", (event) => {
      event.dataTransfer.setData("application/x-kargo-freight", name);
      event.dataTransfer.effectAllowed = "move";
    });
    return chip;
  });
}

export function legend(stages, colours) {
  return [
    ...stages.map((s) => el("span", { className: "legend-item" },
      svg("svg", { width: 14, height: 14, "aria-hidden": "true" },
        svg("circle", { cx: 7, cy: 7, r: 6, fill: colours(s.metadata.name) })), s.metadata.name)),
    el("span", { className: "muted" }, "filled: running there · ring: verified there"),
  ];
}
