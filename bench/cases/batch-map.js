'use strict';
/**
 * map of x → 2x over 1,000,000 numbers (200,000 with --quick), items/s:
 *   ringpool  p.map(items, 'double') with its default chunking, over a plain Array and over a
 *             Float64Array on a SharedArrayBuffer (not copied: workers get the buffer and an
 *             index range); results are a plain Array in both cases
 *   piscina / tinypool   one run(x, { name: 'double' }) per item, Promise.all: capped at
 *             50,000 items (10,000 quick) because a task per item is slow; items/s compare
 *   single thread        the same double() in a loop on the main thread into a new Array
 * Then the chunkSize sweep (256, 1024, 4096, 16384 and the default) over the same 1e6 items,
 * for both kinds of input, against the single-thread loop.
 * Every result is checked (out[i] === 2 × in[i]) outside the timed part.
 */
const { ringpoolPool, piscinaPool, tinypoolPool, since } = require('../workers/batch-lib');
const { double } = require('../workers/batch-tasks');

const GROUP = 'map x → 2x';
const SWEEP_ARRAY = 'chunkSize sweep, Array';
const SWEEP_SAB = 'chunkSize sweep, SAB Float64Array';
const LABEL = {
  ringpool: 'ringpool map (Array)',
  ringpoolSab: 'ringpool map (Float64Array, SAB)',
  piscina: 'piscina (1 task per item)',
  tinypool: 'tinypool (1 task per item)',
  loop: 'single thread (loop)',
};
const CHUNKS = [256, 1024, 4096, 16384];

function makeInputs(n) {
  const arr = new Array(n);
  const f64 = new Float64Array(new SharedArrayBuffer(8 * n));
  for (let i = 0; i < n; i++) {
    const v = (i % 1000) + 0.5;
    arr[i] = v;
    f64[i] = v;
  }
  return { arr, f64 };
}

function check(out, input, n, who) {
  if (!Array.isArray(out) || out.length !== n) throw new Error(`${who}: expected ${n} results, got ${out && out.length}`);
  for (let i = 0; i < n; i++) if (out[i] !== input[i] * 2) throw new Error(`${who}: item ${i}: ${out[i]} !== ${input[i] * 2}`);
}

function loopSubject(input, n) {
  return {
    name: LABEL.loop,
    role: 'baseline',
    sample() {
      const t0 = process.hrtime.bigint();
      const out = new Array(n);
      for (let i = 0; i < n; i++) out[i] = double(input[i]);
      const s = since(t0);
      check(out, input, n, 'loop');
      return { ips: n / s, ms: s * 1000 };
    },
  };
}

function mapSubject(ctx, name, input, n, chunkSize) {
  return {
    name,
    role: 'ringpool',
    setup: () => ringpoolPool(ctx),
    async sample(p) {
      const t0 = process.hrtime.bigint();
      const out = await p.map(input, 'double', chunkSize === undefined ? undefined : { chunkSize });
      const s = since(t0);
      check(out, input, n, name);
      return { ips: n / s, ms: s * 1000 };
    },
    teardown: (p) => p.terminate(),
  };
}

function peerSubject(name, create, input, cap) {
  return {
    name,
    role: 'baseline',
    setup: create,
    async sample(p, { warmup }) {
      const m = warmup ? Math.min(cap, 5000) : cap;
      const ps = new Array(m);
      const opts = { name: 'double' };
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < m; i++) ps[i] = p.run(input[i], opts);
      const out = await Promise.all(ps);
      const s = since(t0);
      check(out, input, m, name);
      return { ips: m / s, ms: (s * 1000 * 1e6) / m };
    },
    teardown: (p) => p.destroy(),
  };
}

const metrics = (n, extra = '') => [
  { key: 'ips', label: 'items/s', unit: 'item/s', better: 'higher' },
  { key: 'ms', label: `ms per ${n.toLocaleString('en-US')} items${extra}`, unit: 'ms', better: 'lower' },
];

module.exports = {
  name: 'batch-map',
  order: 60,
  description: 'map x → 2x over 1e6 numbers: ringpool map vs piscina / tinypool (1 task per item) vs a single-thread loop; chunkSize sweep',
  targets: [
    { id: 'b1', label: 'map items/s ≥ 100× piscina (1 task per item)', group: GROUP, metric: 'ips', subject: LABEL.ringpool, baseline: LABEL.piscina, need: 100 },
    { id: 'b1s', label: 'map (SAB Float64Array) items/s ≥ 100× piscina', group: GROUP, metric: 'ips', subject: LABEL.ringpoolSab, baseline: LABEL.piscina, need: 100 },
  ],
  async run(ctx) {
    const n = ctx.pick(1000000, 200000);
    const cap = ctx.pick(50000, 10000);
    let { arr, f64 } = makeInputs(n);
    const opts = { metrics: metrics(n), reps: 5, timeoutMs: ctx.pick(180000, 90000) };

    await ctx.compare(GROUP, [
      mapSubject(ctx, LABEL.ringpool, arr, n),
      mapSubject(ctx, LABEL.ringpoolSab, f64, n),
      peerSubject(LABEL.piscina, piscinaPool, arr, cap),
      peerSubject(LABEL.tinypool, tinypoolPool, arr, cap),
      loopSubject(arr, n),
    ], { ...opts, metrics: metrics(n, ` (peers: extrapolated from ${cap.toLocaleString('en-US')})`) });

    const sweep = (input) => [
      ...CHUNKS.map((c) => mapSubject(ctx, `ringpool map, chunkSize ${c}`, input, n, c)),
      mapSubject(ctx, 'ringpool map, default chunkSize', input, n, undefined),
      loopSubject(input, n),
    ];
    await ctx.compare(SWEEP_ARRAY, sweep(arr), { ...opts, reps: ctx.pick(7, 5) });
    await ctx.compare(SWEEP_SAB, sweep(f64), { ...opts, reps: ctx.pick(7, 5) });
    arr = null;
    f64 = null;
  },
};
