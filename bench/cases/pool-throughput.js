'use strict';
/**
 * Pool throughput, tasks submitted all at once and awaited with Promise.all: ringpool vs
 * piscina, tinypool, workerpool (2 threads each, pre-warmed) and bare worker_threads
 * (round-robin postMessage). Two workloads: noop() and echo of a small object.
 * Results are checked (noop → undefined; echo → a structurally equal copy of its input).
 */
const { poolSubjects, since, worstPeerTargets, LABEL } = require('../workers/pool-lib');

const NOOP = 'noop';
const ECHO = 'small-object echo';
const tpsMetric = (n) => ({ key: 'tps', label: `tasks/s (${n.toLocaleString('en-US')} at once)`, unit: 'task/s', better: 'higher' });

function makeObjects(n) {
  const objs = new Array(n);
  for (let i = 0; i < n; i++) objs[i] = { id: i, name: 'item' + i, tags: ['a', 'b'], nested: { x: 1.5, y: true } };
  return objs;
}

function checkEcho(r, i, input) {
  if (
    r === input || r === null || typeof r !== 'object' ||
    r.id !== i || r.name !== 'item' + i ||
    !Array.isArray(r.tags) || r.tags.length !== 2 || r.tags[0] !== 'a' || r.tags[1] !== 'b' ||
    r.nested === null || typeof r.nested !== 'object' || r.nested.x !== 1.5 || r.nested.y !== true ||
    Object.keys(r).length !== 4 || Object.keys(r.nested).length !== 2
  ) {
    throw new Error(`task ${i}: bad echo ${JSON.stringify(r)}`);
  }
}

module.exports = {
  name: 'pool-throughput',
  order: 40,
  description: 'pool throughput, all tasks submitted at once: noop and small-object echo (2 threads each)',
  targets: [
    { id: 'p1', label: 'noop throughput ≥ 10× piscina', group: NOOP, metric: 'tps', subject: LABEL.ringpool, baseline: LABEL.piscina, need: 10 },
    { id: 'p2', label: 'small-object echo throughput ≥ 5× piscina', group: ECHO, metric: 'tps', subject: LABEL.ringpool, baseline: LABEL.piscina, need: 5 },
    ...worstPeerTargets('w1', NOOP, [{ key: 'tps', label: 'tasks/s' }]),
    ...worstPeerTargets('w2', ECHO, [{ key: 'tps', label: 'tasks/s' }]),
  ],
  async run(ctx) {
    // The peers' queues slow down with a long backlog (workerpool ≈ 6k tasks/s, tinypool ≈ 10k
    // at 100,000 queued; their echo is slower still), so these groups run the minimum 5
    // repetitions, warm up with a smaller batch, and the echo uses 50,000 in a full run: at
    // 100,000 this case alone took ≈ 7 min on 2 cores, over the full run's budget.
    const nNoop = ctx.pick(100000, 5000);
    const nEcho = ctx.pick(50000, 5000);
    const batchOf = (n) => (warmup) => (warmup ? Math.min(n, 10000) : n);
    const opts = (metric) => ({ metrics: [metric], reps: 5, timeoutMs: ctx.pick(120000, 60000) });

    const noopBatch = batchOf(nNoop);
    const echoBatch = batchOf(nEcho);

    await ctx.compare(NOOP, poolSubjects(ctx, {
      async sample(p, { warmup }) {
        const n = noopBatch(warmup);
        const ps = new Array(n);
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < n; i++) ps[i] = p.noop();
        const rs = await Promise.all(ps);
        const s = since(t0);
        for (let i = 0; i < n; i++) if (rs[i] !== undefined) throw new Error(`task ${i}: noop returned ${String(rs[i])}`);
        return { tps: n / s };
      },
    }), opts(tpsMetric(nNoop)));

    // Inputs built once (not timed) and shared read-only by every subject.
    let objs = makeObjects(nEcho);
    await ctx.compare(ECHO, poolSubjects(ctx, {
      async sample(p, { warmup }) {
        const n = echoBatch(warmup);
        const ps = new Array(n);
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < n; i++) ps[i] = p.echo(objs[i]);
        const rs = await Promise.all(ps);
        const s = since(t0);
        for (let i = 0; i < n; i++) checkEcho(rs[i], i, objs[i]);
        return { tps: n / s };
      },
    }), opts(tpsMetric(nEcho)));
    objs = null;
  },
};
