'use strict';
// worker.terminate() while the worker is blocked in a ringpool wait (or has async waits
// pending) must settle within one second, remove the worker's waiters from the table, and
// leave the process working. The 1000 ms bound is a requirement of the issue, not a guess
// at timing: a blocking wait checks for termination between bounded slices.
const assert = require('node:assert/strict');
const { performance } = require('node:perf_hooks');
const { rp, waitCount, totalWaiters, untilWaiters, untilBufferWaiters, sharedInt32 } = require('../helpers/ringpool');
const { startTask, runTask } = require('../helpers/workers');

const { waitAsync, notify, Ring, Channel } = rp;

const kTerminateBoundMs = 1000;

/** Durations of the terminate() calls of the running test; shown in its title. */
let timings = [];

async function terminateTimed(worker) {
  const t0 = performance.now();
  const code = await worker.terminate();
  const ms = performance.now() - t0;
  timings.push(ms);
  assert.ok(ms < kTerminateBoundMs, `terminate() took ${ms.toFixed(1)} ms`);
  assert.equal(code, 1, 'a terminated worker exits with code 1');
  return ms;
}

/** it() that appends the measured terminate() durations to the test's title. */
function itTerminates(title, fn) {
  it(title, async function () {
    timings = [];
    try {
      await fn();
    } finally {
      if (timings.length > 0) this.test.title += ` [terminate: ${timings.map((ms) => ms.toFixed(0)).join(', ')} ms]`;
    }
  });
}

/** The main thread and fresh workers still work: a local and a cross-thread wake-up. */
async function assertHealthy() {
  const i32 = sharedInt32();
  const w = waitAsync(i32, 0, 0);
  assert.equal(notify(i32, 0), 1);
  assert.equal(await w.value, 'ok');
  const v = waitAsync(i32, 1, 0);
  assert.equal(await runTask('notify', { i32, index: 1, store: 1 }), 1);
  assert.equal(await v.value, 'ok');
  const r = new Ring({ capacity: 2 });
  r.push(1);
  assert.equal(await r.popAsync(), 1);
}

describe('fault: terminate a worker while it waits', () => {
  itTerminates('blocked in wait (no timeout)', async () => {
    const i32 = sharedInt32();
    const { worker } = startTask('blockInWait', { i32, index: 1 });
    await untilWaiters(i32, 1, 1);
    await terminateTimed(worker);
    assert.equal(waitCount(i32, 1), 0);
    assert.equal(notify(i32, 1), 0, 'a dead waiter was woken');
    await assertHealthy();
  });

  itTerminates('blocked in Ring#popWait', async () => {
    const r = new Ring({ capacity: 4 });
    const { worker } = startTask('blockInPopWait', { buffer: r.buffer });
    await untilBufferWaiters(r.buffer, 1);
    await terminateTimed(worker);
    assert.equal(totalWaiters(r.buffer), 0);
    r.push(7);
    assert.equal(r.pop(), 7, 'the ring still works and nothing was consumed');
    await assertHealthy();
  });

  itTerminates('blocked in Ring#pushWait on a full ring', async () => {
    const r = new Ring({ capacity: 1 });
    r.push(3);
    const { worker } = startTask('blockInPushWait', { buffer: r.buffer });
    await untilBufferWaiters(r.buffer, 1);
    await terminateTimed(worker);
    assert.equal(totalWaiters(r.buffer), 0);
    assert.equal(r.pop(), 3);
    assert.equal(r.pop(), undefined, 'the terminated pushWait must not have pushed');
    await assertHealthy();
  });

  itTerminates('blocked in Channel#receiveWait', async () => {
    const c = new Channel({ bytes: 256 });
    const { worker } = startTask('blockInReceiveWait', { buffer: c.buffer });
    await untilBufferWaiters(c.buffer, 1);
    await terminateTimed(worker);
    assert.equal(totalWaiters(c.buffer), 0);
    c.send('after');
    assert.equal(c.receiveString(), 'after');
    await assertHealthy();
  });

  itTerminates('with 100 pending waitAsync', async () => {
    const i32 = sharedInt32();
    const { worker } = startTask('blockInPendingWaitAsync', { i32, index: 2, n: 100 });
    await untilWaiters(i32, 2, 100);
    await terminateTimed(worker);
    assert.equal(waitCount(i32, 2), 0);
    assert.equal(notify(i32, 2), 0, 'a dead async waiter was woken');
    await assertHealthy();
  });

  itTerminates('with a pending Ring#popAsync and a pending Channel#receiveAsync', async () => {
    const r = new Ring({ capacity: 2 });
    const c = new Channel({ bytes: 128 });
    const a = startTask('blockInPopAsync', { buffer: r.buffer });
    const b = startTask('blockInReceiveAsync', { buffer: c.buffer });
    await untilBufferWaiters(r.buffer, 1);
    await untilBufferWaiters(c.buffer, 1);
    await Promise.all([terminateTimed(a.worker), terminateTimed(b.worker)]);
    assert.equal(totalWaiters(r.buffer), 0);
    assert.equal(totalWaiters(c.buffer), 0);
    r.push(1);
    assert.equal(r.pop(), 1);
    await assertHealthy();
  });

  itTerminates('four workers blocked on the same cell, terminated at once, while the main thread also waits there', async () => {
    const i32 = sharedInt32();
    const mine = waitAsync(i32, 0, 0);
    const tasks = [0, 1, 2, 3].map((k) => (k % 2 ? startTask('blockInWait', { i32, index: 0 }) : startTask('blockInPendingWaitAsync', { i32, index: 0, n: 10 })));
    await untilWaiters(i32, 0, 1 + 2 + 20);
    await Promise.all(tasks.map((t) => terminateTimed(t.worker)));
    assert.equal(waitCount(i32, 0), 1, "only the main thread's waiter is left");
    assert.equal(notify(i32, 0), 1);
    assert.equal(await mine.value, 'ok');
    await assertHealthy();
  });
});
