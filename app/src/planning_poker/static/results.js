// Pictures of a revealed round: the cards face up on the table, a bar chart of the
// distribution with the consensus highlighted, and the rounds a story has had.

import { duration, el, svg } from "./dom.js";

const number = (value) => (value === null || value === undefined ? "–" : String(value));

export function summary(stats) {
  const parts = [`average ${number(stats.average)}`, `median ${number(stats.median)}`];
  if (stats.consensus) parts.unshift("consensus");
  return parts.join(", ");
}

// The cards each participant played, face up, the most common ones marked.
export function tableCards(round, stats) {
  const mode = new Set(stats.mode);
  return (round ? round.votes : []).map(([name, card]) => el("li",
    { className: `played${mode.has(card) ? " mode" : ""}${stats.consensus ? " agreed" : ""}` },
    el("span", { className: "face", "aria-hidden": "true" }, card),
    el("span", { className: "who" }, name),
    el("span", { className: "sr-only" }, ` played ${card}`)));
}

// One bar per card played, its height the number of votes; the mode's bars stand out.
export function distributionChart(stats) {
  const entries = Object.entries(stats.distribution);
  const top = Math.max(1, ...entries.map(([, count]) => count));
  const barWidth = 52;
  const gap = 16;
  const height = 150;
  const width = Math.max(entries.length * (barWidth + gap) + gap, 120);
  const mode = new Set(stats.mode);
  const bars = entries.map(([card, count], index) => {
    const x = gap + index * (barWidth + gap);
    const barHeight = Math.round((count / top) * (height - 40));
    const y = height - 20 - barHeight;
    return svg("g", { class: `bar${mode.has(card) ? " mode" : ""}`, "data-card": card,
      "data-count": count },
    svg("rect", { x, y, width: barWidth, height: barHeight, rx: 4 }),
    svg("text", { x: x + barWidth / 2, y: y - 4, "text-anchor": "middle", class: "count" }, count),
    svg("text", { x: x + barWidth / 2, y: height - 4, "text-anchor": "middle", class: "label" },
      card));
  });
  const label = entries.map(([card, count]) => `${card}: ${count} ${count === 1 ? "vote" : "votes"}`)
    .join(", ");
  return svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
    "aria-label": `Votes per card: ${label || "none"}`, class: "chart" }, bars);
}

// Every round of a story: who played what, the statistics and the time it took.
export function roundHistory(story) {
  const rounds = story.rounds || [];
  if (!rounds.length) return null;
  const rows = rounds.map((r) => el("tr", {},
    el("th", { scope: "row" }, String(r.round)),
    el("td", {}, r.votes.map(([name, card]) => `${name} ${card}`).join(", ")),
    el("td", {}, number(r.average)),
    el("td", {}, `${r.agreement}%`),
    el("td", {}, duration(r.seconds))));
  const plural = rounds.length === 1 ? "round" : "rounds";
  return el("details", { className: "history", dataset: { key: `history:${story.id}` } },
    el("summary", { dataset: { key: `history-summary:${story.id}` } },
      `${rounds.length} ${plural}, ${duration(story.secondsSpent)}`),
    el("table", {},
      el("caption", { className: "sr-only" }, `Rounds of ${story.title}`),
      el("thead", {}, el("tr", {}, ["#", "Votes", "Avg", "Agreed", "Time"]
        .map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows)));
}
