// The start page: create a room and go to it as its facilitator.
import { postJson, saveIdentity } from "./api.js";

const form = document.getElementById("create");
const deck = document.getElementById("deck");
const customWrap = document.getElementById("custom-wrap");
const error = document.getElementById("create-error");

deck.addEventListener("change", () => { customWrap.hidden = deck.value !== "custom"; });

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  const data = new FormData(form);
  const body = {
    name: (data.get("name") || "").trim(),
    facilitatorName: (data.get("facilitatorName") || "").trim(),
    deck: data.get("deck"),
    settings: {
      anyoneCanReveal: data.get("anyoneCanReveal") === "on",
      autoReveal: data.get("autoReveal") === "on",
    },
  };
  if (!body.name) { error.textContent = "Give the room a name."; return; }
  if (!body.facilitatorName) { error.textContent = "Tell us your name."; return; }
  if (body.deck === "custom") {
    body.cards = String(data.get("cards") || "").split(/[\s,]+/).filter(Boolean);
  }
  try {
    const room = await postJson("/api/rooms", body);
    saveIdentity(room.id, { participantId: room.participantId, token: room.token });
    window.location.assign(room.url);
  } catch (exc) {
    error.textContent = exc.message;
  }
});
