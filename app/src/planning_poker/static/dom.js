// Building the room page: elements whose text is always text, SVG, and keeping the focus.

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "className" || name === "textContent" || name === "href" || name === "type") {
      node[name] = value;
    } else if (name === "onclick") node.addEventListener("click", value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const SVG = "http://www.w3.org/2000/svg";

export function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A button that stays focusable while it cannot be used (so the focus never drops to the page):
// aria-disabled, with the reason as its description.
export function setUsable(button, usable, reason = "") {
  button.setAttribute("aria-disabled", String(!usable));
  button.classList.toggle("unusable", !usable);
  if (reason && !usable) button.title = reason;
  else button.removeAttribute("title");
}

export const usable = (button) => button.getAttribute("aria-disabled") !== "true";

// Run a re-render and put the focus back on the element with the same data-key (or another
// one of its data-group, e.g. the "down" button of a story that moved to the top).
export function keepingFocus(render) {
  const before = document.activeElement;
  const key = before && before.dataset ? before.dataset.key : undefined;
  const group = before && before.dataset ? before.dataset.group : undefined;
  const typing = before instanceof HTMLInputElement
    ? { value: before.value, start: before.selectionStart, end: before.selectionEnd } : null;
  render();
  if (!key || (document.activeElement && document.activeElement.isConnected
    && document.activeElement !== document.body)) return;
  const again = document.querySelector(`[data-key="${CSS.escape(key)}"]`)
    || (group && document.querySelector(`[data-group="${CSS.escape(group)}"]`));
  if (!again || again.closest("[hidden]")) return;
  again.focus();
  if (typing && again instanceof HTMLInputElement) { // what was being typed survives the update
    again.value = typing.value;
    again.setSelectionRange(typing.start, typing.end);
  }
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const minutes = Math.floor(seconds / 60);
  return minutes ? `${minutes}m ${String(seconds % 60).padStart(2, "0")}s` : `${seconds}s`;
}
