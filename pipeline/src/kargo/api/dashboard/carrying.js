// Dragging freight onto a stage with the keyboard: Space on a freight chip picks it up, the
// arrow keys (or Tab) go from stage to stage in the graph, Enter or Space drops it on the one
// that has the focus, Escape puts it back. Each step is announced in a live region.

export function keyboardCarry({ timeline, graph, status, aliasOf, onDrop }) {
  let carried = null; // the freight's name while it is picked up
  const say = (text) => { status.textContent = text; };
  const nodes = () => [...graph.querySelectorAll("g[data-stage]")];
  const chipOf = (name) => timeline.querySelector(`[data-freight="${CSS.escape(name)}"]`);

  function mark() {
    for (const chip of timeline.querySelectorAll("[data-freight]")) {
      chip.classList.toggle("carried", chip.getAttribute("data-freight") === carried);
    }
    graph.classList.toggle("carrying", carried !== null);
  }

  function putBack(message) {
    const name = carried;
    carried = null;
    mark();
    say(message);
    const chip = name && chipOf(name);
    if (chip) chip.focus();
  }

  timeline.addEventListener("keydown", (event) => {
    const chip = event.target.closest && event.target.closest("[data-freight]");
    if (!chip || event.key !== " ") return;
    event.preventDefault(); // Enter still selects the chip; Space picks it up
    const targets = nodes();
    if (!targets.length) { say("There is no stage to drop freight on."); return; }
    carried = chip.getAttribute("data-freight");
    mark();
    targets[0].focus();
    say(`Picked up ${aliasOf(carried)}. Over stage ${targets[0].getAttribute("data-stage")}. `
      + "Arrow keys choose a stage, Enter drops the freight there, Escape puts it back.");
  });
  timeline.addEventListener("keyup", (event) => { if (event.key === " " && carried) event.preventDefault(); });

  graph.addEventListener("keydown", (event) => {
    if (carried === null) return;
    const node = event.target.closest && event.target.closest("g[data-stage]");
    const all = nodes();
    const at = all.indexOf(node);
    if (event.key === "Escape") {
      event.preventDefault();
      putBack(`${aliasOf(carried)} put back; nothing was promoted.`);
    } else if ((event.key === "Enter" || event.key === " ") && node) {
      event.preventDefault();
      event.stopPropagation(); // not the node's own "open the stage"
      const name = carried;
      const stage = node.getAttribute("data-stage");
      carried = null;
      mark();
      say(`Dropped ${aliasOf(name)} on ${stage}.`);
      onDrop(stage, name);
    } else if (["ArrowRight", "ArrowDown", "ArrowLeft", "ArrowUp"].includes(event.key)) {
      event.preventDefault();
      const step = event.key === "ArrowRight" || event.key === "ArrowDown" ? 1 : -1;
      all[(Math.max(at, 0) + step + all.length) % all.length].focus();
    }
  }, true);
  graph.addEventListener("focusin", (event) => {
    const node = event.target.closest && event.target.closest("g[data-stage]");
    if (carried !== null && node) say(`${aliasOf(carried)} over stage ${node.getAttribute("data-stage")}.`);
  });
  document.addEventListener("keydown", (event) => {
    if (carried !== null && event.key === "Escape" && !graph.contains(event.target)) {
      putBack(`${aliasOf(carried)} put back; nothing was promoted.`);
    }
  });
  return { mark, cancel: () => { carried = null; mark(); } };
}
