// The room page: join, then follow the room over a self-healing WebSocket.
import { forgetIdentity, loadIdentity, postJson, saveIdentity } from "./api.js";
import { DELTAS_PARAM, SYNC_MESSAGE, applyDelta } from "./roomstate.js";

const roomId = decodeURIComponent(window.location.pathname.split("/").pop());
const $ = (id) => document.getElementById(id);
const status = $("connection");
let socket = null;
let room = null;
let retryDelay = 500;
let retryTimer = null;
let timerTick = null;
let renderedDeck = "";

function el(tag, props = {}, text = "") {
  const node = document.createElement(tag);
  Object.assign(node, props);
  if (text) node.textContent = text;
  return node;
}

function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  else showError("Not connected; reconnecting…");
}

function showError(message) {
  $("room-error").textContent = message;
}

function setStatus(text, online) {
  status.textContent = text;
  status.classList.toggle("online", online);
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
  socket.addEventListener("open", () => { retryDelay = 500; setStatus("Connected", true); });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "state") { room = message.room; render(); }
    else if (message.type === "delta") {
      const next = applyDelta(room, message);
      if (next) { room = next; render(); } else socket.send(SYNC_MESSAGE);
    }
    else if (message.type === "error") showError(message.message);
  });
  socket.addEventListener("close", (event) => {
    socket = null;
    if (event.code === 4404) { window.location.reload(); return; }
    if (event.code === 4401 || event.code === 4403) {
      forgetIdentity(roomId);
      showJoin(event.code === 4403 ? "You were removed from the room. You can join again." : "");
      return;
    }
    setStatus(`Reconnecting in ${Math.round(retryDelay / 1000)}s…`, false);
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
  renderTimer();
  const mayReveal = facilitator || (room.settings.anyoneCanReveal && voter);
  $("reveal").hidden = !mayReveal;
  $("reveal").disabled = room.revealed;
  $("new-round").hidden = !facilitator;
  $("next-story").hidden = !facilitator;
  $("controls").hidden = !mayReveal && !facilitator;
  for (const node of document.querySelectorAll(".facilitator-only")) node.hidden = !facilitator;
  $("set-anyone").checked = room.settings.anyoneCanReveal;
  $("set-auto").checked = room.settings.autoReveal;
  renderCards(self, voter);
  renderParticipants(facilitator);
  renderResults(facilitator);
  renderStories(facilitator);
}

function renderStory() {
  const story = room.currentStory;
  $("story-title").textContent = story ? story.title : "No story selected";
  const safeLink = story && story.link && /^https?:\/\//i.test(story.link);
  $("story-link-wrap").hidden = !safeLink;
  if (safeLink) $("story-link").href = story.link;
}

function renderTimer() {
  clearInterval(timerTick);
  const timer = $("timer");
  if (!room.timer) { timer.hidden = true; return; }
  const ends = Date.now() + room.timer.secondsLeft * 1000;
  const tick = () => {
    const left = Math.max(0, Math.round((ends - Date.now()) / 1000));
    timer.textContent = `⏱ ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
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
      const button = el("button", { type: "button", className: "card" }, card);
      button.dataset.card = card;
      button.addEventListener("click", () => {
        const chosen = me()?.vote === card;
        send(chosen ? { type: "unvote" } : { type: "vote", card });
      });
      return button;
    }));
    renderedDeck = deckKey;
  }
  $("spectator-note").hidden = voter;
  for (const button of cards.children) {
    button.setAttribute("aria-pressed", String(self.vote === button.dataset.card));
    button.disabled = !voter || room.revealed;
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
      const badge = el("span", { className: `vote${p.hasVoted ? " voted" : ""}` }, shown);
      badge.setAttribute("aria-label", label);
      badge.title = label;
      item.append(badge);
    }
    if (facilitator && p.id !== room.you) {
      const promote = el("button", { type: "button" }, "Make facilitator");
      promote.setAttribute("aria-label", `Make ${p.name} facilitator`);
      promote.addEventListener("click", () => send({ type: "make_facilitator", participantId: p.id }));
      const remove = el("button", { type: "button" }, "Remove");
      remove.setAttribute("aria-label", `Remove ${p.name}`);
      remove.addEventListener("click", () => send({ type: "remove_participant", participantId: p.id }));
      item.append(promote, remove);
    }
    return item;
  });
  $("participants").replaceChildren(...items);
}

function renderResults(facilitator) {
  const stats = room.stats;
  $("results").hidden = !room.revealed || !stats;
  if (!stats) return;
  const number = (value) => (value === null || value === undefined ? "–" : String(value));
  $("stat-average").textContent = number(stats.average);
  $("stat-median").textContent = number(stats.median);
  $("stat-mode").textContent = stats.mode.join(", ") || "–";
  $("stat-agreement").textContent = `${stats.agreement}%`;
  $("stat-consensus").textContent = stats.consensus ? "Yes" : "No";
  $("distribution").replaceChildren(
    ...Object.entries(stats.distribution).map(([card, count]) => el("li", {}, `${card} × ${count}`)),
  );
  $("estimate-form").hidden = !facilitator || !room.currentStory;
  if (room.currentStory && document.activeElement !== $("estimate")) {
    $("estimate").value = room.currentStory.estimate ?? (stats.mode[0] || "");
  }
}

function renderStories(facilitator) {
  const ids = room.stories.map((s) => s.id);
  const items = room.stories.map((story, index) => {
    const item = el("li", { className: story.id === room.currentStory?.id ? "current" : "" });
    if (story.link && /^https?:\/\//i.test(story.link)) {
      item.append(el("a", { href: story.link, rel: "noopener noreferrer", target: "_blank" }, story.title));
    } else {
      item.append(el("span", {}, story.title));
    }
    if (story.estimate) item.append(el("span", { className: "estimate" }, story.estimate));
    if (facilitator) {
      const button = (text, label, handler) => {
        const b = el("button", { type: "button" }, text);
        b.setAttribute("aria-label", label);
        b.addEventListener("click", handler);
        return b;
      };
      const move = (delta) => () => {
        const order = [...ids];
        const [moved] = order.splice(index, 1);
        order.splice(index + delta, 0, moved);
        send({ type: "reorder_stories", order });
      };
      if (index > 0) item.append(button("↑", `Move ${story.title} up`, move(-1)));
      if (index < ids.length - 1) item.append(button("↓", `Move ${story.title} down`, move(1)));
      item.append(button("Estimate", `Estimate ${story.title} now`,
        () => send({ type: "select_story", storyId: story.id })));
      item.append(button("✕", `Delete ${story.title}`,
        () => send({ type: "remove_story", storyId: story.id })));
    }
    return item;
  });
  $("stories").replaceChildren(...items);
}

// -- controls ---------------------------------------------------------------------------

$("reveal").addEventListener("click", () => send({ type: "reveal" }));
$("new-round").addEventListener("click", () => send({ type: "new_round" }));
$("next-story").addEventListener("click", () => send({ type: "next_story" }));
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
$("add-story").addEventListener("submit", (event) => {
  event.preventDefault();
  const title = $("story-title-input").value.trim();
  if (!title) return;
  send({ type: "add_story", title, link: $("story-link-input").value.trim() || null });
  event.target.reset();
});
$("csv-file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (file) send({ type: "import_stories", csv: await file.text() });
  event.target.value = "";
});
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
