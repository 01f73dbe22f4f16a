// What the room does to get attention, each behind its own opt-in: a short tone (Web Audio, no
// file to fetch) and a system notification (the Notification API, permission asked on opt-in).

const SOUND_KEY = "planning-poker:sound";
const NOTIFY_KEY = "planning-poker:notify";

function chime() {
  if (localStorage.getItem(SOUND_KEY) !== "on" || !window.AudioContext) return;
  const audio = new AudioContext();
  const tone = audio.createOscillator();
  const level = audio.createGain();
  tone.frequency.value = 880;
  level.gain.setValueAtTime(0.15, audio.currentTime);
  level.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
  tone.connect(level).connect(audio.destination);
  tone.start();
  tone.stop(audio.currentTime + 0.4);
}

const notifying = () => localStorage.getItem(NOTIFY_KEY) === "on"
  && "Notification" in window && Notification.permission === "granted";

// Tell the user: the tone and/or a notification, as they chose. `tag` replaces an older one.
export function alertUser(title, body, tag) {
  chime();
  if (!notifying()) return;
  try {
    const shown = new Notification(title, { body, tag, lang: "en" });
    shown.addEventListener("click", () => { window.focus(); shown.close(); });
  } catch {
    // A browser that only allows notifications from a service worker: the tone is enough.
  }
}

// Wire the two checkboxes; `tell(message)` says why notifications cannot be turned on.
export function alertSettings(sound, notify, tell) {
  sound.checked = localStorage.getItem(SOUND_KEY) === "on";
  sound.addEventListener("change", () => localStorage.setItem(SOUND_KEY, sound.checked ? "on" : "off"));
  if (!("Notification" in window)) {
    notify.disabled = true;
    tell("This browser cannot show notifications.");
    return;
  }
  notify.checked = notifying();
  notify.addEventListener("change", async () => {
    tell("");
    if (!notify.checked) { localStorage.setItem(NOTIFY_KEY, "off"); return; }
    const answer = Notification.permission === "granted" ? "granted" : await Notification.requestPermission();
    notify.checked = answer === "granted";
    localStorage.setItem(NOTIFY_KEY, notify.checked ? "on" : "off");
    if (!notify.checked) tell("The browser blocks notifications for this site; allow them in its site settings.");
  });
}
