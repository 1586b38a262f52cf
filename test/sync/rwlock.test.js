'use strict';
const assert = require('node:assert/strict');
const { rp, waiters, untilWaiters, untilValue, control, startWorker } = require('./fixtures/helpers');

const { RwLock, LockGuard, NotOwnerError, AbortError, TimeoutError } = rp;

describe('RwLock', () => {
  describe('on one thread', () => {
    it('many readers or one writer', () => {
      const rw = new RwLock();
      const r1 = rw.tryRead();
      const r2 = rw.tryRead();
      assert.ok(r1 instanceof LockGuard && r2 instanceof LockGuard);
      assert.equal(rw.readers, 2);
      assert.equal(rw.tryWrite(), null);
      r1.unlock();
      rw.unlockRead(); // the other hold, without its guard
      assert.equal(rw.readers, 0);
      assert.throws(() => rw.unlockRead(), (e) => e instanceof NotOwnerError && e.code === 'ERR_RINGPOOL_NOT_OWNER');
      const w = rw.tryWrite();
      assert.equal(rw.writeLocked, true);
      assert.equal(rw.writeHeldByCurrentThread, true);
      assert.equal(rw.tryRead(), null);
      assert.equal(rw.tryWrite(), null);
      rw.unlockWrite();
      w[Symbol.dispose](); // stale: no-op
      assert.throws(() => w.unlock(), { code: 'ERR_RINGPOOL_NOT_OWNER' });
      assert.throws(() => rw.unlockWrite(), { code: 'ERR_RINGPOOL_NOT_OWNER' });
      assert.equal(rw.writeLocked, false);
    });

    it('FIFO: a queued writer holds back later readers; readers queued together enter together', async () => {
      const rw = new RwLock();
      const log = [];
      const r0 = await rw.read();
      const w1 = rw.write().then((g) => { log.push(`w1 readers=${rw.readers}`); return g; });
      const r1 = rw.read().then((g) => { log.push('r1'); return g; });
      const r2 = rw.read().then((g) => { log.push('r2'); return g; });
      await untilWaiters(rw, 3); // the writer waits at the gate, two readers in the queue
      assert.equal(rw.tryRead(), null, 'a newcomer reader may not pass the waiting writer');
      r0.unlock();
      const gw = await w1;
      assert.deepEqual(log, ['w1 readers=0']);
      gw.unlock();
      const [g1, g2] = await Promise.all([r1, r2]);
      assert.deepEqual(log, ['w1 readers=0', 'r1', 'r2']);
      assert.equal(rw.readers, 2);
      g1.unlock();
      g2.unlock();
      assert.equal(waiters(rw), 0);
    });

    it('a waiting writer that gives up lets the readers behind it in', async () => {
      const rw = new RwLock();
      const r0 = rw.tryRead();
      const ac = new AbortController();
      const w = rw.write({ signal: ac.signal });
      const r1 = rw.read();
      await untilWaiters(rw, 2);
      ac.abort();
      await assert.rejects(w, (e) => e instanceof AbortError);
      (await r1).unlock(); // admitted while r0 still reads
      await assert.rejects(rw.write({ timeout: 5 }), (e) => e instanceof TimeoutError);
      assert.equal(waiters(rw), 0);
      r0.unlock();
      assert.equal(rw.readers, 0);
      rw.tryWrite().unlock();
    });

    it('withRead / withWrite, blocking forms on the main thread', async () => {
      const rw = new RwLock();
      assert.equal(await rw.withRead(() => rw.readers), 1);
      assert.equal(await rw.withWrite(() => rw.writeLocked), true);
      assert.equal(rw.writeLocked, false);
      assert.throws(() => rw.readSync(), { code: 'ERR_RINGPOOL_BLOCKING_MAIN_THREAD' });
      assert.throws(() => rw.writeSync(), { code: 'ERR_RINGPOOL_BLOCKING_MAIN_THREAD' });
      const g = rw.readSync({ allowMainThread: true });
      assert.throws(() => rw.writeSync({ allowMainThread: true }), { code: 'ERR_RINGPOOL_WOULD_DEADLOCK' });
      const g2 = rw.readSync({ allowMainThread: true }); // admitted at once: no deadlock
      g.unlock();
      g2.unlock();
      assert.equal(RwLock.from(rw.handle).readers, 0);
    });
  });

  describe('across threads', function () {
    this.timeout(30000);

    it('two readers in two workers hold it at the same time', async () => {
      const rw = new RwLock();
      const ctl = control();
      const ws = ['sync', 'async'].map((mode) => startWorker('rwReadTogether', { handle: rw.handle, ctl, mode }));
      await Promise.all(ws.map((w) => w.result));
      assert.equal(rw.readers, 0);
    });

    it('writers exclude readers and each other (4 workers, mixed)', async () => {
      const rw = new RwLock();
      const data = new SharedArrayBuffer(8);
      const ws = [1, 2, 3, 4].map((seed) => startWorker('rwStress', { handle: rw.handle, data, iters: 1500, seed }));
      const results = await Promise.all(ws.map((w) => w.result));
      assert.deepEqual(results.map((r) => r.bad), [0, 0, 0, 0]);
      const d = new Int32Array(data);
      assert.equal(d[0], d[1]);
      assert.equal(rw.readers, 0);
      assert.equal(rw.writeLocked, false);
      assert.equal(waiters(rw), 0);
    });

    it('a writer that dies holding it: the next reader is told', async () => {
      const rw = new RwLock();
      const ctl = control();
      const w = startWorker('rwHang', { handle: rw.handle, ctl, mode: 'write' });
      await untilValue(ctl, 0, 1);
      const r = rw.read();
      await untilWaiters(rw, 1);
      await w.worker.terminate();
      const g = await r;
      assert.equal(g.ownerDied, true);
      g.unlock();
      const g2 = rw.tryWrite();
      assert.equal(g2.ownerDied, false);
      g2.unlock();
    });

    it('a reader that dies holding it: its hold is released, a waiting writer gets in', async () => {
      const rw = new RwLock();
      const ctl = control();
      const w = startWorker('rwHang', { handle: rw.handle, ctl, mode: 'read' });
      await untilValue(ctl, 0, 1);
      assert.equal(rw.readers, 1);
      const wr = rw.write();
      await untilWaiters(rw, 1);
      await w.worker.terminate();
      const g = await wr;
      assert.equal(g.ownerDied, false, 'a reader cannot have half-updated anything');
      g.unlock();
      assert.equal(rw.readers, 0);
    });

    it('a designated writer terminated while waiting steps down', async () => {
      const rw = new RwLock();
      const r0 = rw.tryRead();
      const w = startWorker('rwBlockedWriter', { handle: rw.handle });
      await untilWaiters(rw, 1);
      assert.equal(rw.tryRead(), null, 'held back by the waiting writer');
      await w.worker.terminate();
      assert.equal(waiters(rw), 0);
      const r1 = rw.tryRead(); // admitted again
      assert.ok(r1);
      r1.unlock();
      r0.unlock();
      rw.tryWrite().unlock();
    });
  });
});
