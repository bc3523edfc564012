// The review page: one finding at a time; a key decides, the decision is saved by the server before we move on.
// Beside the image, typical images of its recorded class (and of the suggested one); a filter shows one check's
// findings at a time (the arrows, the progress line and the resume point stay inside it).
"use strict";

let items = [];
let classes = [];
let kind = null;  // the check shown (a finding's kind), or null: all
let shown = [];  // the items of that kind
let current = 0;  // a position in shown

const $ = (id) => document.getElementById(id);
// a probability in two decimals; the extremes said as bounds (0.0004 is not "0.00", 0.9996 is not "1.00")
const probability = (p) => p < 0.005 ? "< 0.01" : p > 0.995 ? "> 0.99" : p.toFixed(2);

async function load() {
  const answer = await fetch("/items");
  const found = await answer.json();
  items = found.items;
  classes = found.classes;
  $("classes").replaceChildren(...classes.map((name) => {
    const li = document.createElement("li");
    li.textContent = name;
    return li;
  }));
  $("chosen").textContent = `Typical images: ${found.examples.chosen}.`;
  const asked = decodeURIComponent(location.hash.slice(1));
  filter(items.some((item) => item.kind === asked) ? asked : null);
}

function filter(chosen) {
  kind = chosen;
  shown = kind === null ? items : items.filter((item) => item.kind === kind);
  history.replaceState(null, "", kind === null ? location.pathname : `#${encodeURIComponent(kind)}`);
  const open = shown.findIndex((item) => item.decision === null);
  current = open === -1 ? 0 : open;  // resume at the first undecided one
  buttons();
  show();
}

function buttons() {
  const counts = new Map();
  for (const item of items) counts.set(item.kind, (counts.get(item.kind) || 0) + 1);
  const choices = [[null, "all", items.length], ...[...counts].map(([name, count]) => [name, name, count])];
  $("kinds").replaceChildren(...choices.map(([value, name, count]) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = `${name} (${count})`;
    button.dataset.kind = value === null ? "" : value;
    button.setAttribute("aria-pressed", String(value === kind));
    button.addEventListener("click", () => { filter(value); button.blur(); });
    return button;
  }));
}

function examples(figure, which, name, index, p) {
  figure.hidden = index === null;
  if (index === null) return;
  const label = document.createElement("strong");
  label.textContent = `${which} label: ${name}`;
  const rest = (p === null ? "" : `, probability ${probability(p)}`) + `; typical images of ${name}:`;
  figure.querySelector("figcaption").replaceChildren(label, rest);
  const img = figure.querySelector("img");
  const none = figure.querySelector(".none");
  img.hidden = false;
  none.hidden = true;
  img.onerror = () => { img.hidden = true; none.hidden = false; };
  img.src = `/examples/${index}.png`;
}

function show() {
  const done = shown.filter((item) => item.decision !== null).length;
  $("progress").textContent = `${done} of ${shown.length} decided` + (kind === null ? "" : ` (${kind})`);
  if (shown.length === 0) {
    $("what").textContent = "Nothing to review";
    return;
  }
  const item = shown[current];
  $("what").textContent = `${current + 1}/${shown.length}: ${item.kind} (${item.split} image ${item.index})`;
  $("image").src = `/image/${item.item}.png`;
  $("evidence").textContent = item.given_probability === null ? `evidence: ${item.evidence}` : "";
  examples($("given-examples"), "recorded", item.given, item.given_class, item.given_probability);
  examples($("suggested-examples"), "suggested", item.suggested, item.suggested_class, item.suggested_probability);
  const d = item.decision;
  $("decided").textContent = d === null ? "not decided yet"
    : `decided: ${d.action}${d.action === "relabel" ? " to " + d.label : ""}`;
}

async function decide(action, label) {
  const item = shown[current];
  const answer = await fetch("/decide", {
    method: "POST",
    headers: {"content-type": "application/json"},
    body: JSON.stringify({item: item.item, action: action, label: label}),
  });
  const reply = await answer.json();
  if (!answer.ok) {
    $("status").textContent = `not saved: ${reply.detail}`;
    return;
  }
  item.decision = reply.decision;
  $("status").textContent = `saved: ${action}${label ? " to " + label : ""}`;
  if (shown[current] === item && current < shown.length - 1) current += 1;
  show();
}

document.addEventListener("keydown", (event) => {
  if (shown.length === 0 || event.ctrlKey || event.metaKey || event.altKey) return;
  const item = shown[current];
  if (event.key === "k") decide("keep");
  else if (event.key === "d") decide("drop");
  else if (event.key === "s" && item.suggested !== null) decide("relabel", item.suggested);
  else if (/^[0-9]$/.test(event.key) && Number(event.key) < classes.length) {
    decide("relabel", classes[Number(event.key)]);
  } else if (event.key === "ArrowRight" && current < shown.length - 1) { current += 1; show(); }
  else if (event.key === "ArrowLeft" && current > 0) { current -= 1; show(); }
});

load();
