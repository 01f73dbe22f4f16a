// HTTP calls and the stored participant tokens.

export async function postJson(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  let data = {};
  try { data = await response.json(); } catch { /* not JSON */ }
  if (!response.ok) {
    const problems = (data.problems || []).map((p) => `${p.field}: ${p.message}`).join("; ");
    throw new Error(problems || data.message || `request failed (${response.status})`);
  }
  return data;
}

const key = (roomId) => `planning-poker:${roomId}`;

export function loadIdentity(roomId) {
  try { return JSON.parse(localStorage.getItem(key(roomId)) || "null"); } catch { return null; }
}

export function saveIdentity(roomId, identity) {
  localStorage.setItem(key(roomId), JSON.stringify(identity));
}

export function forgetIdentity(roomId) {
  localStorage.removeItem(key(roomId));
}
