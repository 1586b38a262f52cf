'use strict';
const assert = require('node:assert/strict');
const { rp, waiters, untilWaiters, startWorker } = require('./fixtures/helpers');

const { Condition, Mutex, NotOwnerError, TimeoutError, AbortError } = rp;

describe('Condition', function () {
  this.timeout(30000);

  it('wait releases the mutex and takes it back; notifyOne wakes FIFO, one at a time', async () => {
    const mu = new Mutex();
    const cv = new Condition();
    const order = [];
    const waiter = async (name) => {
      const g = await mu.lock();
      const r = await cv.wait(mu);
      assert.equal(mu.heldByCurrentThread, true);
      assert.equal(r.ownerDied, false);
      order.push(name);
      g.unlock(); // the guard from before the wait is still the valid one
    };
    const a = waiter('a');
    await untilWaiters(cv, 1);
    const b = waiter('b');
    await untilWaiters(cv, 2);
    assert.equal(mu.locked, false, 'both released the mutex while waiting');
    assert.equal(cv.notifyOne(), 1);
    await a;
    assert.deepEqual(order, ['a']);
    assert.equal(cv.notifyAll(), 1);
    await b;
    assert.deepEqual(order, ['a', 'b']);
    assert.equal(cv.notifyAll(), 0);
    assert.equal(mu.locked, false);
  });

  it('a notify between the unlock and the wait is not lost', async () => {
    const mu = new Mutex();
    const cv = new Condition();
    const g = await mu.lock();
    const p = cv.wait(mu); // unlocks synchronously, then waits
    assert.equal(mu.locked, false);
    cv.notifyOne();
    await p;
    g.unlock();
  });

  it('timeout and abort reject after taking the mutex back, and leave no waiter', async () => {
    const mu = new Mutex();
    const cv = new Condition();
    const g = await mu.lock();
    await assert.rejects(cv.wait(mu, { timeout: 5 }), (e) => e instanceof TimeoutError);
    assert.equal(mu.heldByCurrentThread, true);
    const ac = new AbortController();
    const p = cv.wait(mu, { signal: ac.signal });
    await untilWaiters(cv, 1);
    ac.abort('x');
    await assert.rejects(p, (e) => e instanceof AbortError && e.cause === 'x');
    assert.equal(mu.heldByCurrentThread, true);
    assert.equal(waiters(cv), 0);
    g.unlock();
    await assert.rejects(cv.wait(mu), (e) => e instanceof NotOwnerError);
    assert.equal(waiters(cv), 0);
    await assert.rejects(cv.wait({}), { name: 'TypeError', code: 'ERR_RINGPOOL_INVALID_ARG_TYPE' });
    assert.throws(() => cv.waitSync(mu), { code: 'ERR_RINGPOOL_BLOCKING_MAIN_THREAD' });
    assert.throws(() => cv.waitSync(mu, { allowMainThread: true }), (e) => e instanceof NotOwnerError);
    const g2 = mu.lockSync({ allowMainThread: true });
    assert.throws(() => cv.waitSync(mu, { timeout: 1, allowMainThread: true }), (e) => e instanceof TimeoutError);
    assert.equal(mu.heldByCurrentThread, true);
    g2.unlock();
  });

  for (const mode of ['sync', 'async']) {
    it(`producers and consumers in workers lose no wake-up (${mode})`, async () => {
      const mu = new Mutex();
      const notEmpty = new Condition();
      const notFull = new Condition();
      const cap = 4;
      const items = 1500;
      const producers = 2;
      const total = producers * items;
      const q = new SharedArrayBuffer((4 + cap) * 4);
      const seen = new SharedArrayBuffer(total * 4);
      const common = { mu: mu.handle, notEmpty: notEmpty.handle, notFull: notFull.handle, q, cap, mode };
      const ws = [];
      for (let id = 0; id < producers; id++) ws.push(startWorker('cvProducer', { ...common, id, items }));
      for (let c = 0; c < 2; c++) ws.push(startWorker('cvConsumer', { ...common, seen, total, items }));
      const rs = await Promise.all(ws.map((w) => w.result));
      assert.equal(rs[2].got + rs[3].got, total);
      const s = new Int32Array(seen);
      const wrong = [];
      s.forEach((n, i) => { if (n !== 1) wrong.push(`${i}:${n}`); });
      assert.deepEqual(wrong.slice(0, 10), [], 'every item consumed exactly once');
      assert.equal(waiters(notEmpty) + waiters(notFull) + waiters(mu), 0);
    });
  }
});
