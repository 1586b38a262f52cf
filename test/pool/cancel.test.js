'use strict';
// Cancellation (TaskPromise#cancel and AbortSignal) and timeouts. A queued task is removed
// and never runs (a shared counter proves it); a running task first gets its abort signal
// (this.signal, this.isCancelled(), this.worker.addAbortListener) and, if it has not ended
// within workerTerminateTimeout, its worker is terminated and replaced. Timeouts count from
// dispatch, not from queueing. Every task settles exactly once.
const assert = require('node:assert/strict');
const { performance } = require('node:perf_hooks');
const { rp, fixture, shared, until, release, usePools, outcome } = require('./support');

const { pool, CancellationError, TimeoutError } = rp;
const methods = fixture('methods.js');

// Cells of the shared control array used below.
const STARTED = 0;
const RELEASE = 1;
const RAN = 2; // bumped by tasks that must never run
const SAW_ABORT = 3;

/** Counts settlements of a promise (to prove "exactly once"). */
function settleCount(p) {
  const c = { resolved: 0, rejected: 0, error: undefined };
  p.then(() => c.resolved++, (e) => {
    c.rejected++;
    c.error = e;
  });
  return c;
}

describe('pool: cancellation', () => {
  const track = usePools();

  it('a task queued on the main thread is removed and never runs; the reason is the cause', async () => {
    const p = track(pool(methods, { maxWorkers: 1, concurrentTasksPerWorker: 1 }));
    const i32 = shared(8);
    const blocker = p.exec('hold', [i32, STARTED, RELEASE, 'held']);
    await until(i32, STARTED, 1);
    const victim = p.exec('bump', [i32, RAN]);
    const after = p.exec('echo', ['after']);
    assert.equal(p.stats().pendingTasks, 2);
    const reason = new Error('not needed any more');
    assert.equal(victim.cancel(reason), victim);
    assert.equal(p.stats().pendingTasks, 1, 'removed from the queue at once');
    const r = await outcome(victim);
    assert.ok(r.error instanceof CancellationError);
    assert.equal(r.error.code, 'ERR_RINGPOOL_CANCELLED');
    assert.equal(r.error.cause, reason);
    release(i32, RELEASE);
    assert.equal(await blocker, 'held');
    assert.equal(await after, 'after');
    assert.equal(Atomics.load(i32, RAN), 0, 'the cancelled task ran');
  });

  it('a task already handed to a busy worker but not started there is skipped, and the running task is left alone', async () => {
    // Default concurrency: the victim sits in the worker's channel behind a task that blocks
    // the thread. Cancelling it must neither run it nor kill the worker (and its innocent
    // running task) once workerTerminateTimeout has passed.
    const wtt = 50;
    const p = track(pool(methods, { maxWorkers: 1, workerTerminateTimeout: wtt }));
    let exits = 0;
    p.on('workerExit', () => exits++);
    const i32 = shared(8);
    const blocker = outcome(p.exec('hold', [i32, STARTED, RELEASE, 'held']));
    const victim = p.exec('bump', [i32, RAN]);
    await until(i32, STARTED, 1);
    assert.equal(p.stats().pendingTasks, 0, 'the victim was dispatched to the worker');
    victim.cancel();
    await assert.rejects(victim, CancellationError);
    // The clock of the behaviour under test: let workerTerminateTimeout pass (several times).
    await new Promise((resolve) => setTimeout(resolve, 4 * wtt));
    release(i32, RELEASE);
    assert.deepEqual(await blocker, { ok: true, value: 'held' }, 'the running task was killed');
    assert.equal(await p.exec('echo', ['next']), 'next');
    assert.equal(Atomics.load(i32, RAN), 0, 'the cancelled task ran');
    assert.equal(exits, 0);
  });

  it('a running task sees this.signal abort; if it then ends, its worker is kept', async () => {
    const p = track(pool(methods, { maxWorkers: 1 }));
    let exits = 0;
    p.on('workerExit', () => exits++);
    const tid = await p.exec('threadId');
    const i32 = shared(8);
    const t = p.exec('holdAsync', [i32, STARTED, RELEASE, SAW_ABORT]);
    const count = settleCount(t);
    await until(i32, STARTED, 1);
    t.cancel('stop');
    await assert.rejects(t, (e) => e instanceof CancellationError && e.cause === 'stop');
    await until(i32, SAW_ABORT, 1, 'the abort signal inside the worker');
    assert.equal(await p.exec('threadId'), tid, 'same worker');
    assert.equal(exits, 0);
    assert.deepEqual([count.resolved, count.rejected], [0, 1]);
    const s = p.stats();
    assert.equal(s.failedTasks, 1);
    assert.equal(s.completedTasks, 2, 'the two threadId tasks; the late result of the cancelled task is not counted');
  });

  it('this.isCancelled() reads the flag in shared memory (a busy loop notices)', async () => {
    const p = track(pool(methods, { maxWorkers: 1, workerTerminateTimeout: 10000 }));
    let exits = 0;
    p.on('workerExit', () => exits++);
    const i32 = shared(8);
    const t = p.exec('spinUntilCancelled', [i32, STARTED, SAW_ABORT]);
    await until(i32, STARTED, 1);
    t.cancel();
    await assert.rejects(t, CancellationError);
    await until(i32, SAW_ABORT, 1, 'the busy loop noticing');
    assert.equal(await p.exec('echo', ['next']), 'next');
    assert.equal(exits, 0);
  });

  it('this.worker.addAbortListener(fn) runs fn on cancel', async () => {
    const p = track(pool(methods, { maxWorkers: 1 }));
    const i32 = shared(8);
    const t = p.exec('abortListener', [i32, STARTED, SAW_ABORT]);
    await until(i32, STARTED, 1);
    t.cancel();
    await assert.rejects(t, CancellationError);
    await until(i32, SAW_ABORT, 1, 'the abort listener');
  });

  for (const [what, method, extra] of [['a busy loop', 'spinForever', []], ['a thread blocked in Atomics.wait', 'hold', [RELEASE, 'x']]]) {
    it(`a running task that ignores cancellation (${what}): its worker is replaced after workerTerminateTimeout`, async () => {
      const wtt = 100;
      const p = track(pool(methods, { maxWorkers: 1, concurrentTasksPerWorker: 1, workerTerminateTimeout: wtt }));
      const i32 = shared(8);
      const first = await p.exec('threadId');
      const t = p.exec(method, [i32, STARTED, ...extra]);
      const count = settleCount(t);
      const queued = p.exec('threadId');
      await until(i32, STARTED, 1);
      const exited = new Promise((resolve) => p.once('workerExit', resolve));
      const t0 = performance.now();
      t.cancel();
      await assert.rejects(t, CancellationError);
      const e = await exited;
      const ms = performance.now() - t0;
      assert.ok(ms >= wtt - 5, `terminated after ${ms.toFixed(1)} ms, before workerTerminateTimeout`);
      assert.ok(ms < wtt + 2000, `terminated after ${ms.toFixed(1)} ms`);
      assert.equal(e.threadId, first);
      const second = await queued;
      assert.notEqual(second, first, 'the queued task ran on a replacement');
      assert.deepEqual([count.resolved, count.rejected], [0, 1]);
      assert.ok(count.error instanceof CancellationError, 'still the CancellationError, not a WorkerExitError');
      release(i32, RELEASE);
    });
  }

  describe('AbortSignal', () => {
    it('aborting the signal of a queued task removes it; the reason is the cause', async () => {
      const p = track(pool(methods, { maxWorkers: 1, concurrentTasksPerWorker: 1 }));
      const i32 = shared(8);
      const blocker = p.exec('hold', [i32, STARTED, RELEASE, 'held']);
      await until(i32, STARTED, 1);
      const ac = new AbortController();
      const victim = p.exec('bump', [i32, RAN], { signal: ac.signal });
      ac.abort('changed my mind');
      await assert.rejects(victim, (e) => e instanceof CancellationError && e.cause === 'changed my mind');
      release(i32, RELEASE);
      await blocker;
      assert.equal(await p.exec('echo', [1]), 1);
      assert.equal(Atomics.load(i32, RAN), 0);
    });

    it('aborting the signal of a running task fires this.signal in the worker', async () => {
      const p = track(pool(methods, { maxWorkers: 1 }));
      const i32 = shared(8);
      const ac = new AbortController();
      const t = p.exec('holdAsync', [i32, STARTED, RELEASE, SAW_ABORT], { signal: ac.signal });
      await until(i32, STARTED, 1);
      ac.abort();
      await assert.rejects(t, CancellationError);
      await until(i32, SAW_ABORT, 1);
    });

    it('an already-aborted signal rejects at once: nothing is queued, no worker starts', async () => {
      let created = 0;
      const p = track(pool(methods, { maxWorkers: 1, onCreateWorker: () => void created++ }));
      const reason = new Error('too late');
      const t = p.exec('echo', [1], { signal: AbortSignal.abort(reason) });
      const first = await Promise.race([t.then(() => 'resolved', () => 'rejected'), Promise.resolve().then(() => 'later').then((x) => x)]);
      assert.equal(first, 'rejected');
      await assert.rejects(t, (e) => e instanceof CancellationError && e.cause === reason);
      const s = p.stats();
      assert.equal(s.pendingTasks, 0);
      assert.equal(s.totalWorkers, 0);
      assert.equal(s.failedTasks, 1);
      assert.equal(created, 0);
    });

    it('a signal that aborts after the task settled changes nothing', async () => {
      const p = track(pool(methods, { maxWorkers: 1 }));
      const ac = new AbortController();
      const t = p.exec('echo', ['done'], { signal: ac.signal });
      const count = settleCount(t);
      assert.equal(await t, 'done');
      ac.abort();
      t.cancel();
      await p.exec('echo', [0]);
      assert.deepEqual([count.resolved, count.rejected], [1, 0]);
      assert.equal(p.stats().failedTasks, 0);
    });
  });

  it('cancel() twice, or after settling, settles nothing more', async () => {
    const p = track(pool(methods, { maxWorkers: 1, concurrentTasksPerWorker: 1 }));
    const i32 = shared(8);
    const blocker = p.exec('hold', [i32, STARTED, RELEASE, 'held']);
    await until(i32, STARTED, 1);
    const t = p.exec('bump', [i32, RAN]);
    const count = settleCount(t);
    t.cancel('first');
    t.cancel('second');
    await assert.rejects(t, (e) => e.cause === 'first');
    release(i32, RELEASE);
    await blocker;
    blocker.cancel();
    assert.equal(await blocker, 'held');
    assert.deepEqual([count.resolved, count.rejected], [0, 1]);
    assert.equal(p.stats().failedTasks, 1);
  });
});

describe('pool: timeouts', () => {
  const track = usePools();

  it('a running task that exceeds its timeout rejects with TimeoutError and gets its abort signal', async () => {
    const p = track(pool(methods, { maxWorkers: 1 }));
    let exits = 0;
    p.on('workerExit', () => exits++);
    assert.equal(await p.exec('echo', ['warm']), 'warm'); // the timeout is not about start-up
    const i32 = shared(8);
    const t = p.exec('holdAsync', [i32, STARTED, RELEASE, SAW_ABORT], { timeout: 30 });
    const r = await outcome(t);
    assert.equal(Atomics.load(i32, STARTED), 1, 'it ran');
    assert.ok(r.error instanceof TimeoutError, `${r.error}`);
    assert.equal(r.error.code, 'ERR_RINGPOOL_TIMEOUT');
    assert.match(r.error.message, /30 ms/);
    await until(i32, SAW_ABORT, 1, 'the abort signal after the timeout');
    assert.equal(await p.exec('echo', [1]), 1);
    assert.equal(exits, 0, 'a task that stops on its signal keeps its worker');
  });

  it('TaskPromise#timeout(ms) works like the timeout option; timeout 0 too', async () => {
    const p = track(pool(methods, { maxWorkers: 1 }));
    const i32 = shared(8);
    await assert.rejects(p.exec('holdAsync', [i32, STARTED, RELEASE]).timeout(20), TimeoutError);
    await assert.rejects(p.exec('holdAsync', [i32, STARTED, RELEASE], { timeout: 0 }), TimeoutError);
    assert.equal(await p.exec('echo', ['fast'], { timeout: 10000 }), 'fast');
  });

  it('a timed-out task that ignores its signal: the worker is replaced after workerTerminateTimeout', async () => {
    const p = track(pool(methods, { maxWorkers: 1, concurrentTasksPerWorker: 1, workerTerminateTimeout: 50 }));
    const i32 = shared(8);
    const first = await p.exec('threadId');
    const exited = new Promise((resolve) => p.once('workerExit', resolve));
    const t = p.exec('spinForever', [i32, STARTED], { timeout: 20 });
    const next = p.exec('threadId');
    await assert.rejects(t, TimeoutError);
    assert.equal((await exited).threadId, first);
    assert.notEqual(await next, first);
  });

  it('timeouts count from dispatch, not from queueing (option and method)', async () => {
    // One worker, one task at a time. A holds the worker until its own timeout (300 ms) aborts
    // it; B (timeout 100 ms) and C (.timeout(100)) wait in the queue meanwhile — longer than
    // their timeouts — and must still run to completion once dispatched.
    const p = track(pool(methods, { maxWorkers: 1, concurrentTasksPerWorker: 1 }));
    const i32 = shared(8);
    const t0 = performance.now();
    const a = outcome(p.exec('holdAsync', [i32, STARTED, RELEASE, SAW_ABORT], { timeout: 300 }));
    const b = p.exec('echo', ['b'], { timeout: 100 });
    const c = p.exec('echo', ['c']).timeout(100);
    assert.ok((await a).error instanceof TimeoutError);
    assert.ok(performance.now() - t0 >= 250, 'B and C were queued longer than their timeouts');
    assert.equal(await b, 'b');
    assert.equal(await c, 'c');
  });

  it('timeout() called while the task runs counts from that call', async () => {
    const p = track(pool(methods, { maxWorkers: 1 }));
    const i32 = shared(8);
    const t = p.exec('holdAsync', [i32, STARTED, RELEASE, SAW_ABORT]);
    await until(i32, STARTED, 1);
    t.timeout(10);
    await assert.rejects(t, TimeoutError);
    await until(i32, SAW_ABORT, 1);
  });
});
