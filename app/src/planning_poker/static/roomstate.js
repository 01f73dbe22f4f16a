// The room state between full `state` messages: the server's `delta` messages applied in order.
// See docs/app-protocol.md ("Deltas").

/** Query parameter that asks the server for deltas instead of a full state after each change. */
export const DELTAS_PARAM = "deltas=1";

/** What to send when a delta does not follow the state we hold: the server answers with it. */
export const SYNC_MESSAGE = JSON.stringify({ type: "sync" });

/**
 * The room after a delta, or null when the delta is for another version than ours
 * (then send SYNC_MESSAGE and wait for the full state).
 */
export function applyDelta(room, delta) {
  if (!room || delta.base !== room.version) return null;
  const next = { ...room, ...delta.set, version: delta.version };
  if (delta.participants.length > 0) {
    const changed = new Map(delta.participants.map((entry) => [entry.id, entry]));
    next.participants = room.participants.map((entry) => changed.get(entry.id) ?? entry);
  }
  return next;
}
