'use strict';
/**
 * Mutex lock/unlock pairs per second: ringpool's Mutex against a plain-JS Atomics mutex
 * (bench/baselines/atomics-mutex.js: Atomics.wait / Atomics.waitAsync, unfair, no owner
 * tracking) and the `async-mutex` package (one thread, promises only).
 *   uncontended, sync    one thread, tryLock + unlock in a loop
 *   uncontended, async   one thread, await lock() + unlock in a loop
 *   contended, async     4 async tasks on one thread; each holds the lock across an await
 *   contended, workers   2 workers, blocking lock (lockSync / Atomics.wait) around an increment,
 *                        and again with ~1 µs of work inside the critical section
 *   contended, workers async  the same with async lock() in the workers
 * The plain Atomics mutex is unfair: an unlocking thread usually takes the lock right back
 * before the woken waiter runs, which favours throughput; ringpool hands the lock to the
 * longest waiter (FIFO), which costs a wake-up per hand-off under contention.
 * A subject whose package is missing shows as errored ("not installed").
 */
const h = require('../harness');
const { AtomicsMutex } = require('../baselines/atomics-mutex');

let asyncMutex = null;
let asyncMutexError = null;
try {
  asyncMutex = require('async-mutex');
} catch (err) {
  asyncMutexError = `async-mutex not installed (npm i -D async-mutex): ${h.errorMessage(err).split('\n')[0]}`;
}

const metric = (label) => [{ key: 'pairs', label, unit: 'pair/s', better: 'higher' }];
const perSec = (n, t0) => n / (Number(process.hrtime.bigint() - t0) / 1e9);

function oneThread(name, role, make, loop, n) {
  return {
    name,
    role,
    setup: async () => ({ mu: make() }),
    async sample(st, { warmup }) {
      const pairs = warmup ? n >> 2 : n;
      const t0 = process.hrtime.bigint();
      await loop(st.mu, pairs);
      return { pairs: perSec(pairs, t0) };
    },
  };
}

/** `tasks` async tasks, each holding the lock across one await (so the others queue). */
function contendedAsync(name, role, make, lockUnlock, n, tasks = 4) {
  return oneThread(name, role, make, async (mu, pairs) => {
    const each = Math.ceil(pairs / tasks);
    let inside = 0;
    await Promise.all(Array.from({ length: tasks }, async () => {
      for (let i = 0; i < each; i++) {
        await lockUnlock(mu, async () => {
          if (++inside !== 1) throw new Error('mutual exclusion broken');
          await null;
          inside--;
        });
      }
    }));
  }, n);
}

function workers(ctx, name, role, impl, mode, pairs, cs = 0, threads = 2) {
  return {
    name,
    role,
    async setup() {
      const ctl = new SharedArrayBuffer(8);
      const cell = new SharedArrayBuffer(4);
      const handle = impl === 'ringpool' ? new ctx.ringpool.Mutex().handle : new SharedArrayBuffer(4);
      const ws = [];
      for (let i = 0; i < threads; i++) ws.push(await h.startWorker('sync-locks.js', { impl, mode, handle, cell, ctl }));
      return { ws, gate: new Int32Array(ctl), counter: new Int32Array(cell), round: 0 };
    },
    async sample(st, { warmup }) {
      const n = warmup ? pairs >> 2 : pairs;
      const round = ++st.round;
      const before = Atomics.load(st.counter, 0);
      const done = st.ws.map((w) => w.request('run', { pairs: n, round, cs }));
      await new Promise((resolve) => setImmediate(resolve));
      const t0 = process.hrtime.bigint();
      Atomics.store(st.gate, 0, round);
      Atomics.notify(st.gate, 0);
      await Promise.all(done);
      const rate = perSec(n * threads, t0);
      if (Atomics.load(st.counter, 0) - before !== n * threads) throw new Error('lost increments: mutual exclusion broken');
      return { pairs: rate };
    },
    async teardown(st) {
      if (st) await Promise.all(st.ws.map((w) => w.stop()));
    },
  };
}

function missing() {
  return { name: 'async-mutex', role: 'baseline', sample: async () => { throw new Error(asyncMutexError); } };
}

module.exports = {
  name: 'sync-locks',
  order: 60,
  description: 'Mutex lock/unlock pairs/s vs a plain Atomics mutex and async-mutex',
  async run(ctx) {
    const rp = ctx.ringpool;
    const n = ctx.pick(1_000_000, 300_000);
    const na = ctx.pick(200_000, 60_000);
    await ctx.compare('uncontended, sync (1 thread)', [
      oneThread('ringpool Mutex tryLock/unlock', 'ringpool', () => new rp.Mutex(), (mu, k) => {
        for (let i = 0; i < k; i++) { mu.tryLock(); mu.unlock(); }
      }, n),
      oneThread('ringpool Mutex tryLock/guard.unlock', 'ringpool', () => new rp.Mutex(), (mu, k) => {
        for (let i = 0; i < k; i++) mu.tryLock().unlock();
      }, n),
      oneThread('Atomics mutex tryLock/unlock', 'baseline', () => new AtomicsMutex(), (mu, k) => {
        for (let i = 0; i < k; i++) { mu.tryLock(); mu.unlock(); }
      }, n),
    ], { metrics: metric('uncontended pairs') });

    await ctx.compare('uncontended, async (1 thread)', [
      oneThread('ringpool Mutex lock/unlock', 'ringpool', () => new rp.Mutex(), async (mu, k) => {
        for (let i = 0; i < k; i++) { await mu.lock(); mu.unlock(); }
      }, na),
      oneThread('Atomics mutex lock/unlock', 'baseline', () => new AtomicsMutex(), async (mu, k) => {
        for (let i = 0; i < k; i++) { await mu.lock(); mu.unlock(); }
      }, na),
      asyncMutex
        ? oneThread('async-mutex acquire/release', 'baseline', () => new asyncMutex.Mutex(), async (mu, k) => {
          for (let i = 0; i < k; i++) { const release = await mu.acquire(); release(); }
        }, na)
        : missing(),
    ], { metrics: metric('uncontended pairs') });

    const nc = ctx.pick(100_000, 30_000);
    await ctx.compare('contended, 4 async tasks (1 thread)', [
      contendedAsync('ringpool Mutex', 'ringpool', () => new rp.Mutex(), async (mu, fn) => {
        const g = await mu.lock();
        try { await fn(); } finally { g.unlock(); }
      }, nc),
      contendedAsync('Atomics mutex (waitAsync)', 'baseline', () => new AtomicsMutex(), async (mu, fn) => {
        await mu.lock();
        try { await fn(); } finally { mu.unlock(); }
      }, ctx.pick(20_000, 6_000)),
      asyncMutex
        ? contendedAsync('async-mutex', 'baseline', () => new asyncMutex.Mutex(), (mu, fn) => mu.runExclusive(fn), nc)
        : missing(),
    ], { metrics: metric('contended pairs') });

    const nw = ctx.pick(100_000, 30_000);
    await ctx.compare('contended, 2 workers, blocking', [
      workers(ctx, 'ringpool Mutex lockSync', 'ringpool', 'ringpool', 'sync', nw),
      workers(ctx, 'Atomics mutex (Atomics.wait)', 'baseline', 'atomics', 'sync', nw),
    ], { metrics: metric('contended pairs, 2 threads') });

    const nwc = ctx.pick(20_000, 6_000);
    await ctx.compare('contended, 2 workers, blocking, ~1 µs held', [
      workers(ctx, 'ringpool Mutex lockSync', 'ringpool', 'ringpool', 'sync', nwc, 400),
      workers(ctx, 'Atomics mutex (Atomics.wait)', 'baseline', 'atomics', 'sync', nwc, 400),
    ], { metrics: metric('contended pairs, 2 threads') });

    const nwa = ctx.pick(20_000, 6_000);
    await ctx.compare('contended, 2 workers, async', [
      workers(ctx, 'ringpool Mutex lock', 'ringpool', 'ringpool', 'async', nwa),
      workers(ctx, 'Atomics mutex (waitAsync)', 'baseline', 'atomics', 'async', nwa),
    ], { metrics: metric('contended pairs, 2 threads') });
  },
};
