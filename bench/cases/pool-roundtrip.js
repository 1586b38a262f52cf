'use strict';
/**
 * Sequential round trip: await one noop task at a time on a pre-warmed 2-thread pool, so every
 * task pays the full submit → worker → result → promise path with an idle pool. Latency per task
 * (µs, p50 and p99 of each repetition) and tasks/s. ringpool vs piscina, tinypool, workerpool
 * and bare worker_threads (one postMessage each way).
 */
const h = require('../harness');
const { poolSubjects, worstPeerTargets, LABEL } = require('../workers/pool-lib');

const GROUP = 'sequential noop';
const METRICS = [
  { key: 'rtps', label: 'tasks/s' },
  { key: 'p50', label: 'latency p50' },
  { key: 'p99', label: 'latency p99' },
];

module.exports = {
  name: 'pool-roundtrip',
  order: 41,
  description: 'pool sequential round trip: one noop task at a time (2 threads each, pre-warmed)',
  targets: [
    {
      id: 'p3',
      label: 'sequential round trip p50 ≤ 0.6× piscina',
      group: GROUP,
      metric: 'p50',
      subject: LABEL.ringpool,
      baseline: LABEL.piscina,
      need: 1 / 0.6, // speed-up of a lower-is-better metric: piscina p50 / ringpool p50
    },
    ...worstPeerTargets('w3', GROUP, METRICS),
  ],
  async run(ctx) {
    const rounds = ctx.pick(5000, 1000);
    await ctx.compare(GROUP, poolSubjects(ctx, {
      async sample(p, { warmup }) {
        const n = warmup ? Math.max(100, rounds >> 2) : rounds;
        const lat = new Float64Array(n);
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < n; i++) {
          const ts = process.hrtime.bigint();
          const r = await p.noop();
          lat[i] = Number(process.hrtime.bigint() - ts) / 1000;
          if (r !== undefined) throw new Error(`task ${i}: noop returned ${String(r)}`);
        }
        const s = Number(process.hrtime.bigint() - t0) / 1e9;
        lat.sort();
        return { rtps: n / s, p50: h.percentileSorted(lat, 50), p99: h.percentileSorted(lat, 99) };
      },
    }), {
      metrics: [
        { key: 'rtps', label: `tasks/s (${rounds.toLocaleString('en-US')} sequential)`, unit: 'task/s', better: 'higher' },
        { key: 'p50', label: 'latency p50', unit: 'µs', better: 'lower' },
        { key: 'p99', label: 'latency p99', unit: 'µs', better: 'lower' },
      ],
      timeoutMs: 60000,
    });
  },
};
