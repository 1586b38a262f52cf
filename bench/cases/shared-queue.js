'use strict';
/**
 * SharedQueue producer (worker) → consumer (main) throughput, items/s, vs a MessagePort.
 * Items are small objects { i, tag: 'item' }; the consumer checks every index arrives in
 * order. ringpool: capacity 4,096; the producer uses tryEnqueue (and enqueueAsync when full),
 * or enqueueMany batches of 64; main drains with tryDequeue / dequeueMany and awaits
 * dequeue() only when empty. MessagePort: one postMessage per item, either with the same
 * 4,096-item window (flow control through a shared counter) or unbounded.
 */
const { MessageChannel } = require('node:worker_threads');
const h = require('../harness');

const CAPACITY = 4096;

function ringpoolSubject(ctx, count, batch) {
  return {
    name: batch === 1 ? 'ringpool SharedQueue' : `ringpool SharedQueue (batches of ${batch})`,
    role: 'ringpool',
    async setup() {
      const q = new ctx.ringpool.SharedQueue({ capacity: CAPACITY, maxBytes: 64 << 20 });
      const w = await h.startWorker('shared-queue.js', { mode: 'ringpool', handle: q.handle });
      return { q, w };
    },
    async sample(st) {
      const { q } = st;
      const t0 = process.hrtime.bigint();
      const producer = st.w.request('produce', { count, batch });
      let failed = null;
      producer.catch((e) => (failed = e));
      let i = 0;
      while (i < count) {
        if (batch === 1) {
          const v = q.tryDequeue();
          if (v !== undefined) {
            if (v.i !== i) throw new Error(`item ${i}: got ${v.i}`);
            i++;
            continue;
          }
        } else {
          const vs = q.size > 0 ? await q.dequeueMany(batch) : [];
          if (vs.length > 0) {
            for (const v of vs) if (v.i !== i++) throw new Error(`item ${i - 1}: got ${v.i}`);
            continue;
          }
        }
        if (failed) throw failed;
        const v = await Promise.race([q.dequeue({ timeout: 30000 }), producer.then(() => new Promise(() => {}))]);
        if (v.i !== i) throw new Error(`item ${i}: got ${v.i}`);
        i++;
      }
      const ns = Number(process.hrtime.bigint() - t0);
      await producer;
      return { items: count / (ns / 1e9) };
    },
    teardown: (st) => st?.w.stop(),
  };
}

function portSubject(count, window) {
  return {
    name: window > 0 ? `MessagePort (window ${window})` : 'MessagePort (unbounded)',
    role: 'baseline',
    async setup() {
      const { port1, port2 } = new MessageChannel();
      const ctl = new SharedArrayBuffer(8);
      const w = await h.startWorker('shared-queue.js', { mode: 'port', port: port2, ctl }, { transferList: [port2] });
      const st = { port: port1, w, ctl: new Int32Array(ctl), on: null };
      port1.on('message', (m) => st.on(m));
      return st;
    },
    async sample(st) {
      Atomics.store(st.ctl, 0, 0);
      let i = 0;
      const done = new Promise((resolve, reject) => {
        st.on = (m) => {
          if (m.i !== i) reject(new Error(`item ${i}: got ${m.i}`));
          i++;
          if ((i & 255) === 0 || i === count) {
            Atomics.store(st.ctl, 0, i);
            Atomics.notify(st.ctl, 0);
          }
          if (i === count) resolve();
        };
      });
      const t0 = process.hrtime.bigint();
      const producer = st.w.request('produce', { count, window });
      await Promise.race([done, producer.then(() => h.withTimeout(done, 30000, 'receiving'))]);
      const ns = Number(process.hrtime.bigint() - t0);
      await producer;
      return { items: count / (ns / 1e9) };
    },
    async teardown(st) {
      if (!st) return;
      st.port.close();
      await st.w.stop();
    },
  };
}

module.exports = {
  name: 'shared-queue',
  order: 61,
  description: 'SharedQueue worker → main items/s vs MessagePort',
  targets: [
    { id: 'q1', label: 'SharedQueue items/s ≥ 10× MessagePort', group: 'worker → main', metric: 'items', subject: 'ringpool SharedQueue', baseline: [`MessagePort (window ${CAPACITY})`, 'MessagePort (unbounded)'], need: 10 },
  ],
  async run(ctx) {
    const count = ctx.pick(300000, 100000);
    await ctx.compare('worker → main', [
      ringpoolSubject(ctx, count, 1),
      ringpoolSubject(ctx, count, 64),
      portSubject(count, CAPACITY),
      portSubject(count, 0),
    ], { metrics: [{ key: 'items', label: 'items/s', unit: 'item/s', better: 'higher' }] });
  },
};
