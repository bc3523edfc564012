"use strict";
// The "mnist" preprocessing rule of mnistlab.datasets.preprocess.mnist_style, in the browser: what `mnistlab
// predict` does to a drawing before the model sees it. Grayscale ink made light on dark, the background made 0,
// cropped to the ink, fitted into 20x20 with Pillow's Lanczos filter (its fixed-point arithmetic, so the pixels
// are Pillow's), centred by centre of mass in 28x28 with scipy's linear shift. tests/test_playground.py compares
// it with the Python rule on the same drawings.

const PRECISION_BITS = 32 - 8 - 2; // Pillow's fixed point for 8-bit images

function median(values) {
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function border(gray, w, h) {
  const out = [];
  for (let x = 0; x < w; x++) out.push(gray[x], gray[(h - 1) * w + x]);
  for (let y = 0; y < h; y++) out.push(gray[y * w], gray[y * w + w - 1]);
  return out;
}

function lanczos(x) {
  if (x <= -3 || x >= 3) return 0;
  const sinc = (t) => (t === 0 ? 1 : Math.sin(Math.PI * t) / (Math.PI * t));
  return sinc(x) * sinc(x / 3);
}

// Pillow's coefficients for resizing `inSize` pixels to `outSize` (ImagingResample, precompute_coeffs and
// normalize_coeffs_8bpc): for each output pixel the first input pixel and the integer weights.
function coefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 3 * filterscale;
  const rows = [];
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    const weights = [];
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const w = lanczos((x + xmin - center + 0.5) / filterscale);
      weights.push(w);
      total += w;
    }
    const fixed = weights.map((w) => {
      const v = (total !== 0 ? w / total : 0) * (1 << PRECISION_BITS);
      return Math.trunc(v < 0 ? v - 0.5 : v + 0.5);
    });
    rows.push({ first: xmin, weights: fixed });
  }
  return rows;
}

function clip8(sum) {
  const v = Math.floor(sum / (1 << PRECISION_BITS));
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

// Pillow's Image.resize((outW, outH), LANCZOS) of an 8-bit image: horizontal pass, then vertical.
function resizeLanczos(pixels, w, h, outW, outH) {
  let src = pixels, width = w;
  if (outW !== w) {
    const cs = coefficients(w, outW);
    const out = new Uint8Array(outW * h);
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < outW; xx++) {
        const { first, weights } = cs[xx];
        let sum = 1 << (PRECISION_BITS - 1);
        for (let i = 0; i < weights.length; i++) sum += src[y * width + first + i] * weights[i];
        out[y * outW + xx] = clip8(sum);
      }
    }
    src = out; width = outW;
  }
  if (outH !== h) {
    const cs = coefficients(h, outH);
    const out = new Uint8Array(width * outH);
    for (let yy = 0; yy < outH; yy++) {
      const { first, weights } = cs[yy];
      for (let x = 0; x < width; x++) {
        let sum = 1 << (PRECISION_BITS - 1);
        for (let i = 0; i < weights.length; i++) sum += src[(first + i) * width + x] * weights[i];
        out[yy * width + x] = clip8(sum);
      }
    }
    src = out;
  }
  return src;
}

// scipy.ndimage.shift(image, (dy, dx), order=1, mode="constant"): linear interpolation, 0 outside.
function shiftLinear(image, size, dy, dx) {
  const out = new Float64Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const sy = y - dy, sx = x - dx;
      if (sy < 0 || sx < 0 || sy > size - 1 || sx > size - 1) continue;
      const y0 = Math.floor(sy), x0 = Math.floor(sx);
      const y1 = Math.min(y0 + 1, size - 1), x1 = Math.min(x0 + 1, size - 1);
      const fy = sy - y0, fx = sx - x0;
      out[y * size + x] =
        image[y0 * size + x0] * (1 - fy) * (1 - fx) + image[y0 * size + x1] * (1 - fy) * fx +
        image[y1 * size + x0] * fy * (1 - fx) + image[y1 * size + x1] * fy * fx;
    }
  }
  return out;
}

// gray: w*h values 0..255 (any polarity). Returns the 28x28 Uint8Array the model sees.
function mnistStyle(gray, w, h, box = 20, size = 28) {
  let g = Float64Array.from(gray);
  if (!(median(border(g, w, h)) < 128)) g = g.map((v) => 255 - v); // light paper: MNIST has light ink on black
  const background = median(border(g, w, h));
  let max = 0;
  for (let i = 0; i < g.length; i++) { g[i] = Math.max(g[i] - background, 0); max = Math.max(max, g[i]); }
  if (max <= 0) return new Uint8Array(size * size);
  let top = h, bottom = -1, left = w, right = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (g[y * w + x] > 0.2 * max) {
        top = Math.min(top, y); bottom = Math.max(bottom, y); left = Math.min(left, x); right = Math.max(right, x);
      }
    }
  }
  const ch = bottom - top + 1, cw = right - left + 1;
  let cropMax = 0;
  for (let y = top; y <= bottom; y++) for (let x = left; x <= right; x++) cropMax = Math.max(cropMax, g[y * w + x]);
  const crop = new Uint8Array(ch * cw);
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) crop[y * cw + x] = Math.trunc(g[(top + y) * w + left + x] * (255 / cropMax));
  }
  const scale = box / Math.max(ch, cw);
  const newH = Math.max(1, roundHalfEven(ch * scale)), newW = Math.max(1, roundHalfEven(cw * scale));
  const fitted = resizeLanczos(crop, cw, ch, newW, newH);
  const canvas = new Float64Array(size * size);
  const y0 = (size - newH) >> 1, x0 = (size - newW) >> 1;
  let mass = 0, my = 0, mx = 0;
  for (let y = 0; y < newH; y++) {
    for (let x = 0; x < newW; x++) {
      const v = fitted[y * newW + x];
      canvas[(y0 + y) * size + x0 + x] = v;
      mass += v; my += v * (y0 + y); mx += v * (x0 + x);
    }
  }
  const shifted = mass > 0 ? shiftLinear(canvas, size, size / 2 - 0.5 - my / mass, size / 2 - 0.5 - mx / mass) : canvas;
  return Uint8Array.from(shifted, (v) => Math.min(255, Math.max(0, roundHalfEven(v))));
}

// Python's round() and numpy's rint: halves to even
function roundHalfEven(v) {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
