// The review page: one finding at a time; a key decides, the decision is saved by the server before we move on.
"use strict";

let items = [];
let classes = [];
let current = 0;

const $ = (id) => document.getElementById(id);

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
  const open = items.findIndex((item) => item.decision === null);
  current = open === -1 ? 0 : open;  // resume at the first undecided one
  show();
}

function show() {
  const done = items.filter((item) => item.decision !== null).length;
  $("progress").textContent = `${done} of ${items.length} decided`;
  if (items.length === 0) {
    $("what").textContent = "Nothing to review";
    return;
  }
  const item = items[current];
  $("what").textContent = `${current + 1}/${items.length}: ${item.kind} (${item.split} image ${item.index})`;
  $("image").src = `/image/${item.item}.png`;
  const suggested = item.suggested === null ? "" : `; suggested: ${item.suggested}`;
  $("labels").textContent = `label: ${item.given}${suggested}; evidence: ${item.evidence}`;
  const d = item.decision;
  $("decided").textContent = d === null ? "not decided yet"
    : `decided: ${d.action}${d.action === "relabel" ? " to " + d.label : ""}`;
}

async function decide(action, label) {
  const item = items[current];
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
  if (current < items.length - 1) current += 1;
  show();
}

document.addEventListener("keydown", (event) => {
  if (items.length === 0 || event.ctrlKey || event.metaKey || event.altKey) return;
  const item = items[current];
  if (event.key === "k") decide("keep");
  else if (event.key === "d") decide("drop");
  else if (event.key === "s" && item.suggested !== null) decide("relabel", item.suggested);
  else if (/^[0-9]$/.test(event.key) && Number(event.key) < classes.length) {
    decide("relabel", classes[Number(event.key)]);
  } else if (event.key === "ArrowRight" && current < items.length - 1) { current += 1; show(); }
  else if (event.key === "ArrowLeft" && current > 0) { current -= 1; show(); }
});

load();
