'use strict';
/**
 * One-way wake latency, worker → main. Per round: main arms an async waiter on SIG, then
 * acknowledges (ACK) to the worker; the worker stamps process.hrtime.bigint() into a shared
 * slot, stores SIG and notifies; main measures now − stamp when its promise resolves.
 * Subjects: ringpool.waitAsync + ringpool.notify vs Atomics.waitAsync + Atomics.notify. The
 * ACK hand-off uses plain Atomics in both, and is not timed.
 */
const h = require('../harness');

const layout = Object.freeze({ SIG: 0, ACK: 1, ABORT: 2, INTS: 4, STAMP_BYTE: 16, BYTES: 24 });
const DELAY_US = 20; // worker pause after the ACK, so main is idle in its event loop

function subject(ctx, name, role, mode, rounds) {
  const waitAsync = mode === 'ringpool' ? (...a) => ctx.ringpool.waitAsync(...a) : Atomics.waitAsync;
  return {
    name,
    role,
    async setup() {
      const sab = new SharedArrayBuffer(layout.BYTES);
      const w = await h.startWorker('wake.js', { sab, mode, delayUs: DELAY_US });
      return {
        w,
        i32: new Int32Array(sab, 0, layout.INTS),
        stamp: new BigInt64Array(sab, layout.STAMP_BYTE, 1),
      };
    },
    async sample(st, { warmup }) {
      const { i32, stamp } = st;
      const n = warmup ? Math.max(100, rounds >> 2) : rounds;
      const lat = new Float64Array(n);
      const done = st.w.request('run', { rounds: n, ack: Atomics.load(i32, layout.ACK) });
      let failed = null;
      done.catch((e) => { failed = e; });
      try {
        for (let i = 0; i < n; i++) {
          const cur = Atomics.load(i32, layout.SIG);
          // No per-wait timeout (it would arm a timer per round); the harness times the sample out.
          const r = waitAsync(i32, layout.SIG, cur);
          if (!r.async) throw new Error(`waitAsync settled synchronously with '${r.value}' in round ${i}`);
          Atomics.store(i32, layout.ACK, cur + 1);
          Atomics.notify(i32, layout.ACK, 1);
          const v = await r.value;
          const t = process.hrtime.bigint();
          if (failed) throw failed;
          if (v !== 'ok') throw new Error(`waitAsync settled '${v}' in round ${i}`);
          lat[i] = Number(t - Atomics.load(stamp, 0)) / 1000;
        }
      } catch (err) {
        Atomics.store(i32, layout.ABORT, 1);
        Atomics.notify(i32, layout.ACK);
        throw err;
      }
      await done;
      const s = lat.sort();
      return { p50: h.percentileSorted(s, 50), p99: h.percentileSorted(s, 99) };
    },
    async teardown(st) {
      if (!st) return;
      Atomics.store(st.i32, layout.ABORT, 1);
      Atomics.notify(st.i32, layout.ACK);
      await st.w.stop();
    },
  };
}

module.exports = {
  name: 'wake-latency',
  order: 10,
  description: 'one-way wake latency worker → main (async waiter on main, notify from a worker)',
  layout,
  targets: [
    {
      id: 'b',
      label: 'wake latency p50 worker→main: ringpool ≤ Atomics.waitAsync',
      group: 'worker→main',
      metric: 'p50',
      subject: 'ringpool waitAsync/notify',
      baseline: 'Atomics.waitAsync/notify',
      need: 1,
    },
  ],
  async run(ctx) {
    const rounds = ctx.pick(2000, 1000);
    await ctx.compare(
      'worker→main',
      [
        subject(ctx, 'ringpool waitAsync/notify', 'ringpool', 'ringpool', rounds),
        subject(ctx, 'Atomics.waitAsync/notify', 'baseline', 'atomics', rounds),
      ],
      {
        reps: ctx.pick(31, 11), // a repetition is cheap; more of them steady the median
        timeoutMs: 60000,
        metrics: [
          { key: 'p50', label: `p50 of ${rounds.toLocaleString('en-US')} wakes`, unit: 'µs', better: 'lower' },
          { key: 'p99', label: `p99 of ${rounds.toLocaleString('en-US')} wakes`, unit: 'µs', better: 'lower' },
        ],
      },
    );
  },
};
