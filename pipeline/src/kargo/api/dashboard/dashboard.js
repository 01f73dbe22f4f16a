// The dashboard: sign in with a token, then stages, freight, promotions and events of a project,
// refreshed by the watch stream; promote, approve, verify, roll back and abort from the page.

import { call, items, token, watch } from "./client.js";
import { age, el, phaseBadge, pipelineOrder, short, table } from "./view.js";
import { ANNOTATIONS, TERMINAL_PROMOTION_PHASES } from "./vocabulary.js";

const $ = (id) => document.getElementById(id);
const HOLD = ANNOTATIONS.hold;
const ACTOR = ANNOTATIONS.actor;
const ROLLBACK = ANNOTATIONS.rollback;

let project = "";
let stopWatching = () => {};
let pending = null;

function say(message) {
  $("problem").textContent = message || "";
}

async function act(what, work) {
  say("");
  try {
    const answer = await work();
    if (answer && answer.unchanged) say(answer.message);
    await refresh();
  } catch (error) {
    say(`${what}: ${error.message}`);
  }
}

const base = () => `/api/v1/projects/${encodeURIComponent(project)}`;
const promote = (stage, freight) => act(`Promote to ${stage}`,
  () => call("POST", `${base()}/promotions`, { stage, freight }));
const approve = (stage, freight) => act(`Approve for ${stage}`,
  () => call("POST", `${base()}/approvals`, { stage, freight }));
const verify = (stage) => act(`Verify ${stage}`,
  () => call("POST", `${base()}/stages/${encodeURIComponent(stage)}/verify`, { abort: false }));
const discover = (name) => act(`Refresh ${name}`,
  () => call("POST", `${base()}/warehouses/${encodeURIComponent(name)}/refresh`));
const abort = (name) => act(`Abort ${name}`,
  () => call("POST", `${base()}/promotions/${encodeURIComponent(name)}/abort`));

function rollBack(stage) {
  if (!window.confirm(`Roll ${stage} back to its previous stable freight?`)) return;
  act(`Roll back ${stage}`, () => call("POST", `${base()}/rollbacks`,
    { stage, reason: "rolled back from the dashboard" }));
}

async function showLogs(name) {
  $("logs-panel").hidden = false;
  $("logs-title").textContent = `Step logs of ${name}`;
  try {
    const text = await call("GET", `${base()}/promotions/${encodeURIComponent(name)}/logs`);
    $("logs").textContent = typeof text === "string" && text ? text : "(no output)";
  } catch (error) {
    $("logs").textContent = error.message;
  }
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

async function showAnalysis(stage, run) {
  $("analysis-panel").hidden = false;
  $("analysis-title").textContent = `Verification of ${stage}: ${run}`;
  try {
    const found = await call("GET", `${base()}/analysisruns/${encodeURIComponent(run)}`);
    const status = found.status || {};
    $("analysis-summary").replaceChildren(phaseBadge(status.phase), " ", status.message || "");
    table($("analysis"), ["Template", "Metric", "Phase", "Measured", "Latest value", "Message"],
      (status.metricResults || []).map((m) => [
        m.template || "", m.name, phaseBadge(m.phase),
        `${m.successful || 0} ok, ${m.failed || 0} failed, ${m.error || 0} errors`,
        latestValue(m), m.message || "",
      ]), "No measurements yet.");
  } catch (error) {
    $("analysis-summary").textContent = error.message;
  }
}

const subject = (message) => String(message || "").split("\n")[0];

function current(stage) {
  const history = (stage.status && stage.status.freightHistory) || [];
  return history[0] || null;
}

function stageCard(stage) {
  const name = stage.metadata.name;
  const head = current(stage);
  const status = stage.status || {};
  const verification = head && head.verificationHistory && head.verificationHistory[0];
  const last = status.lastPromotion;
  const hold = (stage.metadata.annotations || {})[HOLD];
  const commit = head && head.commits && head.commits[0];
  return el("article", { className: "panel stage", "aria-labelledby": `stage-${name}` },
    el("h3", { id: `stage-${name}` }, name),
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
      hold ? [el("dt", {}, "Auto-promotion"), el("dd", {}, `held: ${hold}`)] : null),
    el("div", { className: "actions" },
      verification && verification.analysisRun
        ? el("button", { type: "button",
          onclick: () => showAnalysis(name, verification.analysisRun.name) },
        `Analysis of ${name}`)
        : null,
      stage.spec.verification && head
        ? el("button", { type: "button", onclick: () => verify(name) }, `Verify ${name} again`)
        : null,
      head ? el("button", { type: "button", onclick: () => rollBack(name) }, `Roll back ${name}`)
        : null));
}

function freightRows(freight, stages) {
  const sorted = [...freight].sort((a, b) =>
    String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)));
  return sorted.map((f) => {
    const status = f.status || {};
    const alias = f.alias || short(f.metadata.name);
    const commit = (f.commits || [])[0] || {};
    const actions = stages.flatMap((stage) => {
      const name = stage.metadata.name;
      const upstream = (stage.spec.requestedFreight || [])
        .flatMap((r) => (r.sources && r.sources.stages) || []);
      const ready = !upstream.length || upstream.some((s) => (status.verifiedIn || {})[s])
        || (status.approvedFor || {})[name];
      const buttons = [el("button", {
        type: "button", "aria-label": `Promote ${alias} to ${name}`,
        onclick: () => promote(name, f.metadata.name),
      }, `To ${name}`)];
      if (!ready) {
        buttons.push(el("button", {
          type: "button", "aria-label": `Approve ${alias} for ${name}`,
          onclick: () => approve(name, f.metadata.name),
        }, `Approve for ${name}`));
      }
      return buttons;
    });
    return [
      el("strong", {}, alias), short(commit.id), subject(commit.message),
      Object.keys(status.verifiedIn || {}).join(", "),
      Object.keys(status.currentlyIn || {}).join(", "),
      age(f.metadata.creationTimestamp),
      el("div", { className: "actions" }, actions),
    ];
  });
}

function promotionRows(promotions) {
  const sorted = [...promotions].sort((a, b) => b.metadata.name.localeCompare(a.metadata.name));
  return sorted.slice(0, 20).map((p) => {
    const annotations = p.metadata.annotations || {};
    const status = p.status || {};
    const running = !TERMINAL_PROMOTION_PHASES.includes(status.phase);
    return [
      el("button", { type: "button", className: "link", onclick: () => showLogs(p.metadata.name),
        "aria-label": `Logs of ${p.metadata.name}` }, p.metadata.name),
      p.spec.stage,
      (status.freight && status.freight.alias) || short(p.spec.freight),
      [phaseBadge(status.phase), annotations[ROLLBACK] !== undefined ? " rollback" : ""],
      annotations[ACTOR] || "",
      age(p.metadata.creationTimestamp),
      running ? el("button", { type: "button", onclick: () => abort(p.metadata.name),
        "aria-label": `Abort ${p.metadata.name}` }, "Abort") : "",
    ];
  });
}

function eventRows(events) {
  const sorted = [...events].sort((a, b) =>
    String(b.lastTimestamp).localeCompare(String(a.lastTimestamp)));
  return sorted.slice(0, 25).map((e) => [
    age(e.lastTimestamp), e.type, e.reason,
    `${e.involvedObject.kind}/${e.involvedObject.name}`, e.message,
  ]);
}

async function refresh() {
  if (!project) return;
  const [warehouses, stages, freight, promotions, events] = await Promise.all([
    items(`${base()}/warehouses`), items(`${base()}/stages`), items(`${base()}/freight`),
    items(`${base()}/promotions`), items(`${base()}/events?limit=200`),
  ]);
  $("warehouses").replaceChildren(...warehouses.map((w) => el("button", {
    type: "button", onclick: () => discover(w.metadata.name),
  }, `Refresh warehouse ${w.metadata.name}`)));
  const ordered = pipelineOrder(stages);
  $("stages").replaceChildren(...ordered.map(stageCard));
  table($("freight"), ["Alias", "Commit", "Message", "Verified in", "Currently in", "Age", "Promote"],
    freightRows(freight, ordered), "No freight yet: the warehouse has found no commit.");
  table($("promotions"), ["Name", "Stage", "Freight", "Phase", "Actor", "Age", ""],
    promotionRows(promotions), "No promotions yet.");
  table($("events"), ["Last seen", "Type", "Reason", "Object", "Message"],
    eventRows(events), "No events yet.");
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
  $("who").textContent = "";
  $("sign-out").hidden = true;
  start();
});
$("project").addEventListener("change", (event) => open(event.target.value));
start();
