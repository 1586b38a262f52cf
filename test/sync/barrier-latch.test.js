'use strict';
const assert = require('node:assert/strict');
const { rp, waiters, untilWaiters, untilValue, control, startWorker } = require('./fixtures/helpers');

const { Barrier, Latch, AbortError, TimeoutError } = rp;

describe('Barrier', function () {
  this.timeout(30000);

  it('one thread, several async parties; exactly one leader per generation; reusable', async () => {
    const b = new Barrier(3);
    assert.equal(b.parties, 3);
    for (let gen = 0; gen < 5; gen++) {
      const a = b.wait();
      const c = b.wait();
      await untilWaiters(b, 2);
      assert.equal(b.waiting, 2);
      const last = await b.wait();
      const all = [await a, await c, last];
      assert.deepEqual(all, [false, false, true]);
      assert.equal(b.generation, gen + 1);
      assert.equal(b.waiting, 0);
    }
    assert.equal(await new Barrier(1).wait(), true);
  });

  it('reused over many generations by 4 workers and the main thread', async () => {
    const parties = 5;
    const gens = 300;
    const b = new Barrier(parties);
    const ctl = control();
    const ws = ['sync', 'async', 'sync', 'async'].map((mode) => startWorker('barrierGenerations', { handle: b.handle, ctl, gens, mode }));
    let leaders = 0;
    let early = 0;
    for (let g = 0; g < gens; g++) {
      Atomics.add(ctl, g & 1, 1);
      if (await b.wait()) leaders++;
      if (Atomics.load(ctl, g & 1) < parties * ((g >> 1) + 1)) early++;
    }
    const rs = await Promise.all(ws.map((w) => w.result));
    for (const r of rs) {
      leaders += r.leaders;
      early += r.early;
    }
    assert.equal(leaders, gens, 'one leader per generation');
    assert.equal(early, 0, 'nobody left a generation before every party had arrived');
    assert.equal(waiters(b), 0);
  });

  it('a wait that is aborted or times out takes its arrival back', async () => {
    const b = new Barrier(2);
    const ac = new AbortController();
    const p = b.wait({ signal: ac.signal });
    await untilWaiters(b, 1);
    assert.equal(b.waiting, 1);
    ac.abort();
    await assert.rejects(p, (e) => e instanceof AbortError);
    assert.equal(b.waiting, 0);
    await assert.rejects(b.wait({ timeout: 5 }), (e) => e instanceof TimeoutError);
    assert.equal(b.waiting, 0);
    assert.equal(waiters(b), 0);
    assert.throws(() => b.waitSync(), { code: 'ERR_RINGPOOL_BLOCKING_MAIN_THREAD' });
    assert.throws(() => b.waitSync({ timeout: 1, allowMainThread: true }), (e) => e instanceof TimeoutError);
    assert.equal(b.waiting, 0);
  });

  it('a worker terminated while waiting withdraws; the barrier still trips with the others', async () => {
    const b = new Barrier(2);
    const ctl = control();
    const w = startWorker('barrierOnce', { handle: b.handle, ctl });
    await untilWaiters(b, 1);
    await w.worker.terminate();
    assert.equal(b.waiting, 0);
    const w2 = startWorker('barrierOnce', { handle: Barrier.from(b.buffer).handle, ctl });
    await untilWaiters(b, 1);
    assert.equal(await b.wait(), true, 'main arrived last: the leader');
    assert.deepEqual(await w2.result, { leader: false });
  });
});

describe('Latch', function () {
  this.timeout(30000);

  it('count down to zero releases every waiter, sync and async, across threads', async () => {
    const l = new Latch(3);
    const ctl = control();
    const ws = ['sync', 'async', 'sync'].map((mode) => startWorker('latchWait', { handle: l.handle, ctl, mode }));
    const local = l.wait();
    await untilValue(ctl, 0, 3);
    await untilWaiters(l, 4);
    assert.equal(l.tryWait(), false);
    assert.equal(l.countDown(), 2);
    assert.equal(l.countDown(), 1);
    assert.equal(Atomics.load(ctl, 1), 0, 'nobody passes before zero');
    assert.equal(l.countDown(5), 0, 'saturates at zero');
    await local;
    await Promise.all(ws.map((w) => w.result));
    assert.equal(Atomics.load(ctl, 1), 3);
    assert.equal(l.count, 0);
    assert.equal(l.countDown(), 0, 'stays open');
    assert.equal(l.tryWait(), true);
    await l.wait();
    assert.throws(() => l.waitSync(), { code: 'ERR_RINGPOOL_BLOCKING_MAIN_THREAD' }, 'the rule holds even when open');
  });

  it('timeout and abort leave no waiter; blocking on the main thread is refused', async () => {
    const l = new Latch(1);
    await assert.rejects(l.wait({ timeout: 5 }), (e) => e instanceof TimeoutError);
    await assert.rejects(l.wait({ signal: AbortSignal.abort() }), (e) => e instanceof AbortError);
    assert.equal(waiters(l), 0);
    assert.throws(() => l.waitSync(), { code: 'ERR_RINGPOOL_BLOCKING_MAIN_THREAD' });
    assert.throws(() => l.waitSync({ timeout: 1, allowMainThread: true }), (e) => e instanceof TimeoutError);
    assert.equal(new Latch(0).tryWait(), true);
    assert.equal(Latch.from(l.handle).count, 1);
  });
});
