'use strict';
// Events from a running task to its caller: workerEmit() (and this.emit, this.worker.emit,
// getTaskContext().emit) reach the task's `on` handler in order and before its result; with
// emitStdStreams, the task's console output arrives the same way as { stdout } / { stderr }.
const assert = require('node:assert/strict');
const { rp, fixture, shared, until, release, usePools, once } = require('./support');

const { pool, CancellationError } = rp;
const methods = fixture('methods.js');

/** Runs a task, logging its events and then its result into one list. */
async function run(p, method, args, extra = {}) {
  const log = [];
  const result = await p.exec(method, args, { ...extra, on: (m) => log.push(m) });
  log.push({ result });
  return log;
}

describe('pool: workerEmit', () => {
  const track = usePools();

  it('payloads reach the on handler in order, before the result', async () => {
    const p = track(pool(methods, { maxWorkers: 1 }));
    const log = await run(p, 'emitN', [100]);
    assert.deepEqual(log, [...Array.from({ length: 100 }, (_, i) => ({ i })), { result: 100 }]);
  });

  it('from an async task, between awaits', async () => {
    const p = track(pool(methods, { maxWorkers: 1 }));
    assert.deepEqual(await run(p, 'emitAsync', [5]), [{ i: 0 }, { i: 1 }, { i: 2 }, { i: 3 }, { i: 4 }, { result: 5 }]);
  });

  it('the four ways a task can emit', async () => {
    const p = track(pool(methods, { maxWorkers: 1 }));
    assert.deepEqual(await run(p, 'emitEveryWay', []), ['workerEmit', 'this.emit', 'this.worker.emit', 'getTaskContext().emit', { result: 'done' }]);
  });

  it('from a function task', async () => {
    const p = track(pool({ maxWorkers: 1 }));
    const log = await run(p, function () {
      this.emit('a');
      this.worker.emit('b');
      return 'c';
    }, []);
    assert.deepEqual(log, ['a', 'b', { result: 'c' }]);
  });

  it('tasks running at the same time on one worker each get their own events', async () => {
    const p = track(pool(methods, { maxWorkers: 1 }));
    const logs = [[], [], []];
    const res = await Promise.all(logs.map((log, k) => p.exec('emitAsync', [10 + k], { on: (m) => log.push(m.i) })));
    assert.deepEqual(res, [10, 11, 12]);
    logs.forEach((log, k) => assert.deepEqual(log, [...Array(10 + k).keys()]));
  });

  it('a payload holding a SharedArrayBuffer arrives shared', async () => {
    const p = track(pool(methods, { maxWorkers: 1 }));
    const i32 = shared(4);
    const got = [];
    const r = await p.exec('emitShared', [i32], { on: (m) => got.push(m) }).catch((e) => `${e.name}: ${e.message}`);
    assert.equal(r, 'sent');
    assert.equal(got.length, 1);
    assert.ok(got[0].i32.buffer instanceof SharedArrayBuffer);
    Atomics.store(got[0].i32, 2, 11);
    assert.equal(Atomics.load(i32, 2), 11, 'the same memory');
  });

  it('without an on handler the payloads are dropped and the task resolves', async () => {
    const p = track(pool(methods, { maxWorkers: 1 }));
    assert.equal(await p.exec('emitN', [10]), 10);
  });

  it("an on handler that throws: the pool emits 'error', the task still resolves", async () => {
    const p = track(pool(methods, { maxWorkers: 1 }));
    const errors = [];
    p.on('error', (e) => errors.push(e));
    const boom = new Error('handler failed');
    assert.equal(await p.exec('emitN', [2], { on: () => { throw boom; } }), 2);
    assert.deepEqual(errors, [boom, boom]);
  });

  it('events of a cancelled task no longer reach its handler', async () => {
    const p = track(pool(methods, { maxWorkers: 1 }));
    const i32 = shared(4);
    const seen = [];
    const t = p.exec('holdAsync', [i32, 0, 1], { on: (m) => seen.push(m) });
    await until(i32, 0, 1);
    t.cancel();
    await assert.rejects(t, CancellationError);
    // The same worker now runs a task that emits; nothing of it goes to the old handler.
    await run(p, 'emitN', [3]);
    assert.deepEqual(seen, []);
    release(i32, 1);
  });
});

describe('pool: emitStdStreams', () => {
  const track = usePools();

  it("a task's console.log, process.stdout.write and console.error reach its on handler, in order, before the result", async () => {
    const p = track(pool(methods, { maxWorkers: 1, emitStdStreams: true }));
    assert.deepEqual(await run(p, 'log', ['t1']), [
      { stdout: 'log t1\n' },
      { emitted: 't1' },
      { stdout: 'write t1' },
      { stderr: 'error t1\n' },
      { result: 't1' },
    ]);
  });

  it('output after an await is still attributed to its task, also with other tasks running', async () => {
    const p = track(pool(methods, { maxWorkers: 1, emitStdStreams: true }));
    const logs = [[], [], []];
    const res = await Promise.all(['a', 'b', 'c'].map((tag, k) => p.exec('logAsync', [tag], { on: (m) => logs[k].push(m) })));
    assert.deepEqual(res, ['a', 'b', 'c']);
    ['a', 'b', 'c'].forEach((tag, k) => assert.deepEqual(logs[k], [{ stdout: `async ${tag}\n` }, { stdout: `later ${tag}` }]));
  });

  it('a write larger than a channel record arrives whole (possibly in pieces), and the worker survives', async () => {
    const p = track(pool(methods, { maxWorkers: 1, emitStdStreams: true }));
    const n = 300 * 1024;
    let text = '';
    const r = await p.exec('writeBig', [n], { on: (m) => (text += m.stdout) }).catch((e) => `${e.name}: ${e.message}`);
    assert.equal(r, n);
    assert.equal(text, 'o'.repeat(n));
  });

  it('function tasks too', async () => {
    const p = track(pool({ maxWorkers: 1, emitStdStreams: true }));
    assert.deepEqual(await run(p, () => {
      console.log('from a function', 1);
      return 2;
    }, []), [{ stdout: 'from a function 1\n' }, { result: 2 }]);
  });

  it("output of a task with no on handler is dropped without harm; 'drain' follows", async () => {
    const p = track(pool(methods, { maxWorkers: 1, emitStdStreams: true }));
    const drained = once(p, 'drain');
    assert.equal(await p.exec('log', ['quiet']), 'quiet');
    await drained;
  });
});
