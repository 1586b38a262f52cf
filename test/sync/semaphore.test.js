'use strict';
const assert = require('node:assert/strict');
const { rp, waiters, untilWaiters, untilValue, control, startWorker } = require('./fixtures/helpers');

const { Semaphore, SemaphorePermit, NotOwnerError, AbortError, TimeoutError } = rp;

describe('Semaphore', () => {
  describe('on one thread', () => {
    it('acquire / release / permits', async () => {
      const sem = new Semaphore(3);
      assert.equal(sem.max, 3);
      assert.equal(sem.available, 3);
      const p = await sem.acquire(2);
      assert.ok(p instanceof SemaphorePermit);
      assert.equal(p.permits, 2);
      assert.equal(sem.available, 1);
      assert.equal(sem.tryAcquire(2), null);
      const q = sem.tryAcquire();
      assert.equal(sem.available, 0);
      p.release();
      assert.throws(() => p.release(), (e) => e instanceof NotOwnerError);
      q[Symbol.dispose]();
      q[Symbol.dispose]();
      assert.equal(sem.available, 3);
      const r = await sem.acquire({ timeout: 100 }); // acquire(options) = acquire(1, options)
      assert.equal(r.permits, 1);
      sem.release();
      assert.equal(sem.available, 3);
    });

    it('releasing beyond the maximum is a RangeError and changes nothing', () => {
      const sem = new Semaphore(2, { initial: 1 });
      assert.equal(sem.available, 1);
      sem.release();
      assert.throws(() => sem.release(), (e) => e instanceof RangeError && e.code === 'ERR_RINGPOOL_OUT_OF_RANGE');
      assert.equal(sem.available, 2);
      const p = sem.tryAcquire();
      assert.throws(() => sem.release(2), { code: 'ERR_RINGPOOL_OUT_OF_RANGE' });
      assert.equal(sem.available, 1);
      p.release();
    });

    it('FIFO with head-of-line: a big request is not overtaken, a release wakes only who fits', async () => {
      const sem = new Semaphore(4, { initial: 0 });
      const log = [];
      const big = sem.acquire(3).then((p) => { log.push('big'); return p; });
      const small = [1, 2, 3].map((i) => sem.acquire(1).then((p) => { log.push(`s${i}`); return p; }));
      await untilWaiters(sem, 4);
      sem.release(2);
      await null;
      assert.equal(waiters(sem), 4, 'nobody passes the head');
      assert.equal(sem.available, 2);
      sem.release(2); // 4: the head takes 3, exactly one small one gets the last permit
      await big;
      await small[0];
      assert.deepEqual(log, ['big', 's1']);
      assert.equal(waiters(sem), 2);
      assert.equal(sem.available, 0);
      (await big).release(); // 3 free: both remaining small ones, 1 left over
      await Promise.all(small);
      assert.deepEqual(log, ['big', 's1', 's2', 's3']);
      assert.equal(sem.available, 1);
      assert.equal(waiters(sem), 0);
      for (const p of small) (await p).release();
      assert.equal(sem.available, 4);
    });

    it('abort and timeout leave no waiter; a given-up head lets the next through', async () => {
      const sem = new Semaphore(2, { initial: 1 });
      const ac = new AbortController();
      const head = sem.acquire(2, { signal: ac.signal });
      const next = sem.acquire(1);
      await untilWaiters(sem, 2);
      ac.abort('bye');
      await assert.rejects(head, (e) => e instanceof AbortError && e.cause === 'bye');
      const p = await next; // the 1 free permit goes to it now
      assert.equal(waiters(sem), 0);
      await assert.rejects(sem.acquire(1, { timeout: 5 }), (e) => e instanceof TimeoutError);
      assert.equal(waiters(sem), 0);
      p.release();
      assert.equal(sem.available, 1);
    });

    it('blocking forms on the main thread', () => {
      const sem = new Semaphore(1);
      assert.throws(() => sem.acquireSync(), { code: 'ERR_RINGPOOL_BLOCKING_MAIN_THREAD' });
      const p = sem.acquireSync({ allowMainThread: true });
      assert.throws(() => sem.acquireSync(1, { timeout: 1, allowMainThread: true }), (e) => e instanceof TimeoutError);
      p.release();
      assert.equal(Semaphore.from(sem.handle).available, 1);
    });
  });

  describe('across threads', function () {
    this.timeout(30000);

    it('never more than max permits in use (shared high-water mark), 4 workers', async () => {
      const max = 3;
      const sem = new Semaphore(max);
      const stats = new SharedArrayBuffer(16);
      const ws = [1, 2, 3, 4].map((seed) => startWorker('semHighWater', { handle: sem.handle, stats, iters: 1500, seed, max }));
      await Promise.all(ws.map((w) => w.result));
      const s = new Int32Array(stats);
      assert.equal(s[2], 0, `${s[2]} times more than ${max} permits were in use`);
      assert.ok(s[1] <= max && s[1] >= 2, `high-water ${s[1]}`);
      assert.equal(s[0], 0);
      assert.equal(sem.available, max);
      assert.equal(waiters(sem), 0);
    });

    it('cross-thread FIFO, and a release wakes exactly as many as it can serve', async () => {
      const sem = new Semaphore(3, { initial: 0 });
      const ctl = control(32);
      const ws = [];
      for (let id = 1; id <= 3; id++) {
        ws.push(startWorker('semAcquireRecord', { handle: sem.handle, ctl, id, k: 1 }));
        await untilWaiters(sem, id);
      }
      sem.release(2);
      await untilValue(ctl, 8, 2);
      assert.equal(waiters(sem), 1, 'the third is still queued');
      sem.release(1);
      await Promise.all(ws.map((w) => w.result));
      assert.deepEqual(Array.from(ctl.subarray(9, 12)).slice(2), [3]);
      assert.deepEqual(Array.from(ctl.subarray(9, 11)).sort(), [1, 2]);
      assert.equal(sem.available, 0);
    });
  });
});
