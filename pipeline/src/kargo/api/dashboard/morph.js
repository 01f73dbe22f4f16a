// Live updates in place: the page's new content is matched to the nodes already there by key
// (data-key, id, data-node, data-stage, data-freight; else tag and position) and only what
// changed is written, so the focused element, scroll positions and open <details> survive.

const KEYS = ["data-key", "id", "data-node", "data-stage", "data-freight"];

function keyOf(node) {
  if (node.nodeType !== Node.ELEMENT_NODE) return `#${node.nodeType}`;
  for (const name of KEYS) {
    const value = node.getAttribute(name);
    if (value !== null) return `${node.namespaceURI}|${node.localName}|${name}=${value}`;
  }
  return `${node.namespaceURI}|${node.localName}`;
}

function patchAttributes(old, neu) {
  for (const { name } of [...old.attributes]) {
    if (!neu.hasAttribute(name) && !(name === "open" && old.localName === "details")) old.removeAttribute(name);
  }
  for (const { name, value } of [...neu.attributes]) {
    if (old.getAttribute(name) !== value) old.setAttribute(name, value);
  }
  if (old.onclick !== neu.onclick) old.onclick = neu.onclick; // el() sets handlers as properties
}

// Listeners added with addEventListener stay on the old node: they must depend only on its key.
function patch(old, neu) {
  if (old.nodeType !== Node.ELEMENT_NODE) {
    if (old.nodeValue !== neu.nodeValue) old.nodeValue = neu.nodeValue;
    return;
  }
  patchAttributes(old, neu);
  morph(old, [...neu.childNodes]);
}

// Make `parent`'s children be `children` (new nodes), reusing the existing nodes with the same
// key; nodes already in order are not moved (moving the focused one would blur it).
export function morph(parent, ...children) {
  const wanted = children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false)
    .map((c) => (c instanceof Node ? c : document.createTextNode(String(c))));
  const pool = new Map();
  for (const node of parent.childNodes) {
    const key = keyOf(node);
    if (!pool.has(key)) pool.set(key, []);
    pool.get(key).push(node);
  }
  const matches = wanted.map((neu) => {
    const candidates = pool.get(keyOf(neu));
    return candidates && candidates.length ? candidates.shift() : null;
  });
  const reused = new Set(matches.filter(Boolean));
  for (const node of [...parent.childNodes]) if (!reused.has(node)) node.remove();
  let cursor = parent.firstChild;
  wanted.forEach((neu, index) => {
    const old = matches[index];
    if (old) patch(old, neu);
    const node = old || neu;
    if (node === cursor) cursor = cursor.nextSibling;
    else parent.insertBefore(node, cursor);
  });
}
