'use strict';
// Cancellation mid-batch: .cancel() and AbortSignal for execBatch / map / reduce /
// mapRegions. Items block on a shared-memory gate and count themselves in shared counters;
// after the cancel the gate opens, the pool drains ('drain' event), and the counters must not
// have moved past what was running when the cancel happened. Nothing here sleeps.
//
// Layout that makes "what was running" exact: concurrentTasksPerWorker: 4 and 2 workers, so
// worker A is handed tasks 0-3 and worker B tasks 4-7 in one go (the rest waits on the main
// thread); every item is gated, so each worker holds exactly its first item at the gate.
const assert = require('node:assert/strict');
const {
  rp, fixture, shared, until, release, untilIdle, usePools, outcome, gatedParams, gatedItem, range, STARTED, DONE,
} = require('./support');

const { pool, CancellationError } = rp;
const methods = fixture('batch-methods.js');

describe('batch: cancellation', () => {
  const track = usePools();
  async function newPool(opts = {}) {
    const p = track(pool(methods, { minWorkers: 2, maxWorkers: 2, concurrentTasksPerWorker: 4, ...opts }));
    await Promise.all([p.exec('double', [1]), p.exec('double', [2])]);
    return p;
  }

  /** After the gate opened: the pool drains, and a few more round trips change nothing. */
  async function settledCount(p, ctl) {
    await untilIdle(p);
    assert.equal(p.stats().activeTasks, 0);
    assert.equal(p.stats().pendingTasks, 0);
    const count = Atomics.load(ctl, STARTED);
    for (let k = 0; k < 4; k++) await Promise.all([p.exec('double', [k]), p.exec('double', [k + 1])]);
    assert.equal(Atomics.load(ctl, STARTED), count, 'items kept starting after the pool drained');
    return count;
  }

  it('execBatch .cancel(): rejects with CancellationError, queued items never run, running ones finish, activeTasks drops to 0', async () => {
    const p = await newPool();
    const ctl = shared(4);
    const b = p.execBatch(gatedParams, range(40).map((i) => [ctl, i]), { chunkSize: 1 });
    const settled = outcome(b);
    await until(ctl, STARTED, 2, 'one held item per worker');
    assert.equal(p.stats().activeTasks, 8);
    b.cancel('enough');
    const o = await settled;
    assert.equal(o.ok, false);
    assert.ok(o.error instanceof CancellationError, `${o.error && o.error.name}`);
    assert.equal(o.error.code, 'ERR_RINGPOOL_CANCELLED');
    assert.equal(o.error.cause, 'enough');
    release(ctl);
    assert.equal(await settledCount(p, ctl), 2);
    assert.equal(Atomics.load(ctl, DONE), 2);
  });

  it('execBatch via AbortSignal: same outcome, with the signal reason as cause', async () => {
    const p = await newPool();
    const ctl = shared(4);
    const ac = new AbortController();
    const settled = outcome(p.execBatch('gated', range(40).map((i) => [ctl, i]), { chunkSize: 1, signal: ac.signal }));
    await until(ctl, STARTED, 2);
    const reason = new Error('user abort');
    ac.abort(reason);
    const o = await settled;
    assert.ok(o.error instanceof CancellationError);
    assert.equal(o.error.cause, reason);
    release(ctl);
    assert.equal(await settledCount(p, ctl), 2);
  });

  it('a running chunk stops at its next item once cancelled (map, chunkSize 3)', async () => {
    const p = await newPool();
    const ctl = shared(4);
    const items = range(60).map((i) => ({ ctl, i }));
    const m = p.map(items, gatedItem, { chunkSize: 3 });
    const settled = outcome(m);
    await until(ctl, STARTED, 2, 'one held item per worker');
    m.cancel();
    assert.ok((await settled).error instanceof CancellationError);
    release(ctl);
    const ran = await settledCount(p, ctl);
    assert.equal(ran, 2, `${ran} items started: items of an already cancelled chunk kept running after the gate opened`);
  });

  it('execBatch .cancel() with chunkSize 3: no item starts after the cancel', async () => {
    const p = await newPool();
    const ctl = shared(4);
    const b = p.execBatch(gatedParams, range(60).map((i) => [ctl, i]), { chunkSize: 3 });
    const settled = outcome(b);
    await until(ctl, STARTED, 2, 'one held item per worker');
    b.cancel();
    assert.ok((await settled).error instanceof CancellationError);
    release(ctl);
    const ran = await settledCount(p, ctl);
    assert.equal(ran, 2, `${ran} items started: items of an already cancelled chunk kept running after the gate opened`);
  });

  it('map with an already aborted signal rejects and runs nothing', async () => {
    const p = await newPool();
    const before = p.stats().completedTasks;
    const ctl = shared(4);
    release(ctl);
    const ac = new AbortController();
    ac.abort('no');
    const o = await outcome(p.map(range(10).map((i) => ({ ctl, i })), gatedItem, { signal: ac.signal }));
    assert.ok(o.error instanceof CancellationError);
    assert.equal(o.error.cause, 'no');
    await untilIdle(p);
    assert.equal(Atomics.load(ctl, STARTED), 0);
    assert.equal(p.stats().completedTasks, before);
  });

  it('map .cancel() mid-batch (chunkSize 1)', async () => {
    const p = await newPool();
    const ctl = shared(4);
    const m = p.map(range(30).map((i) => ({ ctl, i })), gatedItem, { chunkSize: 1 });
    const settled = outcome(m);
    await until(ctl, STARTED, 2);
    m.cancel();
    assert.ok((await settled).error instanceof CancellationError);
    release(ctl);
    assert.equal(await settledCount(p, ctl), 2);
  });

  it('reduce .cancel() mid-batch (chunkSize 1)', async () => {
    const p = await newPool();
    const ctl = shared(4);
    const reducer = (acc, item) => {
      const c = item.ctl;
      Atomics.add(c, 1, 1);
      Atomics.notify(c, 1);
      while (Atomics.load(c, 0) === 0) Atomics.wait(c, 0, 0);
      return acc + item.i;
    };
    const r = p.reduce(range(30).map((i) => ({ ctl, i })), reducer, 0, { chunkSize: 1, combine: (a, b) => a + b });
    const settled = outcome(r);
    await until(ctl, STARTED, 2);
    r.cancel();
    assert.ok((await settled).error instanceof CancellationError);
    release(ctl);
    assert.equal(await settledCount(p, ctl), 2);
  });

  it('mapRegions .cancel() mid-way: regions not started never run, versions of unfinished regions stay 0', async () => {
    const p = await newPool();
    const sab = new SharedArrayBuffer(16 + 160);
    const ctl = new Int32Array(sab, 0, 4);
    const versions = new Int32Array(new SharedArrayBuffer(16 * 4));
    const m = p.mapRegions(new Uint8Array(sab, 16), (r) => {
      const c = new Int32Array(r.buffer, 0, 4);
      Atomics.add(c, 1, 1);
      Atomics.notify(c, 1);
      while (Atomics.load(c, 0) === 0) Atomics.wait(c, 0, 0);
      r.bytes.fill(1, r.start - r.readStart, r.end - r.readStart);
      return r.index;
    }, { regions: 16, versions });
    const settled = outcome(m);
    await until(ctl, STARTED, 2);
    m.cancel();
    assert.ok((await settled).error instanceof CancellationError);
    release(ctl);
    assert.equal(await settledCount(p, ctl), 2);
    const v = Array.from(versions);
    assert.equal(v.filter((x) => x === 1).length, 2, `versions ${v}`);
    assert.equal(v.filter((x) => x === 0).length, 14, `versions ${v}`);
    // the written bytes are exactly those of the two regions that ran
    const data = new Uint8Array(sab, 16);
    let written = 0;
    for (const b of data) written += b;
    assert.equal(written, 2 * 10);
  });

  it('cancelling a batch does not kill an unrelated task that runs on the same worker', async () => {
    // One worker runs a long exec() task (held at a gate); a map's chunks are queued behind it
    // in that worker and get cancelled. Those chunks never started, so nothing needs killing:
    // the long task must complete. The pool arms its kill timer (workerTerminateTimeout) for
    // every cancelled task that was dispatched, started or not; a timer of the same duration
    // armed after the cancel fires after it (Node runs equal timeouts in creation order), so
    // once it has fired the kill decision has been taken.
    const p = track(pool(methods, { minWorkers: 1, maxWorkers: 1, concurrentTasksPerWorker: 8, workerTerminateTimeout: 20 }));
    await p.exec('double', [1]);
    const ctl = shared(4);
    const long = outcome(p.exec('gated', [ctl, 7]));
    const m = p.map(range(4), 'double', { chunkSize: 1 });
    const settled = outcome(m);
    await until(ctl, STARTED, 1, 'the long task to start');
    assert.equal(p.stats().activeTasks, 5); // the long task + 4 chunks dispatched behind it
    m.cancel();
    assert.ok((await settled).error instanceof CancellationError);
    await new Promise((resolve) => setTimeout(resolve, 20)); // ordering, see above
    release(ctl);
    const o = await long;
    assert.ok(o.ok, `the unrelated task failed: ${o.error && o.error.message}`);
    assert.equal(o.value, 70);
    await untilIdle(p);
  });
});
