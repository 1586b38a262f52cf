'use strict';
/**
 * execBatch of 100,000 small tasks (20,000 with --quick), tasks/s: add(a, b) with params
 * [i, 1], every result checked outside the timed part.
 *   ringpool  p.execBatch('add', params) with its default chunking (and chunkSize 1024)
 *   piscina   one run([i, 1], { name: 'addPair' }) per task, Promise.all; capped at 50,000
 *             tasks (10,000 quick) since a task per item is slow: tasks/s compare
 */
const { ringpoolPool, piscinaPool, since } = require('../workers/batch-lib');

const GROUP = 'execBatch add(a, b)';
const LABEL = {
  ringpool: 'ringpool execBatch',
  ringpool1k: 'ringpool execBatch, chunkSize 1024',
  piscina: 'piscina (1 run per task)',
};

function check(results, m, who) {
  if (results.length !== m) throw new Error(`${who}: ${results.length} results for ${m} tasks`);
  for (let i = 0; i < m; i++) if (results[i] !== i + 1) throw new Error(`${who}: task ${i}: ${results[i]}`);
}

function ringpoolSubject(ctx, name, params, n, chunkSize) {
  return {
    name,
    role: 'ringpool',
    setup: () => ringpoolPool(ctx),
    async sample(p) {
      const t0 = process.hrtime.bigint();
      const r = await p.execBatch('add', params, chunkSize === undefined ? undefined : { chunkSize });
      const s = since(t0);
      if (r.failures.length) throw new Error(`${name}: ${r.failures.length} failures, first: ${r.failures[0].error.message}`);
      check(r.results, n, name);
      return { tps: n / s, ms: s * 1000 };
    },
    teardown: (p) => p.terminate(),
  };
}

module.exports = {
  name: 'batch-exec',
  order: 62,
  description: 'execBatch of 100,000 small tasks vs piscina (1 run per task)',
  targets: [
    { id: 'b2', label: 'execBatch tasks/s ≥ 10× piscina', group: GROUP, metric: 'tps', subject: LABEL.ringpool, baseline: LABEL.piscina, need: 10 },
  ],
  async run(ctx) {
    const n = ctx.pick(100000, 20000);
    const cap = ctx.pick(50000, 10000);
    let params = Array.from({ length: n }, (_, i) => [i, 1]);
    await ctx.compare(GROUP, [
      ringpoolSubject(ctx, LABEL.ringpool, params, n),
      ringpoolSubject(ctx, LABEL.ringpool1k, params, n, 1024),
      {
        name: LABEL.piscina,
        role: 'baseline',
        setup: piscinaPool,
        async sample(p, { warmup }) {
          const m = warmup ? Math.min(cap, 5000) : cap;
          const ps = new Array(m);
          const opts = { name: 'addPair' };
          const t0 = process.hrtime.bigint();
          for (let i = 0; i < m; i++) ps[i] = p.run(params[i], opts);
          const out = await Promise.all(ps);
          const s = since(t0);
          check(out, m, LABEL.piscina);
          return { tps: m / s, ms: (s * 1000 * n) / m };
        },
        teardown: (p) => p.destroy(),
      },
    ], {
      metrics: [
        { key: 'tps', label: 'tasks/s', unit: 'task/s', better: 'higher' },
        { key: 'ms', label: `ms per ${n.toLocaleString('en-US')} tasks (piscina: extrapolated from ${cap.toLocaleString('en-US')})`, unit: 'ms', better: 'lower' },
      ],
      reps: ctx.pick(7, 5),
      timeoutMs: ctx.pick(180000, 90000),
    });
    params = null;
  },
};
