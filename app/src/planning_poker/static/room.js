// The room page: join, then follow the room over a self-healing WebSocket.
import { forgetIdentity, loadIdentity, postJson, saveIdentity } from "./api.js";
import { el, keepingFocus, setUsable, usable } from "./dom.js";
import { distributionChart, roundHistory, summary, tableCards } from "./results.js";
import { DELTAS_PARAM, SYNC_MESSAGE, applyDelta } from "./roomstate.js";
import { alertSettings, alertUser } from "./alerts.js";

const roomId = decodeURIComponent(window.location.pathname.split("/").pop());
const $ = (id) => document.getElementById(id);
const status = $("connection");
const openHistories = new Set();
let socket = null;
let room = null;
let retryDelay = 500;
let retryTimer = null;
let timerTick = null;
let renderedDeck = "";
let pendingStory = null; // a story sent and not yet seen in the room: its title, link, known ids
let leaving = false;
let announcedRound = null;
let seenNudge = null;
let rendered = false; // no sound or notification for what was there when the page opened

const connected = () => Boolean(socket && socket.readyState === WebSocket.OPEN);

function send(message) {
  if (!connected()) { showError("Not connected; reconnecting… Try again when it says Connected."); return false; }
  showError("");
  socket.send(JSON.stringify(message));
  return true;
}

function showError(message) {
  $("room-error").textContent = message;
}

function setStatus(text, online) {
  status.textContent = text;
  status.classList.toggle("online", online);
  if (room) renderCards(me(), me()?.role !== "spectator");
}

// -- joining ----------------------------------------------------------------------------

async function showJoin(message = "") {
  $("room-view").hidden = true;
  $("join-view").hidden = false;
  $("join-error").textContent = message;
  setStatus("Not joined", false);
  try {
    const response = await fetch(`/api/rooms/${encodeURIComponent(roomId)}`);
    if (response.status === 404) { window.location.reload(); return; }
    const data = await response.json();
    $("join-room-name").textContent = data.name;
    document.title = `${data.name} · Planning Poker`;
  } catch { /* the name is a nicety */ }
  $("join-name").focus();
}

$("join").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("join-name").value.trim();
  if (!name) { $("join-error").textContent = "Tell us your name."; return; }
  const role = new FormData(event.target).get("role") || "voter";
  try {
    const joined = await postJson(`/api/rooms/${encodeURIComponent(roomId)}/participants`, { name, role });
    saveIdentity(roomId, { participantId: joined.participantId, token: joined.token });
    $("join-view").hidden = true;
    connect();
  } catch (exc) {
    $("join-error").textContent = exc.message;
  }
});

// -- the connection ---------------------------------------------------------------------

function connect() {
  const identity = loadIdentity(roomId);
  if (!identity) { showJoin(); return; }
  clearTimeout(retryTimer);
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${scheme}//${window.location.host}/ws/rooms/${encodeURIComponent(roomId)}` +
    `?token=${encodeURIComponent(identity.token)}&${DELTAS_PARAM}`;
  setStatus("Connecting…", false);
  socket = new WebSocket(url);
  socket.addEventListener("open", () => {
    retryDelay = 500;
    showError("");
    setStatus("Connected", true);
  });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "state") { room = message.room; keepingFocus(render); }
    else if (message.type === "delta") {
      const next = applyDelta(room, message);
      if (next) { room = next; keepingFocus(render); } else socket.send(SYNC_MESSAGE);
    }
    else if (message.type === "error") { pendingStory = null; showError(message.message); }
  });
  socket.addEventListener("close", (event) => {
    socket = null;
    if (event.code === 4404) { window.location.reload(); return; }
    if (event.code === 4401 || event.code === 4403) {
      forgetIdentity(roomId);
      if (leaving) { window.location.assign("/"); return; }
      room = null;
      showJoin(event.code === 4403 ? "You were removed from the room. You can join again." : "");
      return;
    }
    setStatus(`Not connected: reconnecting in ${Math.round(retryDelay / 1000)}s…`, false);
    retryTimer = setTimeout(connect, retryDelay + Math.random() * 250);
    retryDelay = Math.min(retryDelay * 2, 10000);
  });
}

window.addEventListener("online", () => { if (!socket) connect(); });

// -- rendering --------------------------------------------------------------------------

function me() { return room.participants.find((p) => p.id === room.you); }

function render() {
  const self = me();
  if (!self) return;
  const facilitator = self.role === "facilitator";
  const voter = self.role !== "spectator";
  $("join-view").hidden = true;
  $("room-view").hidden = false;
  $("room-title").textContent = room.name;
  document.title = `${room.name} · Planning Poker`;
  renderStory();
  renderTimer(facilitator);
  const mayReveal = facilitator || (room.settings.anyoneCanReveal && voter);
  const anyVotes = room.participants.some((p) => p.hasVoted);
  $("reveal").hidden = !mayReveal;
  setUsable($("reveal"), !room.revealed && anyVotes,
    room.revealed ? "The cards are revealed" : "Nobody has voted yet");
  $("reveal-note").hidden = !mayReveal || room.revealed || anyVotes;
  $("new-round").hidden = !facilitator;
  $("next-story").hidden = !facilitator;
  $("controls").hidden = !mayReveal && !facilitator;
  for (const node of document.querySelectorAll(".facilitator-only")) node.hidden = !facilitator;
  $("set-anyone").checked = room.settings.anyoneCanReveal;
  $("set-auto").checked = room.settings.autoReveal;
  const waiting = room.participants.some((p) => p.role !== "spectator" && p.online && !p.hasVoted && p.id !== room.you);
  $("nudge").hidden = !facilitator || room.revealed || !waiting;
  renderNudge(self);
  $("switch-role").hidden = facilitator;
  $("switch-role").textContent = voter ? "Watch as a spectator" : "Vote as a voter";
  renderCards(self, voter);
  renderParticipants(facilitator);
  renderResults(facilitator);
  renderStories(facilitator);
  rendered = true;
}

function renderNudge(self) {
  const nudge = room.nudge;
  const mine = Boolean(nudge && nudge.ids.includes(room.you) && !self.hasVoted && !room.revealed);
  const by = room.participants.find((p) => p.id === room.facilitatorId);
  $("nudge-note").hidden = !mine;
  if (mine) $("nudge-note").textContent = `${by ? by.name : "The facilitator"} is waiting for your card.`;
  if (mine && seenNudge !== nudge.at && rendered) {
    alertUser("Your turn to vote", $("nudge-note").textContent, "planning-poker-nudge");
  }
  seenNudge = nudge ? nudge.at : null;
}

function renderStory() {
  const story = room.currentStory;
  $("story-title").textContent = story ? story.title : "No story selected";
  const safeLink = story && story.link && /^https?:\/\//i.test(story.link);
  $("story-link-wrap").hidden = !safeLink;
  if (safeLink) $("story-link").href = story.link;
}

function renderTimer(facilitator) {
  clearInterval(timerTick);
  const timer = $("timer");
  $("stop-timer").hidden = !facilitator || !room.timer;
  if (!room.timer) { timer.hidden = true; return; }
  const ends = Date.now() + room.timer.secondsLeft * 1000;
  const tick = () => {
    const left = Math.max(0, Math.round((ends - Date.now()) / 1000));
    timer.textContent = `Time left ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
  };
  timer.hidden = false;
  tick();
  timerTick = setInterval(tick, 500);
}

function renderCards(self, voter) {
  const cards = $("cards");
  const deckKey = room.deck.join("\u0000");
  if (deckKey !== renderedDeck) {
    cards.replaceChildren(...room.deck.map((card) => {
      const button = el("button", { type: "button", className: "card", dataset: { card, key: `card:${card}` } }, card);
      button.addEventListener("click", () => {
        if (!usable(button)) return;
        const chosen = me()?.vote === card;
        send(chosen ? { type: "unvote" } : { type: "vote", card });
      });
      return button;
    }));
    renderedDeck = deckKey;
  }
  const online = connected();
  $("spectator-note").hidden = voter;
  $("cards-wrap").hidden = !voter;
  $("offline-note").hidden = online || !voter;
  for (const button of cards.children) {
    button.setAttribute("aria-pressed", String(self.vote === button.dataset.card));
    const reason = !online ? "Not connected" : room.revealed ? "The cards are revealed" : "";
    setUsable(button, voter && online && !room.revealed, reason);
  }
}

function renderParticipants(facilitator) {
  const items = room.participants.map((p) => {
    const item = el("li", { className: p.online ? "online" : "offline" });
    item.append(el("span", { className: "name" }, p.name));
    if (p.role !== "voter") item.append(el("span", { className: "role" }, p.role));
    if (p.id === room.you) item.append(el("span", { className: "role" }, "(you)"));
    if (!p.online) item.append(el("span", { className: "away" }, "away"));
    if (p.role !== "spectator") {
      const shown = room.revealed ? (p.vote ?? "–") : (p.hasVoted ? "✓" : "…");
      const label = room.revealed ? `voted ${p.vote ?? "nothing"}` : (p.hasVoted ? "has voted" : "not voted yet");
      item.append(el("span", { className: `vote${p.hasVoted ? " voted" : ""}`, role: "img",
        "aria-label": label, title: label }, shown));
    }
    if (facilitator && p.id !== room.you) {
      item.append(
        el("button", { type: "button", "aria-label": `Make ${p.name} facilitator`,
          dataset: { key: `promote:${p.id}` },
          onclick: () => send({ type: "make_facilitator", participantId: p.id }) }, "Make facilitator"),
        el("button", { type: "button", "aria-label": `Remove ${p.name}`, dataset: { key: `remove:${p.id}` },
          onclick: () => send({ type: "remove_participant", participantId: p.id }) }, "Remove"));
    }
    return item;
  });
  $("participants").replaceChildren(...items);
}

function renderResults(facilitator) {
  const stats = room.stats;
  const shown = room.revealed && stats && room.lastRound;
  $("results").hidden = !shown;
  $("empty-reveal").hidden = !room.revealed || Boolean(room.lastRound);
  if (!shown) { announcedRound = null; return; }
  const number = (value) => (value === null || value === undefined ? "–" : String(value));
  $("stat-average").textContent = number(stats.average);
  $("stat-median").textContent = number(stats.median);
  $("stat-mode").textContent = stats.mode.join(", ") || "–";
  $("stat-agreement").textContent = `${stats.agreement}%`;
  $("stat-consensus").textContent = stats.consensus ? "Yes" : "No";
  $("results").classList.toggle("consensus", stats.consensus);
  $("consensus-banner").hidden = !stats.consensus;
  $("played").replaceChildren(...tableCards(room.lastRound, stats));
  $("chart").replaceChildren(distributionChart(stats));
  const key = `${room.round}`;
  if (announcedRound !== key) {
    announcedRound = key;
    $("announce").textContent = `Cards revealed: ${summary(stats)}.`;
    if (rendered) alertUser("Cards revealed", `${summary(stats)}.`, "planning-poker-reveal");
  }
  $("estimate-form").hidden = !facilitator || !room.currentStory;
  if (room.currentStory && document.activeElement !== $("estimate")) {
    $("estimate").value = room.currentStory.estimate ?? (stats.mode[0] || "");
  }
}

function storyButton(text, label, key, group, handler) {
  return el("button", { type: "button", "aria-label": label, dataset: { key, group }, onclick: handler }, text);
}

function renderStories(facilitator) {
  const ids = room.stories.map((s) => s.id);
  if (pendingStory !== null && room.stories.some((s) => s.title === pendingStory.title
    && !pendingStory.known.has(s.id))) {
    // Emptied only if it still holds the story sent: the next one may be typed in meanwhile.
    const typed = typedStory();
    if (typed.title === pendingStory.title && typed.link === pendingStory.link) $("add-story").reset();
    pendingStory = null;
  }
  const items = room.stories.map((story, index) => {
    const current = story.id === room.currentStory?.id;
    const item = el("li", { className: current ? "current" : "", "aria-current": current ? "true" : null });
    if (story.link && /^https?:\/\//i.test(story.link)) {
      item.append(el("a", { href: story.link, rel: "noopener noreferrer", target: "_blank" }, story.title));
    } else {
      item.append(el("span", {}, story.title));
    }
    if (story.estimate) item.append(el("span", { className: "estimate", "aria-label": `estimate ${story.estimate}` }, story.estimate));
    if (facilitator) {
      const move = (delta) => () => {
        const order = [...ids];
        const [moved] = order.splice(index, 1);
        order.splice(index + delta, 0, moved);
        send({ type: "reorder_stories", order });
      };
      const group = `story:${story.id}`;
      if (index > 0) item.append(storyButton("↑", `Move ${story.title} up`, `up:${story.id}`, group, move(-1)));
      if (index < ids.length - 1) item.append(storyButton("↓", `Move ${story.title} down`, `down:${story.id}`, group, move(1)));
      if (!current) {
        item.append(storyButton("Estimate", `Estimate ${story.title} now`, `select:${story.id}`, group,
          () => send({ type: "select_story", storyId: story.id })));
      }
      item.append(storyButton("✕", `Delete ${story.title}`, `delete:${story.id}`, group,
        () => send({ type: "remove_story", storyId: story.id })));
    }
    const history = roundHistory(story);
    const detail = facilitator ? estimateForm(story) : null;
    if (history || detail) {
      const box = history || el("details", { className: "history" },
        el("summary", { dataset: { key: `history-summary:${story.id}` } }, "Final estimate"));
      if (detail) box.append(detail);
      box.open = openHistories.has(story.id);
      box.addEventListener("toggle", () => {
        if (box.open) openHistories.add(story.id); else openHistories.delete(story.id);
      });
      item.append(box);
    }
    return item;
  });
  $("stories").replaceChildren(...items);
}

// Any story's final estimate, current or not.
function estimateForm(story) {
  const id = `estimate-${story.id}`;
  const input = el("input", { id, maxlength: 8, autocomplete: "off", dataset: { key: id } });
  input.value = story.estimate || "";
  const form = el("form", { className: "inline" },
    el("label", { for: id }, `Final estimate of ${story.title}`), input,
    el("button", { type: "submit", dataset: { key: `save-${id}` } }, "Save"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send({ type: "set_estimate", estimate: input.value, storyId: story.id });
  });
  return form;
}

// -- controls ---------------------------------------------------------------------------

$("reveal").addEventListener("click", () => { if (usable($("reveal"))) send({ type: "reveal" }); });
$("new-round").addEventListener("click", () => send({ type: "new_round" }));
$("next-story").addEventListener("click", () => send({ type: "next_story" }));
$("stop-timer").addEventListener("click", () => send({ type: "stop_timer" }));
$("nudge").addEventListener("click", () => send({ type: "nudge" }));
alertSettings($("sound"), $("notify"), (message) => { $("notify-note").textContent = message; });
$("set-anyone").addEventListener("change", (e) =>
  send({ type: "update_settings", settings: { anyoneCanReveal: e.target.checked } }));
$("set-auto").addEventListener("change", (e) =>
  send({ type: "update_settings", settings: { autoReveal: e.target.checked } }));
$("timer-form").addEventListener("submit", (event) => {
  event.preventDefault();
  send({ type: "start_timer", seconds: Number($("timer-seconds").value) });
});
$("estimate-form").addEventListener("submit", (event) => {
  event.preventDefault();
  send({ type: "set_estimate", estimate: $("estimate").value });
});
// The story typed in the add-story form, trimmed: its title and link ("" when none).
function typedStory() {
  return { title: $("story-title-input").value.trim(), link: $("story-link-input").value.trim() };
}

$("add-story").addEventListener("submit", (event) => {
  event.preventDefault();
  const { title, link } = typedStory();
  if (!title) { showError("A story needs a title."); return; }
  // The form is emptied once the story is in the room, so a refusal keeps what was typed.
  if (send({ type: "add_story", title, link: link || null })) {
    pendingStory = { title, link, known: new Set(room ? room.stories.map((s) => s.id) : []) };
  }
});
$("csv-file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (file) send({ type: "import_stories", csv: await file.text() });
  event.target.value = "";
});
$("rename").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = $("rename-input").value.trim();
  if (name && send({ type: "rename", name })) $("rename-input").value = "";
});
$("switch-role").addEventListener("click", () =>
  send({ type: "set_role", role: me()?.role === "spectator" ? "voter" : "spectator" }));
$("leave").addEventListener("click", () => { leaving = send({ type: "leave" }); });
$("export").href = `/api/rooms/${encodeURIComponent(roomId)}/export.csv`;
$("copy-link").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText(window.location.href);
    $("copy-link").textContent = "Link copied";
  } catch {
    showError(`Share this link: ${window.location.href}`);
  }
});

connect();
