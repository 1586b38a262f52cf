'use strict';
/**
 * reduce: sum of 10,000,000 numbers (2,000,000 with --quick), ms per sum and items/s:
 *   ringpool  p.reduce(f64, (acc, x) => acc + x, 0) over a Float64Array on a
 *             SharedArrayBuffer (not copied: every chunk is the buffer + an index range), with
 *             the default chunking and with one chunk per worker (chunkSize n / 2);
 *             and over a plain Array (chunks are copied to the workers), default chunking
 *   single thread   the same reducer in a loop on the main thread (over the Float64Array, and
 *             over the Array)
 * Sums are exact (integers below 2^53) and checked against the closed form.
 */
const { ringpoolPool, since } = require('../workers/batch-lib');

const GROUP_SAB = 'sum, Float64Array on a SAB';
const GROUP_ARRAY = 'sum, plain Array';

const add = (acc, x) => acc + x;

function makeInputs(n) {
  const f64 = new Float64Array(new SharedArrayBuffer(8 * n));
  const arr = new Array(n);
  for (let i = 0; i < n; i++) {
    f64[i] = i % 1000;
    arr[i] = i % 1000;
  }
  const full = Math.floor(n / 1000);
  const rest = n % 1000;
  const expected = full * 499500 + (rest * (rest - 1)) / 2;
  return { f64, arr, expected };
}

function check(sum, expected, who) {
  if (sum !== expected) throw new Error(`${who}: sum ${sum} !== ${expected}`);
}

const metrics = (n) => [
  { key: 'ms', label: `ms per sum of ${n.toLocaleString('en-US')}`, unit: 'ms', better: 'lower' },
  { key: 'ips', label: 'items/s', unit: 'item/s', better: 'higher' },
];

function reduceSubject(ctx, name, input, n, expected, chunkSize) {
  return {
    name,
    role: 'ringpool',
    setup: () => ringpoolPool(ctx),
    async sample(p) {
      const t0 = process.hrtime.bigint();
      const sum = await p.reduce(input, add, 0, chunkSize === undefined ? undefined : { chunkSize });
      const s = since(t0);
      check(sum, expected, name);
      return { ms: s * 1000, ips: n / s };
    },
    teardown: (p) => p.terminate(),
  };
}

function loopSubject(input, n, expected) {
  return {
    name: 'single thread (loop)',
    role: 'baseline',
    sample() {
      const t0 = process.hrtime.bigint();
      let acc = 0;
      for (let i = 0; i < n; i++) acc = add(acc, input[i]);
      const s = since(t0);
      check(acc, expected, 'loop');
      return { ms: s * 1000, ips: n / s };
    },
  };
}

module.exports = {
  name: 'batch-reduce',
  order: 61,
  description: 'reduce: sum of 1e7 numbers, ringpool reduce vs a single-thread loop',
  targets: [],
  async run(ctx) {
    const n = ctx.pick(10000000, 2000000);
    let { f64, arr, expected } = makeInputs(n);
    const opts = { metrics: metrics(n), reps: ctx.pick(7, 5), timeoutMs: ctx.pick(180000, 90000) };
    await ctx.compare(GROUP_SAB, [
      reduceSubject(ctx, 'ringpool reduce, default chunkSize', f64, n, expected),
      reduceSubject(ctx, `ringpool reduce, chunkSize ${(n / 2).toLocaleString('en-US')} (1 per worker)`, f64, n, expected, n / 2),
      loopSubject(f64, n, expected),
    ], opts);
    await ctx.compare(GROUP_ARRAY, [
      reduceSubject(ctx, 'ringpool reduce, default chunkSize', arr, n, expected),
      loopSubject(arr, n, expected),
    ], opts);
    f64 = null;
    arr = null;
  },
};
