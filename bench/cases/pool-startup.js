'use strict';
/**
 * Pool start to first result: construct the pool (2 threads, min = max = 2, nothing awaited
 * before), exec one noop and time until it resolves; then terminate/destroy it (not timed) and
 * start over. Each repetition does `cycles` such starts and reports their median; the table
 * shows the median over repetitions. Library modules are loaded once in setup (not timed);
 * the worker threads load their script (and the library) every time, which is part of the cost.
 */
const h = require('../harness');
const { poolSubjects, since, worstPeerTargets } = require('../workers/pool-lib');

const GROUP = 'start → first result';

module.exports = {
  name: 'pool-startup',
  order: 44,
  description: 'pool start to first result: create (2 threads), one noop, terminate; median of cycles',
  targets: [...worstPeerTargets('w7', GROUP, [{ key: 'ms', label: 'time' }])],
  async run(ctx) {
    const cycles = ctx.pick(3, 1);
    await ctx.compare(GROUP, poolSubjects(ctx, {
      prewarm: false,
      async sample(_p, info, st) {
        const times = [];
        for (let c = 0; c < cycles; c++) {
          const t0 = process.hrtime.bigint();
          const p = st.adapter.create();
          let r;
          try {
            r = await h.withTimeout(p.noop(), 20000, 'first result');
            times.push(since(t0) * 1000);
          } finally {
            await h.withTimeout(Promise.resolve(p.destroy()), 10000, 'terminate');
          }
          if (r !== undefined) throw new Error(`noop returned ${String(r)}`);
        }
        return { ms: h.median(times) };
      },
    }), {
      metrics: [{ key: 'ms', label: `start → first result (median of ${cycles})`, unit: 'ms', better: 'lower' }],
      reps: Math.max(ctx.reps, ctx.pick(9, 7)),
      timeoutMs: 60000,
    });
  },
};
