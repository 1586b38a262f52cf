'use strict';
// Shutting down: terminate() settles within workerTerminateTimeout (+ slack) even when a
// worker is stuck in a busy loop or in a native ringpool wait; a graceful terminate lets
// running tasks finish; queued tasks reject with PoolTerminatedError; a clean shutdown leaves
// no unhandled rejections; and the process exits by itself afterwards — also when a pool is
// merely idle and never terminated (checked in child processes).
const assert = require('node:assert/strict');
const { performance } = require('node:perf_hooks');
const { rp, fixture, shared, until, release, usePools, outcome, runChild } = require('./support');

const { pool, WorkerExitError, PoolTerminatedError } = rp;
const methods = fixture('methods.js');

/** Slack on top of workerTerminateTimeout for terminate() to settle. */
const kSlackMs = 1500;

async function timed(promise) {
  const t0 = performance.now();
  await promise;
  return performance.now() - t0;
}

describe('pool: terminate()', () => {
  const track = usePools();

  const stuck = [
    ['a busy loop (while (true) {})', 'spinForever', (i32) => [i32, 0]],
    ["a native ringpool wait (require('ringpool').wait(i32, i, 0))", 'nativeWait', (i32) => [i32, 0, 2]],
    ['a blocking Atomics.wait', 'hold', (i32) => [i32, 0, 1, 'never']],
  ];
  for (const [what, method, args] of stuck) {
    it(`settles within workerTerminateTimeout when a worker is stuck in ${what}`, async () => {
      const wtt = 200;
      const p = track(pool(methods, { maxWorkers: 2, concurrentTasksPerWorker: 1, workerTerminateTimeout: wtt }));
      const i32 = shared(4);
      const running = outcome(p.exec(method, args(i32)));
      await until(i32, 0, 1);
      const other = await p.exec('echo', ['on the other worker']);
      assert.equal(other, 'on the other worker');
      const held = outcome(p.exec('hold', [i32, 0, 1, 'x']));
      await until(i32, 0, 2);
      const queued = outcome(p.exec('echo', ['queued']));
      const exits = [];
      p.on('workerExit', (e) => exits.push(e));
      const ms = await timed(p.terminate());
      assert.ok(ms < wtt + kSlackMs, `terminate() took ${ms.toFixed(0)} ms`);
      const r = await running;
      assert.ok(r.error instanceof WorkerExitError, `${r.ok ? r.value : r.error}`);
      assert.match(r.error.reason, /terminated/);
      assert.ok((await held).error instanceof WorkerExitError);
      const q = await queued;
      assert.ok(q.error instanceof PoolTerminatedError);
      assert.equal(q.error.code, 'ERR_RINGPOOL_POOL_TERMINATED');
      assert.equal(exits.length, 2, 'a workerExit event per worker');
      assert.equal(p.stats().totalWorkers, 0);
    });
  }

  it('terminate(true) does not wait for workerTerminateTimeout', async () => {
    const p = track(pool(methods, { maxWorkers: 1, workerTerminateTimeout: 60000 }));
    const i32 = shared(4);
    const t = outcome(p.exec('spinForever', [i32, 0]));
    await until(i32, 0, 1);
    const ms = await timed(p.terminate(true));
    assert.ok(ms < kSlackMs, `terminate(true) took ${ms.toFixed(0)} ms`);
    assert.ok((await t).error instanceof WorkerExitError);
  });

  it('terminate(false, timeout) waits that long, not workerTerminateTimeout', async () => {
    const p = track(pool(methods, { maxWorkers: 1, workerTerminateTimeout: 60000 }));
    const i32 = shared(4);
    const t = outcome(p.exec('spinForever', [i32, 0]));
    await until(i32, 0, 1);
    const ms = await timed(p.terminate(false, 100));
    assert.ok(ms >= 95 && ms < 100 + kSlackMs, `terminate(false, 100) took ${ms.toFixed(0)} ms`);
    assert.ok((await t).error instanceof WorkerExitError);
  });

  it('a graceful terminate() lets running tasks finish; queued ones reject', async () => {
    const p = track(pool(methods, { maxWorkers: 1, concurrentTasksPerWorker: 2, workerTerminateTimeout: 60000 }));
    const i32 = shared(4);
    const running = [p.exec('holdAsync', [i32, 0, 1]), p.exec('holdAsync', [i32, 0, 1])];
    await until(i32, 0, 2);
    const queued = outcome(p.exec('echo', ['queued']));
    const done = p.terminate();
    assert.ok((await queued).error instanceof PoolTerminatedError, 'queued tasks reject at once');
    await assert.rejects(p.exec('echo', [1]), PoolTerminatedError);
    release(i32, 1);
    assert.deepEqual(await Promise.all(running), ['released', 'released']);
    await done;
  });

  it('while workers are still starting, twice at once, and again later', async () => {
    const p = track(pool(methods, { minWorkers: 2, maxWorkers: 2 }));
    const t = outcome(p.exec('echo', [1]));
    await Promise.all([p.terminate(), p.terminate()]);
    await p.terminate();
    const r = await t;
    assert.ok(r.ok || r.error instanceof PoolTerminatedError || r.error instanceof WorkerExitError, `${r.error}`);
    assert.equal(p.stats().totalWorkers, 0);
  });

  it('a clean shutdown produces no unhandled rejections', async () => {
    const unhandled = [];
    const onUnhandled = (reason) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const p = pool(methods, { maxWorkers: 2, minWorkers: 1 });
      await Promise.all(Array.from({ length: 200 }, (_, i) => p.exec('square', [i])));
      const api = await p.proxy();
      assert.equal(await api.add(1, 1), 2);
      await assert.rejects(p.exec('throwCustom', ['handled']));
      const c = p.exec('echo', [1]);
      c.cancel();
      await assert.rejects(c);
      await p.terminate();
      // Let any stray promise rejection surface (it is reported after the microtask queue drains).
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('pool: the process exits by itself (child processes)', function () {
  // Each child loads the package and starts workers; a hang is caught by the kill timer.
  const kExitBoundMs = 15000;

  const scripts = {
    'after terminate()': `
      const p = pool(fixtures + '/methods.js', { maxWorkers: 2 });
      Promise.all(Array.from({ length: 1000 }, (_, i) => p.exec('square', [i])))
        .then((r) => { console.log('sum', r.reduce((a, b) => a + b, 0)); return p.terminate(); })
        .then(() => console.log('terminated'));
    `,
    'after terminate() with a worker stuck in a busy loop': `
      const p = pool(fixtures + '/methods.js', { maxWorkers: 1, workerTerminateTimeout: 100 });
      const i32 = new Int32Array(new SharedArrayBuffer(16));
      p.exec('spinForever', [i32, 0]).catch((e) => console.log('rejected', e.code));
      (async () => {
        while (Atomics.load(i32, 0) === 0) await Atomics.waitAsync(i32, 0, 0).value;
        await p.terminate();
        console.log('terminated');
      })();
    `,
    'with an idle pool that was never terminated': `
      const p = pool(fixtures + '/methods.js', { maxWorkers: 2 });
      Promise.all(Array.from({ length: 1000 }, (_, i) => p.exec('square', [i])))
        .then(() => p.exec((a) => a + 1, [1]))
        .then((r) => console.log('idle now', r));
    `,
    'with pre-started workers that never ran anything': `
      const p = pool(fixtures + '/methods.js', { minWorkers: 2, maxWorkers: 2 });
      console.log(p.stats().totalWorkers);
    `,
    'after a worker crash and a spawn failure': `
      const p = pool(fixtures + '/methods.js', { maxWorkers: 1 });
      const q = pool(fixtures + '/throws-at-load.js', { maxWorkers: 1 });
      p.exec('exit', [1]).catch((e) => console.log('crash', e.code))
        .then(() => q.exec('echo', [1]).catch((e) => console.log('spawn', e.code)))
        .then(() => p.exec('echo', ['after'])).then((v) => console.log(v));
    `,
    'after a cancelled and a timed-out task': `
      const p = pool(fixtures + '/methods.js', { maxWorkers: 1 });
      const i32 = new Int32Array(new SharedArrayBuffer(16));
      const t = p.exec('holdAsync', [i32, 0, 1]);
      t.catch((e) => console.log('cancelled', e.code));
      (async () => {
        while (Atomics.load(i32, 0) === 0) await Atomics.waitAsync(i32, 0, 0).value;
        t.cancel();
        await p.exec('holdAsync', [i32, 0, 1], { timeout: 20 }).catch((e) => console.log('timeout', e.code));
      })();
    `,
  };
  const expected = {
    'after terminate()': `sum ${Array.from({ length: 1000 }, (_, i) => i * i).reduce((a, b) => a + b, 0)}\nterminated`,
    'after terminate() with a worker stuck in a busy loop': 'rejected ERR_RINGPOOL_WORKER_EXIT\nterminated',
    'with an idle pool that was never terminated': 'idle now 2',
    'with pre-started workers that never ran anything': '2',
    'after a worker crash and a spawn failure': 'crash ERR_RINGPOOL_WORKER_EXIT\nspawn ERR_RINGPOOL_WORKER_SPAWN\nafter',
    'after a cancelled and a timed-out task': 'cancelled ERR_RINGPOOL_CANCELLED\ntimeout ERR_RINGPOOL_TIMEOUT',
  };

  for (const [what, body] of Object.entries(scripts)) {
    it(what, async () => {
      const src = `
        const { pool } = require(process.env.RINGPOOL_ROOT);
        const fixtures = process.env.RINGPOOL_FIXTURES;
        process.on('unhandledRejection', (r) => { console.log('unhandled', String(r)); process.exitCode = 3; });
        ${body}
      `;
      const r = await runChild(src, kExitBoundMs);
      assert.equal(r.timedOut, false, `the child did not exit within ${kExitBoundMs} ms; stdout: ${r.stdout}`);
      assert.equal(r.code, 0, `exit code ${r.code}; stderr: ${r.stderr}`);
      assert.equal(r.stdout.trim(), expected[what]);
    });
  }
});
