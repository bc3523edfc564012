"use strict";
// The playground: a drawing (or a test image) answered by models trained by mnistlab, in this browser, with
// ONNX Runtime Web and no server. The scripts before this one set:
//   ort                      ONNX Runtime Web (vendor/ort.wasm.min.js, from the npm registry at build time)
//   ORT_GLUE, ORT_WASM       its WebAssembly glue (source text) and binary (base64): given to it from memory, so
//                            the page also works opened from a file (file:// forbids fetch and module imports)
//   PLAYGROUND_MODELS        [{id, title, dataset, kind, classes, onnx (base64)}]     (models.js)
//   PLAYGROUND_SAMPLES       {dataset: [{label, pixels (base64, 784 bytes)}]}         (samples.js)

const SIZE = 28;
const PATCH = 6, STRIDE = 2; // the occlusion map's hiding square and its step

function bytesOf(base64) {
  const text = atob(base64);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

ort.env.wasm.numThreads = 1; // threads need cross-origin isolation, which a page from a file never has
ort.env.wasm.wasmBinary = bytesOf(ORT_WASM);
ort.env.wasm.wasmPaths = { mjs: URL.createObjectURL(new Blob([ORT_GLUE], { type: "text/javascript" })) };

const sessions = new Map();
function session(model) {
  if (!sessions.has(model.id)) sessions.set(model.id, ort.InferenceSession.create(bytesOf(model.onnx)));
  return sessions.get(model.id);
}

function softmax(logits, offset, n) {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[offset + i]);
  const out = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) { out[i] = Math.exp(logits[offset + i] - max); total += out[i]; }
  for (let i = 0; i < n; i++) out[i] /= total;
  return out;
}

// class probabilities of a batch of 28x28 images (Float32Array of n*784 pixels on the 0..255 scale)
async function probabilities(model, pixels, n) {
  const s = await session(model);
  const feeds = { [s.inputNames[0]]: new ort.Tensor("float32", pixels, [n, 1, SIZE, SIZE]) };
  const logits = (await s.run(feeds))[s.outputNames[0]].data;
  const k = model.classes.length;
  return Array.from({ length: n }, (_, i) => softmax(logits, i * k, k));
}

// the occlusion map: how much the top class's probability drops when a square of background (0) hides each place
async function occlusion(model, image, top, p0) {
  const places = [];
  for (let y = 0; y + PATCH <= SIZE; y += STRIDE) for (let x = 0; x + PATCH <= SIZE; x += STRIDE) places.push([y, x]);
  const batch = new Float32Array(places.length * SIZE * SIZE);
  places.forEach(([y, x], i) => {
    batch.set(image, i * SIZE * SIZE);
    for (let dy = 0; dy < PATCH; dy++) batch.fill(0, i * 784 + (y + dy) * SIZE + x, i * 784 + (y + dy) * SIZE + x + PATCH);
  });
  const answers = await probabilities(model, batch, places.length);
  const drop = new Float64Array(SIZE * SIZE), count = new Float64Array(SIZE * SIZE);
  places.forEach(([y, x], i) => {
    for (let dy = 0; dy < PATCH; dy++) for (let dx = 0; dx < PATCH; dx++) {
      drop[(y + dy) * SIZE + x + dx] += p0 - answers[i][top];
      count[(y + dy) * SIZE + x + dx] += 1;
    }
  });
  return drop.map((d, i) => (count[i] ? d / count[i] : 0));
}

const pad = document.getElementById("pad");
const ctx = pad.getContext("2d");
const state = { dataset: null, model: null, input: null, last: null };
window.playground = state; // what the browser test reads

function clearPad() {
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, pad.width, pad.height);
  state.input = null;
  show(null);
}

function padGray() {
  const rgba = ctx.getImageData(0, 0, pad.width, pad.height).data;
  const gray = new Float64Array(pad.width * pad.height);
  for (let i = 0; i < gray.length; i++) gray[i] = Math.round(0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]);
  return gray;
}
state.padGray = () => Array.from(padGray());

let drawing = false;
function at(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * (pad.width / box.width), (event.clientY - box.top) * (pad.height / box.height)];
}
pad.addEventListener("pointerdown", (event) => {
  drawing = true;
  pad.setPointerCapture(event.pointerId);
  ctx.beginPath();
  ctx.moveTo(...at(event));
});
pad.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  ctx.lineTo(...at(event));
  ctx.stroke();
});
pad.addEventListener("pointerup", () => {
  drawing = false;
  state.input = mnistStyle(padGray(), pad.width, pad.height);
  answer();
});

function drawImage(canvas, pixels, heat) {
  const c = canvas.getContext("2d");
  const img = c.createImageData(SIZE, SIZE);
  const peak = heat ? Math.max(1e-6, ...heat.map(Math.abs)) : 1;
  for (let i = 0; i < SIZE * SIZE; i++) {
    const v = pixels[i];
    const h = heat ? Math.max(0, heat[i]) / peak : 0;
    img.data.set([v * (1 - h) + 255 * h, v * (1 - h), v * (1 - h) + 60 * h, 255], 4 * i);
  }
  c.putImageData(img, 0, 0);
}

function bars(element, classes, p) {
  element.replaceChildren(...classes.map((name, i) => {
    const row = document.createElement("div");
    row.className = "bar";
    row.dataset.class = name;
    row.innerHTML = `<span class="name"></span><span class="track"><span class="fill"></span></span><span class="value"></span>`;
    row.querySelector(".name").textContent = name;
    row.querySelector(".fill").style.width = `${(100 * p[i]).toFixed(1)}%`;
    row.querySelector(".value").textContent = p[i].toFixed(3);
    return row;
  }));
}

async function answer() {
  if (!state.input) return;
  const model = state.model;
  const image = Float32Array.from(state.input);
  const start = performance.now();
  const [p] = await probabilities(model, image, 1);
  const ms = performance.now() - start;
  const top = p.indexOf(Math.max(...p));
  const heat = await occlusion(model, image, top, p[top]);
  state.last = { model: model.id, input: Array.from(state.input), probabilities: Array.from(p), ms };
  show({ p, top, ms, heat });
  compare(image);
}

async function compare(image) {
  const rows = [];
  for (const model of PLAYGROUND_MODELS.filter((m) => m.dataset === state.dataset)) {
    const [p] = await probabilities(model, image, 1);
    const top = p.indexOf(Math.max(...p));
    const row = document.createElement("tr");
    for (const text of [model.title, model.classes[top], p[top].toFixed(3)]) {
      row.append(Object.assign(document.createElement("td"), { textContent: text })); // names are text, never markup
    }
    rows.push(row);
  }
  document.getElementById("compare").replaceChildren(...rows);
}

function show(result) {
  const model = state.model;
  if (!result) {
    bars(document.getElementById("bars"), model.classes, model.classes.map(() => 0));
    document.getElementById("verdict").textContent = "Draw, or pick a test image.";
    document.getElementById("compare").replaceChildren();
    drawImage(document.getElementById("seen"), new Uint8Array(784));
    drawImage(document.getElementById("occlusion"), new Uint8Array(784));
    return;
  }
  bars(document.getElementById("bars"), model.classes, result.p);
  document.getElementById("verdict").textContent =
    `${model.title}: ${model.classes[result.top]} (${(100 * result.p[result.top]).toFixed(1)}%), answered in ${result.ms.toFixed(1)} ms`;
  drawImage(document.getElementById("seen"), state.input);
  drawImage(document.getElementById("occlusion"), state.input, result.heat);
}

function chooseDataset(dataset) {
  state.dataset = dataset;
  const models = PLAYGROUND_MODELS.filter((m) => m.dataset === dataset);
  const select = document.getElementById("model");
  select.replaceChildren(...models.map((m) => new Option(m.title, m.id)));
  state.model = models[models.length - 1];
  select.value = state.model.id;
  const samples = document.getElementById("samples");
  samples.replaceChildren(...PLAYGROUND_SAMPLES[dataset].map((sample, i) => {
    const button = document.createElement("button");
    button.type = "button";
    button.title = `test image ${i + 1}: ${models[0].classes[sample.label]}`;
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = SIZE;
    drawImage(canvas, bytesOf(sample.pixels));
    button.append(canvas);
    button.addEventListener("click", () => pick(sample));
    return button;
  }));
  clearPad();
}

function pick(sample) {
  // a test image is already 28x28 as the model was trained on: no preprocessing, as predict does for it
  state.input = bytesOf(sample.pixels);
  const c = document.createElement("canvas");
  c.width = c.height = SIZE;
  drawImage(c, state.input);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(c, 0, 0, pad.width, pad.height);
  answer();
}

document.getElementById("clear").addEventListener("click", clearPad);
document.getElementById("dataset").addEventListener("change", (e) => chooseDataset(e.target.value));
document.getElementById("model").addEventListener("change", (e) => {
  state.model = PLAYGROUND_MODELS.find((m) => m.id === e.target.value);
  if (state.input) answer(); else show(null);
});
ctx.lineWidth = 22;
ctx.lineCap = ctx.lineJoin = "round";
ctx.strokeStyle = "#fff";
const datasets = [...new Set(PLAYGROUND_MODELS.map((m) => m.dataset))];
document.getElementById("dataset").replaceChildren(...datasets.map((d) => new Option(d, d)));
chooseDataset(datasets[0]);
state.ready = Promise.all(PLAYGROUND_MODELS.map(session)).then(() => {
  document.body.dataset.ready = "true";
});
