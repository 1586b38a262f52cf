'use strict';
const assert = require('node:assert/strict');
const { rp, waiters, untilWaiters, untilValue, signal, control, startWorker } = require('./fixtures/helpers');

const { Mutex, LockGuard, NotOwnerError, WouldDeadlockError, BlockingMainThreadError, AbortError, TimeoutError } = rp;

describe('Mutex', () => {
  describe('on one thread', () => {
    it('tryLock / unlock / guards', () => {
      const mu = new Mutex();
      assert.equal(mu.locked, false);
      const g = mu.tryLock();
      assert.ok(g instanceof LockGuard);
      assert.equal(g.ownerDied, false);
      assert.equal(mu.locked, true);
      assert.equal(mu.heldByCurrentThread, true);
      assert.equal(mu.tryLock(), null, 'not re-entrant: a second tryLock fails');
      g.unlock();
      assert.equal(g.released, true);
      assert.equal(mu.locked, false);
      assert.throws(() => g.unlock(), (e) => e instanceof NotOwnerError && e.code === 'ERR_RINGPOOL_NOT_OWNER');
      g[Symbol.dispose](); // idempotent
      assert.throws(() => mu.unlock(), (e) => e instanceof NotOwnerError && e.code === 'ERR_RINGPOOL_NOT_OWNER');
    });

    it('a stale guard never releases a later acquisition', () => {
      const mu = new Mutex();
      const g1 = mu.tryLock();
      mu.unlock(); // released through the mutex, not the guard
      const g2 = mu.tryLock();
      g1[Symbol.dispose](); // no-op: its acquisition is over
      assert.equal(mu.locked, true);
      assert.throws(() => g1.unlock(), { code: 'ERR_RINGPOOL_NOT_OWNER' });
      assert.equal(mu.locked, true);
      g2.unlock();
      assert.equal(mu.locked, false);
    });

    it('lock() resolves a guard; waiters are served in FIFO order', async () => {
      const mu = new Mutex();
      const g = await mu.lock();
      const order = [];
      const ps = [0, 1, 2, 3, 4].map((i) => mu.lock().then((gg) => {
        order.push(i);
        gg.unlock();
      }));
      await untilWaiters(mu, 5);
      g.unlock();
      await Promise.all(ps);
      assert.deepEqual(order, [0, 1, 2, 3, 4]);
      assert.equal(waiters(mu), 0);
      assert.equal(mu.locked, false);
    });

    it('withLock releases after the function, also when it throws, and returns its value', async () => {
      const mu = new Mutex();
      assert.equal(await mu.withLock(async (g) => {
        assert.equal(g.ownerDied, false);
        assert.equal(mu.locked, true);
        return 42;
      }), 42);
      assert.equal(mu.locked, false);
      await assert.rejects(mu.withLock(() => { throw new Error('boom'); }), /boom/);
      assert.equal(mu.locked, false);
      await mu.withLock(() => mu.unlock()); // an early unlock inside is fine
      assert.equal(mu.locked, false);
      await assert.rejects(mu.withLock(42), { name: 'TypeError', code: 'ERR_RINGPOOL_INVALID_ARG_TYPE' });
    });

    it('blocking forms throw on the main thread unless allowed', () => {
      const mu = new Mutex();
      assert.throws(() => mu.lockSync(), (e) => e instanceof BlockingMainThreadError && e.code === 'ERR_RINGPOOL_BLOCKING_MAIN_THREAD');
      const g = mu.lockSync({ allowMainThread: true });
      assert.throws(() => mu.lockSync({ allowMainThread: true }), (e) => e instanceof WouldDeadlockError && e.code === 'ERR_RINGPOOL_WOULD_DEADLOCK');
      g[Symbol.dispose]();
      assert.equal(mu.locked, false);
    });

    it('a blocking acquire while an async acquire of this thread is queued would deadlock', async () => {
      const mu = new Mutex();
      const g = await mu.lock();
      const p = mu.lock();
      g.unlock(); // hands it to p's waiter at once (owned by this thread now)
      assert.throws(() => mu.lockSync({ allowMainThread: true }), { code: 'ERR_RINGPOOL_WOULD_DEADLOCK' });
      (await p).unlock();
    });

    it('abort and timeout reject and leave no waiter behind; the queue keeps its order', async () => {
      const mu = new Mutex();
      const g = await mu.lock();
      const ac = new AbortController();
      const order = [];
      const a = mu.lock().then((x) => { order.push('a'); x.unlock(); });
      const aborted = mu.lock({ signal: ac.signal });
      const timed = mu.lock({ timeout: 10 });
      const c = mu.lock().then((x) => { order.push('c'); x.unlock(); });
      await untilWaiters(mu, 4);
      const reason = new Error('stop');
      ac.abort(reason);
      await assert.rejects(aborted, (e) => e instanceof AbortError && e.code === 'ERR_RINGPOOL_ABORTED' && e.cause === reason);
      await assert.rejects(timed, (e) => e instanceof TimeoutError && e.code === 'ERR_RINGPOOL_TIMEOUT');
      assert.equal(waiters(mu), 2);
      g.unlock();
      await Promise.all([a, c]);
      assert.deepEqual(order, ['a', 'c']);
      assert.equal(waiters(mu), 0);
      await assert.rejects(mu.lock({ signal: AbortSignal.abort('early') }), (e) => e instanceof AbortError && e.cause === 'early');
      assert.equal(mu.locked, false);
      const g2 = await mu.lock({ timeout: 0 }); // free: timeout 0 still succeeds
      await assert.rejects(mu.lock({ timeout: 0 }), { code: 'ERR_RINGPOOL_TIMEOUT' });
      assert.equal(waiters(mu), 0);
      g2.unlock();
    });

    it('objects dropped while holding keep the lock; idle ones are collected', async function () {
      if (typeof global.gc !== 'function') this.skip();
      const mu = new Mutex();
      (() => Mutex.from(mu.handle).tryLock())(); // held through an object dropped at once
      for (let i = 0; i < 2000; i++) new Mutex().tryLock().unlock(); // churn through records
      global.gc();
      await new Promise((resolve) => setImmediate(resolve)); // finalizers run
      global.gc();
      assert.equal(mu.locked, true);
      assert.equal(mu.heldByCurrentThread, true);
      mu.unlock(); // this thread still owns it, through any object over the buffer
      assert.equal(mu.locked, false);
    });

    it('many objects held at once by one thread (its holds table grows)', () => {
      const locks = Array.from({ length: 300 }, () => new Mutex());
      const guards = locks.map((m) => m.tryLock());
      assert.ok(guards.every((g) => g && locks[0].locked));
      assert.ok(locks.every((m) => m.heldByCurrentThread));
      guards.forEach((g) => g.unlock());
      assert.ok(locks.every((m) => !m.locked));
    });

    it('handle and from()', () => {
      const mu = new Mutex();
      const h = mu.handle;
      assert.equal(h.kind, 'Mutex');
      assert.equal(h.buffer, mu.buffer);
      const copy = structuredClone(h);
      const other = Mutex.from(copy);
      const g = other.tryLock();
      assert.equal(mu.locked, true);
      mu.unlock(); // same thread, other object: allowed
      assert.equal(other.locked, false);
      assert.equal(g.released, false);
      assert.ok(Mutex.from(mu.buffer) instanceof Mutex);
    });
  });

  describe('across threads', function () {
    this.timeout(30000);

    it('mutual exclusion: 4 workers increment a plain counter under the lock', async () => {
      const mu = new Mutex();
      const counter = new SharedArrayBuffer(8);
      const iters = 1500;
      const modes = ['sync', 'async', 'mixed', 'sync'];
      const ws = modes.map((mode) => startWorker('mutexIncrement', { handle: mu.handle, counter, iters, mode }));
      // main takes part too, asynchronously
      const c = new Int32Array(counter);
      for (let i = 0; i < 300; i++) {
        await mu.withLock(async () => {
          const v = c[0];
          await null;
          c[0] = v + 1;
        });
      }
      await Promise.all(ws.map((w) => w.result));
      assert.equal(c[0], modes.length * iters + 300);
      assert.equal(mu.locked, false);
      assert.equal(waiters(mu), 0);
    });

    it('the handle travels through postMessage', async () => {
      const mu = new Mutex();
      const ctl = control();
      const w = startWorker('mutexHold', { handle: mu.handle, ctl, mode: 'async' });
      await untilValue(ctl, 0, 1);
      assert.equal(mu.locked, true);
      assert.equal(mu.heldByCurrentThread, false);
      assert.equal(mu.tryLock(), null);
      assert.throws(() => mu.unlock(), { code: 'ERR_RINGPOOL_NOT_OWNER' }); // held by the worker
      signal(ctl, 1, 1);
      assert.deepEqual(await w.result, { ownerDied: false });
      assert.equal(mu.locked, false);
    });

    it('cross-thread waiters are served in FIFO order', async () => {
      const mu = new Mutex();
      const ctl = control(32);
      const g = await mu.lock();
      const ws = [];
      for (let id = 1; id <= 4; id++) {
        ws.push(startWorker('mutexRecord', { handle: mu.handle, ctl, id, mode: id % 2 ? 'sync' : 'async' }));
        // Queued one after the other: the count must hold over several turns of the event loop,
        // so that a waiter caught between two states is not taken for a queued one.
        for (let seen = 0; seen < 5; seen = waiters(mu) === id ? seen + 1 : 0) {
          await untilWaiters(mu, id);
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      g.unlock();
      await Promise.all(ws.map((w) => w.result));
      assert.deepEqual(Array.from(ctl.subarray(9, 13)), [1, 2, 3, 4]);
    });

    it('an async lock() on the main thread keeps the event loop running', async () => {
      const mu = new Mutex();
      const ctl = control();
      const w = startWorker('mutexHoldUntilTicks', { handle: mu.handle, ctl, ticks: 5 });
      await untilValue(ctl, 0, 1);
      // The worker releases only after this timer has fired 5 times: lock() must not block.
      const timer = setInterval(() => signal(ctl, 2, Atomics.load(ctl, 2) + 1), 1);
      try {
        const g = await mu.lock();
        assert.ok(Atomics.load(ctl, 2) >= 5);
        g.unlock();
      } finally {
        clearInterval(timer);
      }
      await w.result;
    });

    it('lockSync on the main thread (allowed) with a timeout', async () => {
      const mu = new Mutex();
      const ctl = control();
      const w = startWorker('mutexHold', { handle: mu.handle, ctl, mode: 'sync' });
      await untilValue(ctl, 0, 1);
      assert.throws(() => mu.lockSync({ timeout: 5, allowMainThread: true }), (e) => e instanceof TimeoutError);
      assert.equal(waiters(mu), 0);
      signal(ctl, 1, 1);
      await w.result;
    });

    for (const [label, mode, exit] of [
      ['terminated while holding it (lockSync)', 'sync', false],
      ['terminated while holding it (lock)', 'async', false],
      ['exiting while holding it (process.exit)', 'sync', true],
    ]) {
      it(`owner died: a worker ${label}; the next lock reports it once`, async () => {
        const mu = new Mutex();
        const ctl = control();
        const data = new SharedArrayBuffer(4);
        const w = startWorker('mutexHang', { handle: mu.handle, ctl, data, mode, exit });
        await untilValue(ctl, 0, 1);
        const queued = mu.lock(); // queued behind the doomed holder...
        // ...unless a worker that exits by itself is already gone (its lock released as died).
        let settled = false;
        queued.then(() => (settled = true), () => (settled = true));
        for (const start = Date.now(); !settled && waiters(mu) !== 1; ) {
          if (Date.now() - start > 15000) throw new Error(`waiters stuck at ${waiters(mu)}, want 1`);
          await new Promise((resolve) => setImmediate(resolve));
        }
        if (!exit) await w.worker.terminate();
        await w.exit;
        const g = await queued;
        assert.equal(g.ownerDied, true);
        assert.equal(new Int32Array(data)[0], 1, 'the half-done update is visible to the recovering thread');
        g.unlock();
        const g2 = mu.tryLock();
        assert.equal(g2.ownerDied, false, 'reported once');
        g2.unlock();
        assert.equal(waiters(mu), 0);
      });
    }

    it('owner died while holding it through an object that was garbage-collected', async () => {
      const mu = new Mutex();
      const ctl = control();
      const w = startWorker('mutexHangOrphan', { handle: mu.handle, ctl });
      await untilValue(ctl, 0, 1);
      assert.equal(mu.locked, true, 'a collected object does not release its lock');
      await w.worker.terminate();
      const g = mu.tryLock();
      assert.equal(g.ownerDied, true);
      g.unlock();
    });

    it('owner died with nobody waiting: the next tryLock reports it', async () => {
      const mu = new Mutex();
      const ctl = control();
      const w = startWorker('mutexHang', { handle: mu.handle, ctl, mode: 'sync' });
      await untilValue(ctl, 0, 1);
      await w.worker.terminate();
      const g = mu.tryLock();
      assert.ok(g);
      assert.equal(g.ownerDied, true);
      g.unlock();
    });

    for (const mode of ['sync', 'async']) {
      it(`a worker terminated while waiting (${mode}) leaves no waiter behind`, async () => {
        const mu = new Mutex();
        const g = await mu.lock();
        const w = startWorker('mutexBlocked', { handle: mu.handle, mode });
        await untilWaiters(mu, 1);
        await w.worker.terminate();
        assert.equal(waiters(mu), 0);
        g.unlock();
        const g2 = mu.tryLock();
        assert.equal(g2.ownerDied, false);
        g2.unlock();
      });
    }

    it('the basics also work inside a worker', async () => {
      const shared = new Mutex();
      const g = shared.tryLock();
      const w = startWorker('basics', { handle: shared.handle });
      assert.deepEqual(await w.result, {
        held: true,
        deadlock: 'ERR_RINGPOOL_WOULD_DEADLOCK',
        timeout: 'ERR_RINGPOOL_TIMEOUT',
        available: 0,
        latch: 0,
      });
      g.unlock();
    });
  });
});
