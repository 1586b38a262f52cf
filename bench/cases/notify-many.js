'use strict';
/**
 * Wake N async waiters on one cell with ONE notify. Per repetition: main creates N waiters
 * (setup, timed separately), then either notifies itself (same-thread) or asks a worker to
 * notify (cross-thread; the worker stamps the shared clock right before notify). Measured: from
 * the notify call until Promise.all of the N promises has resolved on main.
 * Subjects: ringpool.waitAsync + ringpool.notify vs Atomics.waitAsync + Atomics.notify.
 */
const h = require('../harness');

const layout = Object.freeze({ CELL: 0, INTS: 2, STAMP_BYTE: 8, BYTES: 16 });
const NS = [1000, 10000];

function subject(ctx, name, role, mode, n, cross) {
  const rp = ctx.ringpool;
  const waitAsync = mode === 'ringpool' ? (...a) => rp.waitAsync(...a) : Atomics.waitAsync;
  const notify = mode === 'ringpool' ? (...a) => rp.notify(...a) : Atomics.notify;
  return {
    name,
    role,
    async setup() {
      const sab = new SharedArrayBuffer(layout.BYTES);
      const w = cross ? await h.startWorker('notifier.js', { sab, mode }) : null;
      return { w, i32: new Int32Array(sab, 0, layout.INTS), stamp: new BigInt64Array(sab, layout.STAMP_BYTE, 1) };
    },
    async sample(st) {
      const { i32 } = st;
      Atomics.store(i32, layout.CELL, 0);
      const promises = new Array(n);
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        const r = waitAsync(i32, layout.CELL, 0);
        if (!r.async) throw new Error(`waitAsync settled synchronously with '${r.value}' (waiter ${i})`);
        promises[i] = r.value;
      }
      const t1 = process.hrtime.bigint();
      const all = Promise.all(promises);
      let woken;
      let notifyUs;
      let start;
      let fire = null;
      if (st.w) {
        fire = st.w.request('fire');
        // If the worker dies, do not hang on waiters nobody will wake.
        await Promise.race([all, fire.then(() => h.withTimeout(all, 10000, 'waking all waiters'))]);
      } else {
        start = process.hrtime.bigint();
        Atomics.store(i32, layout.CELL, 1);
        woken = notify(i32, layout.CELL, Infinity);
        notifyUs = Number(process.hrtime.bigint() - start) / 1000;
        await h.withTimeout(all, 10000, 'waking all waiters');
      }
      const end = process.hrtime.bigint();
      const values = await all;
      if (fire) {
        const res = await fire;
        woken = res.woken;
        notifyUs = res.notifyUs;
        start = Atomics.load(st.stamp, 0);
      }
      if (woken !== n) throw new Error(`notify reported ${woken} woken, expected ${n}`);
      if (values.some((v) => v !== 'ok')) throw new Error(`a waiter settled '${values.find((v) => v !== 'ok')}'`);
      return {
        wakeAll: Number(end - start) / 1000,
        notifyCall: notifyUs,
        setup: Number(t1 - t0) / 1000,
      };
    },
    async teardown(st) {
      if (st && st.w) await st.w.stop();
    },
  };
}

const RP = 'ringpool waitAsync/notify';
const AT = 'Atomics.waitAsync/notify';
const fmtN = (n) => n.toLocaleString('en-US');

module.exports = {
  name: 'notify-many',
  order: 20,
  description: 'one notify wakes N async waiters on main (same-thread and from a worker)',
  layout,
  targets: NS.map((n, i) => ({
    id: `a${i + 1}`,
    label: `wake ${fmtN(n)} async waiters, one notify from a worker: ringpool ≤ Atomics`,
    group: `N=${fmtN(n)} cross-thread`,
    metric: 'wakeAll',
    subject: RP,
    baseline: AT,
    need: 1,
  })),
  async run(ctx) {
    for (const n of NS) {
      for (const cross of [false, true]) {
        await ctx.compare(
          `N=${fmtN(n)} ${cross ? 'cross-thread' : 'same-thread'}`,
          [subject(ctx, RP, 'ringpool', 'ringpool', n, cross), subject(ctx, AT, 'baseline', 'atomics', n, cross)],
          {
            reps: ctx.pick(41, 15), // cheap repetitions; more of them steady the median
            metrics: [
              { key: 'wakeAll', label: 'notify → all resolved', unit: 'µs', better: 'lower' },
              { key: 'notifyCall', label: 'notify() call', unit: 'µs', better: 'lower' },
              { key: 'setup', label: `create ${fmtN(n)} waiters`, unit: 'µs', better: 'lower' },
            ],
          },
        );
      }
    }
  },
};
