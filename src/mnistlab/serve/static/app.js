// The drawing page: strokes on a canvas go to POST /predict as a PNG, the answer becomes a bar chart.
"use strict";

const pad = document.getElementById("pad");
const ink = pad.getContext("2d");
const seen = document.getElementById("seen").getContext("2d");
const results = document.getElementById("results");
const status = document.getElementById("status");
const STROKE = 20; // px on the 280px pad: about MNIST's stroke once the digit is fitted into 20x20 of 28x28
const TOP = 5;

let drawing = false;
let drawn = false;
let inFlight = false;
let pending = null;
let encoding = 0; // pad images being turned into PNG, not yet sent
let generation = 0; // a cleared pad ignores answers to requests sent before
let darkInk = false; // the model was trained on dark ink on light paper (what it sees is shown that way)

function clearPad() {
  ink.fillStyle = "#fff";
  ink.fillRect(0, 0, pad.width, pad.height);
  seen.clearRect(0, 0, 28, 28);
  drawn = false;
  pending = null;
  generation += 1;
  status.textContent = "";
  document.getElementById("prediction-set").hidden = true;
  document.getElementById("why").hidden = true;
  document.getElementById("why-note").hidden = true;
  results.innerHTML = '<li class="empty">Draw or upload an image to see a prediction.</li>';
}

function point(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * pad.width / box.width, (event.clientY - box.top) * pad.height / box.height];
}

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  drawing = true;
  const [x, y] = point(event);
  ink.strokeStyle = ink.fillStyle = "#000";
  ink.lineWidth = STROKE;
  ink.lineCap = ink.lineJoin = "round";
  ink.beginPath();
  ink.arc(x, y, STROKE / 2, 0, 2 * Math.PI);
  ink.fill();
  ink.beginPath();
  ink.moveTo(x, y);
  drawn = true;
});

pad.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const [x, y] = point(event);
  ink.lineTo(x, y);
  ink.stroke();
  ink.beginPath();
  ink.moveTo(x, y);
  predictPad(); // live while drawing; at most one request in flight
});

function endStroke() {
  if (!drawing) return;
  drawing = false;
  predictPad();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

function predictPad() {
  if (!drawn) return;
  encoding += 1;
  busy();
  pad.toBlob((blob) => { encoding -= 1; send(blob, "image/png"); }, "image/png");
}

// aria-busy on the results: "true" from a drawing's first request until the answer to its last one is shown
// (screen readers wait; so can a test).
function busy() { results.setAttribute("aria-busy", String(inFlight || pending !== null || encoding > 0)); }

document.getElementById("clear").addEventListener("click", clearPad);

document.getElementById("upload").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  event.target.value = "";
  if (!file) return;
  clearPad();
  try { // show the upload on the pad, fitted and centred
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(pad.width / bitmap.width, pad.height / bitmap.height);
    const w = bitmap.width * scale, h = bitmap.height * scale;
    ink.drawImage(bitmap, (pad.width - w) / 2, (pad.height - h) / 2, w, h);
  } catch (error) { /* the server says what is wrong with it */ }
  send(file, file.type || "application/octet-stream");
});

async function send(body, type) {
  if (inFlight) { pending = [body, type]; busy(); return; }
  inFlight = true;
  busy();
  const sentIn = generation;
  try {
    const response = await fetch(`/predict?top=${TOP}&image=true&explain=true`, { method: "POST", headers: { "content-type": type }, body });
    const answer = await response.json();
    if (!response.ok) throw new Error(typeof answer.detail === "string" ? answer.detail : `error ${response.status}`);
    if (sentIn === generation) { show(answer); status.textContent = ""; }
  } catch (error) {
    if (sentIn === generation) status.textContent = error.message;
  } finally {
    inFlight = false;
    if (pending) { const [b, t] = pending; pending = null; send(b, t); } else busy();
  }
}

function show(answer) {
  const values = answer.top.map((c) => c.value);
  const low = answer.kind === "probability" ? 0 : Math.min(...values);
  const high = answer.kind === "probability" ? 1 : Math.max(...values);
  results.innerHTML = "";
  for (const c of answer.top) {
    const row = document.createElement("li");
    row.className = "bar";
    row.dataset.class = c.class;
    const width = high > low ? (100 * (c.value - low)) / (high - low) : 100;
    const shown = answer.kind === "probability" ? `${(100 * c.value).toFixed(1)}%` : c.value.toFixed(2);
    row.innerHTML = '<span class="name"></span><span class="track"><span class="fill"></span></span><span class="value"></span>';
    row.querySelector(".name").textContent = c.class;
    row.querySelector(".fill").style.width = `${width}%`;
    row.querySelector(".value").textContent = shown;
    results.appendChild(row);
  }
  const held = document.getElementById("prediction-set");
  held.hidden = !answer.prediction_set;
  if (answer.prediction_set) {
    const level = `${Math.round(100 * (1 - answer.alpha))}%`;
    // an empty set (methods split, class-conditional) is not "none of these": the answer says what it means
    const classes = answer.prediction_set.length ? `{ ${answer.prediction_set.join(", ")} }` : `{ } ${answer.empty_set_means || ""}`;
    held.textContent = `${level} prediction set: ${classes}`;
    held.title = `conformal method: ${answer.method}`;
  }
  if (answer.image) {
    const pixels = seen.createImageData(28, 28);
    answer.image.flat().forEach((v, i) => { pixels.data.set([v, v, v, 255], 4 * i); });
    seen.putImageData(pixels, 0, 0);
    drawWhy(answer.image, answer.explanation);
  }
}

// The image faint on white, each pixel tinted by its attribution: red raised the predicted class, blue lowered it.
function drawWhy(image, explanation) {
  const canvas = document.getElementById("why");
  const show = Boolean(explanation);
  canvas.hidden = !show;
  document.getElementById("why-note").hidden = !show;
  if (!show) return;
  const context = canvas.getContext("2d");
  const pixels = context.createImageData(28, 28);
  image.flat().forEach((v, i) => {
    const m = explanation[Math.floor(i / 28)][i % 28];
    const strength = Math.min(1, 2 * Math.abs(m));
    const paper = 255 - 0.3 * (darkInk ? 255 - v : v); // the ink faint on white, whatever the model's polarity
    const tint = m > 0 ? [220, 30, 30] : [30, 60, 220];
    pixels.data.set([0, 1, 2].map((c) => paper + strength * (tint[c] - paper)).concat([255]), 4 * i);
  });
  context.putImageData(pixels, 0, 0);
}

async function describeModel() {
  try {
    const model = await (await fetch("/model")).json();
    const accuracy = model.metrics.test_accuracy;
    darkInk = model.polarity === "dark-on-light";
    document.getElementById("model-line").textContent =
      `${model.model} trained on ${model.data}` + (accuracy ? ` · test accuracy ${(100 * accuracy).toFixed(2)}%` : "") +
      ` · ${model.engine}`;
    const what = { digits: "Draw a digit", objects: "Draw a garment" }[model.kind] || "Draw a digit or a garment";
    document.getElementById("prompt").textContent = what;
    document.title = `mnistlab · ${model.model} on ${model.data}`;
  } catch (error) {
    status.textContent = "the server did not answer";
  }
}

clearPad();
describeModel();
