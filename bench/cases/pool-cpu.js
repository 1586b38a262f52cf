'use strict';
/**
 * CPU-bound speed-up: 16 × fib(27) (naive recursion, same function everywhere, from
 * workers/pool-tasks.js) on a pre-warmed 2-thread pool, all submitted at once. Every repetition
 * first runs the same 16 fib(27) sequentially on the main thread, then on the pool; it reports
 * the pool's wall time, the sequential time, and speed-up = sequential / pool for that
 * repetition (pairing them cancels slow drift of a shared machine). Ideal speed-up on 2
 * threads: 2. Every result is checked (fib(27) = 196418).
 */
const { poolSubjects, since, worstPeerTargets, LABEL } = require('../workers/pool-lib');
const { fib } = require('../workers/pool-tasks');

const GROUP = '16 × fib(27)';
const TASKS = 16;
const N = 27;
const FIB_N = 196418;

module.exports = {
  name: 'pool-cpu',
  order: 43,
  description: 'pool CPU-bound speed-up: 16 × fib(27) on 2 threads vs sequential on the main thread',
  targets: [
    { id: 'p4', label: 'fib speed-up (sequential / pool) ≥ 1.9 on 2 threads', group: GROUP, metric: 'speedup', subject: LABEL.ringpool, baseline: null, need: 1.9 },
    ...worstPeerTargets('w6', GROUP, [{ key: 'ms', label: 'pool wall time' }, { key: 'speedup', label: 'speed-up' }]),
  ],
  async run(ctx) {
    await ctx.compare(GROUP, poolSubjects(ctx, {
      async sample(p) {
        const s0 = process.hrtime.bigint();
        for (let i = 0; i < TASKS; i++) if (fib(N) !== FIB_N) throw new Error('main thread: wrong fib');
        const seq = since(s0);
        const ps = new Array(TASKS);
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < TASKS; i++) ps[i] = p.fib(N);
        const rs = await Promise.all(ps);
        const s = since(t0);
        for (let i = 0; i < TASKS; i++) if (rs[i] !== FIB_N) throw new Error(`task ${i}: fib(${N}) returned ${String(rs[i])}`);
        return { ms: s * 1000, speedup: seq / s, seq: seq * 1000 };
      },
    }), {
      metrics: [
        { key: 'ms', label: 'pool wall time', unit: 'ms', better: 'lower' },
        { key: 'speedup', label: 'speed-up (seq / pool)', unit: '×', better: 'higher' },
        { key: 'seq', label: 'sequential, main thread (ref)', unit: 'ms', better: 'lower' },
      ],
      reps: Math.max(ctx.reps, ctx.pick(11, 7)),
      timeoutMs: 60000,
    });
  },
};
