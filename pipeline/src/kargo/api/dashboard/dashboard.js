// The dashboard: sign in with a token, then a project's pipeline graph, freight timeline,
// promotions and events, refreshed by the watch stream; promote (buttons or drag and drop),
// approve, verify, roll back, abort and ask "why not promoted?" from the page.

import { metricChart, seriesChart } from "./charts.js";
import { keyboardCarry } from "./carrying.js";
import { call, items, token, watch } from "./client.js";
import { pipelineGraph } from "./graph.js";
import { freightTimeline, legend } from "./timeline.js";
import { ANNOTATIONS, TERMINAL_PROMOTION_PHASES } from "./vocabulary.js";
import { morph } from "./morph.js";
import {
  age, el, keepingFocus, keyed, phaseBadge, pipelineOrder, short, stageColours, table,
} from "./view.js";

const $ = (id) => document.getElementById(id);
const HOLD = ANNOTATIONS.hold;
const ACTOR = ANNOTATIONS.actor;
const ROLLBACK = ANNOTATIONS.rollback;
const TERMINAL = TERMINAL_PROMOTION_PHASES;
const PAGE = 20;

let project = "";
let stopWatching = () => {};
let pending = null;
let data = null;
const view = {
  freight: null, stage: null, logs: null, explain: null, analysis: null, promotions: PAGE, timeline: 30,
};

function say(message) {
  $("problem").textContent = message || "";
}

// A refused or failed action is told beside the control that asked for it.
function problem(where, message) {
  for (const node of document.querySelectorAll(".problem")) if (node.id !== where) node.textContent = "";
  if (where) $(where).textContent = message || "";
}

async function act(what, where, work) {
  problem(where, "");
  try {
    const answer = await work();
    if (answer && answer.unchanged) problem(where, answer.message);
    await refresh();
  } catch (error) {
    problem(where, `${what}: ${error.message}`);
  }
}

const base = () => `/api/v1/projects/${encodeURIComponent(project)}`;
const may = (stage, verb) => Boolean(((data.permissions.stages || {})[stage] || {})[verb]);
const promote = (stage, freight, where) => act(`Promote to ${stage}`, where,
  () => call("POST", `${base()}/promotions`, { stage, freight }));
const approve = (stage, freight, where) => act(`Approve for ${stage}`, where,
  () => call("POST", `${base()}/approvals`, { stage, freight }));
const verify = (stage) => act(`Verify ${stage}`, "stage-problem",
  () => call("POST", `${base()}/stages/${encodeURIComponent(stage)}/verify`, { abort: false }));
const discover = (name) => act(`Refresh ${name}`, "graph-problem",
  () => call("POST", `${base()}/warehouses/${encodeURIComponent(name)}/refresh`));
const abort = (name) => act(`Abort ${name}`, "promotions-problem",
  () => call("POST", `${base()}/promotions/${encodeURIComponent(name)}/abort`));

function rollBack(stage) {
  if (!window.confirm(`Roll ${stage} back to its previous stable freight?`)) return;
  act(`Roll back ${stage}`, "stage-problem", () => call("POST", `${base()}/rollbacks`,
    { stage, reason: "rolled back from the dashboard" }));
}

async function loadLogs() {
  if (!view.logs) return;
  $("logs-panel").hidden = false;
  $("logs-title").textContent = `Step logs of ${view.logs}`;
  try {
    const text = await call("GET", `${base()}/promotions/${encodeURIComponent(view.logs)}/logs`);
    $("logs").textContent = typeof text === "string" && text ? text : "(no output)";
  } catch (error) {
    $("logs").textContent = error.message;
  }
}

function showLogs(name) {
  view.logs = name;
  loadLogs();
}

function latestValue(metric) {
  const measurements = metric.measurements || [];
  const last = measurements[measurements.length - 1];
  if (!last || last.value === undefined || last.value === null) return "";
  if (typeof last.value === "number") return String(Number(last.value.toPrecision(4)));
  if (typeof last.value !== "object") return String(last.value);
  return el("details", {},
    el("summary", {}, brief(last.value)),
    el("pre", {}, JSON.stringify(last.value, null, 2)));
}

// A check suite's answer in a few words: "12/12 checks passed", or its scalar fields.
function brief(value) {
  const checks = Array.isArray(value) ? value : value.checks;
  if (Array.isArray(checks) && checks.every((c) => c && typeof c === "object" && "passed" in c)) {
    return `${checks.filter((c) => c.passed).length}/${checks.length} checks passed`;
  }
  const scalars = Object.entries(value)
    .filter(([, v]) => ["number", "boolean", "string"].includes(typeof v) && String(v).length < 24);
  return scalars.slice(0, 5).map(([k, v]) => `${k}: ${v}`).join(", ") || "details";
}

function showAnalysis(stage, run) {
  view.analysis = { stage, run };
  return loadAnalysis();
}

// The open verification view, again on every change (a running analysis adds measurements).
async function loadAnalysis() {
  if (!view.analysis) return;
  const { stage, run } = view.analysis;
  $("analysis-panel").hidden = false;
  $("analysis-title").textContent = `Verification of ${stage}: ${run}`;
  try {
    const [found, templates] = await Promise.all([
      call("GET", `${base()}/analysisruns/${encodeURIComponent(run)}`),
      items(`${base()}/analysistemplates`).catch(() => []),
    ]);
    const status = found.status || {};
    morph($("analysis-summary"), phaseBadge(status.phase), " ", status.message || "");
    const specs = new Map(templates.flatMap((t) => (t.spec.metrics || []).map((m) =>
      [`${t.metadata.name}/${m.name}`, m])));
    const spec = (m) => specs.get(`${m.template || ""}/${m.name}`) || {};
    const results = status.metricResults || [];
    morph($("analysis-charts"), results.map((m) => el("figure", { "data-key": `chart:${m.name}` },
      metricChart(m, spec(m).successCondition || ""),
      el("figcaption", {}, m.name, " ", phaseBadge(m.phase)))));
    // A Prometheus metric (a load test's p95) also over the run's whole window, asked by the engine.
    const queried = results.filter((m) => (spec(m).provider || {}).prometheus);
    morph($("analysis-series"), await Promise.all(queried.map(async (m) => {
      const caption = el("figcaption", {}, `${m.name} over the run (Prometheus)`);
      try {
        const answer = await call("GET", `${base()}/analysisruns/${encodeURIComponent(run)}/series?metric=${encodeURIComponent(m.name)}`);
        return el("figure", { "data-key": `series:${m.name}` }, seriesChart(answer, spec(m).successCondition || ""), caption);
      } catch (error) {
        return el("figure", { "data-key": `series:${m.name}` }, caption, el("p", { className: "error" }, error.message));
      }
    })));
    table($("analysis"), ["Template", "Metric", "Phase", "Measured", "Latest value", "Message"],
      results.map((m) => keyed(`metric:${m.name}`, [
        m.template || "", m.name, phaseBadge(m.phase),
        `${m.successful || 0} ok, ${m.failed || 0} failed, ${m.error || 0} errors`,
        latestValue(m), m.message || "",
      ])), "No measurements yet.");
  } catch (error) {
    $("analysis-summary").textContent = error.message;
  }
}

const subject = (message) => String(message || "").split("\n")[0];
const current = (stage) => ((stage.status && stage.status.freightHistory) || [])[0] || null;

const newestFirst = (a, b) =>
  String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp))
  || b.metadata.name.localeCompare(a.metadata.name);
const recent = (stage) => data.promotions.filter((p) => p.spec.stage === stage).sort(newestFirst).slice(0, 3);

function stageCard(stage) {
  const name = stage.metadata.name;
  const head = current(stage);
  const status = stage.status || {};
  const verification = head && head.verificationHistory && head.verificationHistory[0];
  const last = status.lastPromotion;
  const hold = (stage.metadata.annotations || {})[HOLD];
  const commit = head && head.commits && head.commits[0];
  const history = status.freightHistory || [];
  return el("article", { className: "panel stage", "aria-labelledby": `stage-${name}`, "data-stage": name },
    el("h3", { id: `stage-${name}`, tabindex: "-1" }, name),
    el("dl", {},
      el("dt", {}, "Freight"),
      el("dd", { className: "freight" }, head ? `${head.alias || ""} (${short(head.name)})` : "none yet"),
      commit ? [el("dt", {}, "Commit"), el("dd", {}, `${short(commit.id)} ${subject(commit.message)}`)] : null,
      el("dt", {}, "Health"), el("dd", {}, phaseBadge(status.health && status.health.status)),
      el("dt", {}, "Verification"),
      el("dd", {}, stage.spec.verification
        ? phaseBadge(verification ? verification.phase : "Pending")
        : el("span", { className: "muted" }, "not configured")),
      status.currentPromotion ? [el("dt", {}, "Promoting"), el("dd", {},
        phaseBadge("Running"), ` ${status.currentPromotion.freightAlias
          || short(status.currentPromotion.freight)}`)] : null,
      el("dt", {}, "Last promotion"),
      el("dd", {}, last ? [phaseBadge(last.phase), " ", last.message || ""] : "none"),
      hold ? [el("dt", {}, "Auto-promotion"), el("dd", {}, `held: ${hold}`)] : null,
      history.length > 1 ? [el("dt", {}, "Before"), el("dd", {},
        history.slice(1, 4).map((h) => h.alias || short(h.name)).join(", "))] : null,
      recent(name).length ? [el("dt", {}, "Promotions"), el("dd", {}, el("ul", { className: "plain" },
        recent(name).map((p) => el("li", {}, el("button", { type: "button", className: "link",
          "aria-label": `Logs of ${p.metadata.name}`, "data-key": `stage-logs:${p.metadata.name}`,
          onclick: () => showLogs(p.metadata.name) }, (p.status.freight && p.status.freight.alias) || short(p.spec.freight)),
        " ", phaseBadge(p.status.phase)))))] : null),
    el("div", { className: "actions" },
      verification && verification.analysisRun
        ? el("button", { type: "button", "data-key": `analysis:${name}`,
          onclick: () => showAnalysis(name, verification.analysisRun.name) }, `Analysis of ${name}`)
        : null,
      stage.spec.verification && head && may(name, "verify")
        ? el("button", { type: "button", "data-key": `verify:${name}`, onclick: () => verify(name) },
          `Verify ${name} again`)
        : null,
      history.length > 1 && may(name, "rollback")
        ? el("button", { type: "button", "data-key": `rollback:${name}`, onclick: () => rollBack(name) },
          `Roll back ${name}`)
        : null));
}

// Whether a promotion by hand would pass the engine's check (the engine decides; this hides
// buttons that would only be refused, and "Why not?" asks the engine for the reasons).
function ready(f, stage) {
  const status = f.status || {};
  const name = stage.metadata.name;
  if ((status.approvedFor || {})[name]) return true;
  return (stage.spec.requestedFreight || []).some((r) => {
    if ((r.origin || {}).name !== (f.origin || {}).name) return false;
    const sources = r.sources || {};
    if (sources.direct) return true;
    const soak = (status.soakRemainingSeconds || {})[name];
    return (sources.stages || []).some((s) => (status.verifiedIn || {})[s]) && !(soak > 0);
  });
}

function freightDetail(f, stages) {
  const status = f.status || {};
  const alias = f.alias || short(f.metadata.name);
  const rows = stages.map((stage) => {
    const name = stage.metadata.name;
    const here = Boolean((status.currentlyIn || {})[name]);
    const where = here ? "running here" : (status.verifiedIn || {})[name] ? "was verified here" : "";
    const buttons = [];
    if (here) {
      buttons.push(el("span", { className: "muted" }, "already here"));
    } else if (ready(f, stage)) {
      buttons.push(may(name, "promote")
        ? el("button", { type: "button", className: "primary", "aria-label": `Promote ${alias} to ${name}`,
          "data-key": `promote:${name}`, onclick: () => promote(name, f.metadata.name, "freight-problem") },
        `Promote to ${name}`)
        : el("span", { className: "muted" }, "your role may not promote here"));
    } else if (may(name, "approve")) {
      buttons.push(el("button", { type: "button", "aria-label": `Approve ${alias} for ${name}`,
        "data-key": `approve:${name}`, onclick: () => approve(name, f.metadata.name, "freight-problem") },
      `Approve for ${name}`));
    } else {
      buttons.push(el("span", { className: "muted" }, "not eligible yet"));
    }
    if (!here) {
      buttons.push(el("button", { type: "button", className: "link", "aria-label": `Why is ${alias} not in ${name}?`,
        "data-key": `why:${name}`, onclick: () => explain(f.metadata.name, name) }, "Why not?"));
    }
    return [el("strong", {}, name), where, el("div", { className: "actions" }, buttons)];
  });
  return [
    el("h3", { id: "freight-detail-title" }, `Freight ${alias}`),
    el("p", { className: "muted" }, `${f.metadata.name} · from ${(f.origin || {}).name || "?"} · found ${age(f.metadata.creationTimestamp)} ago`),
    el("ul", { className: "artifacts", "aria-label": "Artifacts" }, (f.commits || []).map((c) =>
      el("li", {}, el("code", {}, short(c.id)), ` ${subject(c.message)} `,
        el("span", { className: "muted" }, c.repoURL || "")))),
    el("div", { className: "scroll" }, (() => {
      const t = el("table", { "aria-labelledby": "freight-detail-title" });
      table(t, ["Stage", "Here", "Actions"], rows, "No stages.");
      return t;
    })()),
  ];
}

async function explain(freight, stage) {
  view.explain = { freight, stage };
  await loadExplain(true);
}

async function loadExplain(focus = false) {
  if (!view.explain) return;
  const { freight, stage } = view.explain;
  $("why-panel").hidden = false;
  try {
    const answer = await call("GET", `${base()}/explain?freight=${encodeURIComponent(freight)}&stage=${encodeURIComponent(stage)}`);
    const alias = answer.alias || short(answer.freight);
    const verdict = answer.inStage ? `${alias} is in ${stage}`
      : answer.promotable ? `${alias} can be promoted to ${stage} now` : `${alias} cannot be promoted to ${stage} now`;
    $("why-title").textContent = `Why is ${alias} not in ${stage}?`;
    $("why-verdict").textContent = verdict;
    morph($("why-reasons"), answer.reasons.map((r) => el("li", { className: r.blocking ? "blocking" : "" },
      el("strong", {}, r.reason), ` ${r.message}`, r.blocking ? "" : el("span", { className: "muted" }, " (does not stop a promotion by hand)"))));
  } catch (error) {
    $("why-verdict").textContent = error.message;
  }
  if (focus) $("why-title").focus();
}

function openStage(name) {
  view.stage = name;
  renderStageDetail();
  const heading = document.getElementById(`stage-${name}`);
  if (heading) { heading.scrollIntoView({ block: "nearest" }); heading.focus(); }
}

function renderStageDetail() {
  for (const card of document.querySelectorAll("article.stage")) {
    card.classList.toggle("opened", card.getAttribute("data-stage") === view.stage);
  }
}

function promotionRows(promotions) {
  const sorted = [...promotions].sort(newestFirst);
  return sorted.slice(0, view.promotions).map((p) => {
    const annotations = p.metadata.annotations || {};
    const status = p.status || {};
    const running = !TERMINAL.includes(status.phase);
    const steps = (p.spec.steps || []).length || (status.stepExecutionMetadata || []).length;
    const progress = running && steps ? ` step ${Math.min((status.currentStep || 0) + 1, steps)}/${steps}` : "";
    return keyed(`promotion:${p.metadata.name}`, [
      el("button", { type: "button", className: "link", onclick: () => showLogs(p.metadata.name),
        "aria-label": `Logs of ${p.metadata.name}`, "data-key": `logs:${p.metadata.name}` }, p.metadata.name),
      p.spec.stage,
      (status.freight && status.freight.alias) || short(p.spec.freight),
      [phaseBadge(status.phase), progress, annotations[ROLLBACK] !== undefined ? " rollback" : ""],
      annotations[ACTOR] || "",
      age(p.metadata.creationTimestamp),
      running && may(p.spec.stage, "abort") ? el("button", { type: "button", onclick: () => abort(p.metadata.name),
        "aria-label": `Abort ${p.metadata.name}`, "data-key": `abort:${p.metadata.name}` }, "Abort") : "",
    ]);
  });
}

function eventRows(events) {
  const sorted = [...events].sort((a, b) =>
    String(b.lastTimestamp).localeCompare(String(a.lastTimestamp)));
  return sorted.slice(0, 25).map((e) => {
    const object = `${e.involvedObject.kind}/${e.involvedObject.name}`;
    return keyed(`event:${object}|${e.reason}|${e.message}`,
      [age(e.lastTimestamp), e.type, e.reason, object, e.message]);
  });
}

const span = (seconds) => (seconds === null || seconds === undefined ? "–"
  : seconds < 120 ? `${Math.round(seconds)}s` : seconds < 7200 ? `${Math.round(seconds / 60)}m`
    : seconds < 172800 ? `${(seconds / 3600).toFixed(1)}h` : `${(seconds / 86400).toFixed(1)}d`);

function metricRows(figures, ordered) {
  const byStage = new Map(figures.map((m) => [m.stage, m]));
  return ordered.map((s) => byStage.get(s.metadata.name)).filter(Boolean).map((m) => keyed(`metrics:${m.stage}`, [
    el("strong", {}, m.stage), String(m.deployments), String(m.deploymentsPerDay),
    span(m.leadTimeSeconds),
    m.changeFailureRate === null ? "–" : `${Math.round(m.changeFailureRate * 100)}% (${m.failedChanges}/${m.changes})`,
    span(m.timeToRestoreSeconds),
  ]));
}

// Freight dropped on a stage (with the mouse or the keyboard): promote it there, unless the
// page already knows the engine would refuse.
function dropOn(stage, name) {
  const f = data.freight.find((x) => x.metadata.name === name);
  if (!may(stage, "promote")) { problem("graph-problem", `Your role may not promote to ${stage}.`); return; }
  if (f && (f.status.currentlyIn || {})[stage]) { problem("graph-problem", `${f.alias} is already in ${stage}.`); return; }
  promote(stage, name, "graph-problem");
}

const aliasOf = (name) => {
  const f = data && data.freight.find((x) => x.metadata.name === name);
  return (f && f.alias) || short(name);
};
const carry = keyboardCarry({ timeline: $("timeline"), graph: $("graph"), status: $("carry-status"),
  aliasOf, onDrop: dropOn });

function render() {
  const { warehouses, stages, freight, promotions, events, permissions } = data;
  const ordered = pipelineOrder(stages);
  const colours = stageColours(ordered);
  morph($("warehouses"), warehouses
    .filter((w) => ((permissions.warehouses || {})[w.metadata.name] || {}).refresh)
    .map((w) => el("button", { type: "button", "data-key": `refresh:${w.metadata.name}`,
      onclick: () => discover(w.metadata.name) }, `Refresh warehouse ${w.metadata.name}`)));
  morph($("graph"), pipelineGraph({
    warehouses, stages: ordered, freight, promotions, colours, onOpen: openStage, onDrop: dropOn,
  }));
  morph($("stages"), ordered.map(stageCard));
  renderStageDetail();
  morph($("timeline-legend"), legend(ordered, colours));
  const chips = freightTimeline({ freight, stages: ordered, colours, selected: view.freight,
    limit: view.timeline, onSelect: (name) => { view.freight = name; keepingFocus(render); } });
  morph($("timeline"), (chips.length ? chips
    : [el("p", { className: "muted" }, "No freight yet: the warehouse has found no commit.")]));
  $("timeline-more").hidden = freight.length <= view.timeline;
  carry.mark();
  const chosen = freight.find((f) => f.metadata.name === view.freight);
  $("freight-detail").hidden = !chosen;
  if (chosen) morph($("freight-detail"), freightDetail(chosen, ordered));
  table($("promotions"), ["Name", "Stage", "Freight", "Phase", "Actor", "Age", ""],
    promotionRows(promotions), "No promotions yet.");
  $("promotions-more").hidden = promotions.length <= view.promotions;
  table($("events"), ["Last seen", "Type", "Reason", "Object", "Message"],
    eventRows(events), "No events yet.");
  table($("metrics"), ["Stage", "Deployments", "Per day", "Lead time", "Change failure rate", "Time to restore"],
    metricRows(data.metrics.stages || [], ordered), "No stages.");
  const viewer = !Object.values(permissions.stages || {}).some((verbs) => verbs.promote);
  $("role-note").hidden = !viewer;
}

async function refresh() {
  if (!project) return;
  const [warehouses, stages, freight, promotions, events, permissions, metrics] = await Promise.all([
    items(`${base()}/warehouses`), items(`${base()}/stages`), items(`${base()}/freight`),
    items(`${base()}/promotions`), items(`${base()}/events?limit=200`),
    call("GET", `${base()}/permissions`), call("GET", `${base()}/metrics?window=30d`),
  ]);
  data = { warehouses, stages, freight, promotions, events, permissions, metrics };
  keepingFocus(render);
  say("");
  await Promise.all([loadLogs(), loadExplain(), loadAnalysis()]);
  const leader = await call("GET", "/api/v1/leader").catch(() => null);
  $("engine").textContent = leader
    ? (leader.leading ? "engine: this server leads" : `engine: standby (leader ${leader.holder || "none"})`)
    : "";
}

function scheduleRefresh() {
  if (pending) return;
  pending = setTimeout(async () => {
    pending = null;
    try { await refresh(); } catch (error) { say(error.message); }
  }, 250);
}

async function open(name) {
  project = name;
  carry.cancel();
  Object.assign(view, { freight: null, stage: null, logs: null, explain: null, analysis: null });
  $("logs-panel").hidden = true;
  $("why-panel").hidden = true;
  $("analysis-panel").hidden = true;
  stopWatching();
  stopWatching = watch(project, scheduleRefresh, (live) => {
    $("live").textContent = live ? "Live" : "Reconnecting…";
    $("live").classList.toggle("online", live);
  });
  await refresh();
}

async function start() {
  if (!token.get()) {
    $("sign-in").hidden = false;
    $("board").hidden = true;
    $("token").focus();
    return;
  }
  try {
    const me = await call("GET", "/api/v1/whoami");
    $("who").textContent = `${me.subject} (${(me.groups || []).join(", ") || "no role"})`;
    const projects = await items("/api/v1/projects");
    $("project").replaceChildren(...projects.map((p) =>
      el("option", { value: p.metadata.name }, p.metadata.name)));
    $("project-picker").hidden = projects.length < 2;
    $("sign-in").hidden = true;
    $("sign-out").hidden = false;
    $("board").hidden = false;
    if (!projects.length) {
      say("No projects yet: apply a configuration (kargo apply -f kargo/).");
      return;
    }
    await open(projects[0].metadata.name);
  } catch (error) {
    if (error.status === 401) token.clear();
    say(error.message);
    $("sign-in").hidden = false;
    $("board").hidden = true;
  }
}

$("sign-in").addEventListener("submit", (event) => {
  event.preventDefault();
  token.set($("token").value.trim());
  $("token").value = "";
  say("");
  start();
});
$("sign-out").addEventListener("click", () => {
  stopWatching();
  token.clear();
  say("");
  problem(null, "");
  for (const node of document.querySelectorAll(".problem")) node.textContent = "";
  $("who").textContent = "";
  $("live").textContent = "";
  $("sign-out").hidden = true;
  project = "";
  start();
});
$("promotions-more").addEventListener("click", () => { view.promotions += PAGE; keepingFocus(render); });
$("timeline-more").addEventListener("click", () => { view.timeline += 30; keepingFocus(render); });
$("why-close").addEventListener("click", () => { view.explain = null; $("why-panel").hidden = true; });
$("project").addEventListener("change", (event) => open(event.target.value));
start();
