'use strict';
// Task bodies shared by every worker script of cases/batch-*.js and by the single-threaded
// baselines on the main thread, so every subject runs exactly the same code.
// (A plain module, not a worker script.)

function double(x) {
  return x * 2;
}

function add(a, b) {
  return a + b;
}

/** piscina / tinypool pass one argument: add over a pair. */
function addPair(pair) {
  return pair[0] + pair[1];
}

/** Brightness +10, saturating, on the R, G and B bytes of RGBA pixels in u8[start, end). */
function brighten(u8, start, end) {
  for (let i = start; i < end; i++) {
    if ((i & 3) === 3) continue; // alpha
    const v = u8[i] + 10;
    u8[i] = v > 255 ? 255 : v;
  }
}

module.exports = { double, add, addPair, brighten };
