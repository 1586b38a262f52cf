'use strict';
// The pool's public surface: exports, error classes and their codes, argument checking of
// pool() / exec() / the worker-side helpers (table-driven), the forms a worker script may
// take, function tasks, proxy(), and the shape of the promise exec() returns.
const assert = require('node:assert/strict');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { rp, root, fixture, shared, until, release, usePools } = require('./support');

const {
  pool, Pool, worker, workerEmit, getTaskContext, Transfer, isMainThread, cpus, TaskPromise,
  RingpoolError, TaskError, CancellationError, TimeoutError, WorkerExitError, WorkerSpawnError,
  QueueFullError, PoolTerminatedError, DataCloneError,
} = rp;

const methods = fixture('methods.js');

describe('pool: exports and error classes', () => {
  it('exports the pool API from both entry points', async () => {
    const names = ['pool', 'Pool', 'worker', 'workerEmit', 'getTaskContext', 'Transfer', 'isMainThread', 'cpus', 'TaskPromise',
      'TaskError', 'CancellationError', 'TimeoutError', 'WorkerExitError', 'WorkerSpawnError', 'QueueFullError', 'PoolTerminatedError', 'DataCloneError'];
    const esm = await import(pathToFileURL(path.join(root, 'esm', 'index.mjs')).href);
    for (const n of names) {
      assert.notEqual(rp[n], undefined, `CommonJS entry lacks ${n}`);
      assert.equal(esm[n], rp[n], `ESM entry: ${n}`);
    }
    assert.equal(isMainThread, true);
    assert.ok(Number.isInteger(cpus) && cpus >= 1);
  });

  const table = [
    [TaskError, ['thrown'], 'ERR_RINGPOOL_TASK_FAILED', (e) => assert.equal(e.value, 'thrown')],
    [CancellationError, [], 'ERR_RINGPOOL_CANCELLED'],
    [TimeoutError, [25, 'Task'], 'ERR_RINGPOOL_TIMEOUT', (e) => assert.match(e.message, /25 ms/)],
    [WorkerExitError, [3, 'exited with code 3'], 'ERR_RINGPOOL_WORKER_EXIT', (e) => {
      assert.equal(e.exitCode, 3);
      assert.equal(e.reason, 'exited with code 3');
    }],
    [WorkerSpawnError, [new Error('no such file')], 'ERR_RINGPOOL_WORKER_SPAWN', (e) => {
      assert.equal(e.cause.message, 'no such file');
      assert.match(e.message, /no such file/);
    }],
    [QueueFullError, [4], 'ERR_RINGPOOL_QUEUE_FULL', (e) => assert.match(e.message, /4/)],
    [PoolTerminatedError, [], 'ERR_RINGPOOL_POOL_TERMINATED'],
    [DataCloneError, ['cannot clone'], 'ERR_RINGPOOL_DATA_CLONE'],
  ];
  for (const [Cls, args, code, extra] of table) {
    it(`${Cls.name}: code ${code}, name, RingpoolError subclass`, () => {
      const e = new Cls(...args);
      assert.ok(e instanceof Cls);
      assert.ok(e instanceof RingpoolError);
      assert.ok(e instanceof Error);
      assert.equal(e.code, code);
      assert.equal(e.name, Cls.name);
      assert.equal(typeof e.message, 'string');
      assert.ok(e.message.length > 0);
      if (extra) extra(e);
    });
  }

  it('every error class has a distinct code', () => {
    const codes = table.map(([Cls, args]) => new Cls(...args).code);
    assert.equal(new Set(codes).size, codes.length);
  });
});

describe('pool: argument checking', () => {
  const track = usePools();
  const T = 'ERR_RINGPOOL_INVALID_ARG_TYPE';
  const R = 'ERR_RINGPOOL_OUT_OF_RANGE';

  function expectThrow(fn, Cls, code) {
    assert.throws(fn, (e) => {
      assert.ok(e instanceof Cls, `expected a ${Cls.name}, got ${e && e.name}: ${e && e.message}`);
      assert.equal(e.code, code, e.message);
      return true;
    });
  }

  const poolCases = [
    ['script is a number', [42], TypeError, T],
    ['options is a string', [methods, 'fast'], TypeError, T],
    ['maxWorkers is a string', [methods, { maxWorkers: '2' }], TypeError, T],
    ['maxWorkers is 0', [methods, { maxWorkers: 0 }], RangeError, R],
    ['maxWorkers is 1.5', [methods, { maxWorkers: 1.5 }], RangeError, R],
    ['maxWorkers is NaN', [methods, { maxWorkers: NaN }], RangeError, R],
    ['maxWorkers is Infinity', [methods, { maxWorkers: Infinity }], RangeError, R],
    ['minWorkers is -1', [methods, { minWorkers: -1 }], RangeError, R],
    ["minWorkers is 'min'", [methods, { minWorkers: 'min' }], TypeError, T],
    ['minWorkers exceeds maxWorkers', [methods, { minWorkers: 3, maxWorkers: 2 }], RangeError, R],
    ['maxQueueSize is -1', [methods, { maxQueueSize: -1 }], RangeError, R],
    ['maxQueueSize is a string', [methods, { maxQueueSize: '10' }], TypeError, T],
    ["queueStrategy is 'random'", [methods, { queueStrategy: 'random' }], TypeError, T],
    ['queueStrategy lacks methods', [methods, { queueStrategy: { push() {}, pop() {} } }], TypeError, T],
    ['workerTerminateTimeout is -1', [methods, { workerTerminateTimeout: -1 }], RangeError, R],
    ['workerTerminateTimeout is NaN', [methods, { workerTerminateTimeout: NaN }], RangeError, R],
    ['workerTerminateTimeout is a string', [methods, { workerTerminateTimeout: '1s' }], TypeError, T],
    ['workerThreadOpts is a number', [methods, { workerThreadOpts: 5 }], TypeError, T],
    ['workerThreadOpts is null', [methods, { workerThreadOpts: null }], TypeError, T],
    ['emitStdStreams is a string', [methods, { emitStdStreams: 'yes' }], TypeError, T],
    ['onCreateWorker is not a function', [methods, { onCreateWorker: {} }], TypeError, T],
    ['onTerminateWorker is not a function', [methods, { onTerminateWorker: 'x' }], TypeError, T],
    ['idleTimeout is -5', [methods, { idleTimeout: -5 }], RangeError, R],
    ['idleTimeout is a string', [methods, { idleTimeout: '5' }], TypeError, T],
    ['maxTasksPerWorker is 0', [methods, { maxTasksPerWorker: 0 }], RangeError, R],
    ['concurrentTasksPerWorker is 0', [methods, { concurrentTasksPerWorker: 0 }], RangeError, R],
    ['concurrentTasksPerWorker is 2.5', [methods, { concurrentTasksPerWorker: 2.5 }], RangeError, R],
    ["workerType is 'process'", [methods, { workerType: 'process' }], RangeError, R],
  ];
  for (const [what, args, Cls, code] of poolCases) {
    it(`pool(): ${what} -> ${Cls.name} ${code}`, () => {
      expectThrow(() => track(pool(...args)), Cls, code);
      expectThrow(() => track(new Pool(...(args.length === 1 ? [args[0]] : args))), Cls, code);
    });
  }

  it('pool(options) without a script, and valid edge values, are accepted', async () => {
    const p = track(pool({ maxWorkers: 1, maxQueueSize: Infinity, idleTimeout: 0, workerTerminateTimeout: 0, workerType: 'thread' }));
    assert.equal(p.script, null);
    assert.equal(await p.exec((x) => x + 1, [1]), 2);
  });

  const execCases = [
    ['method is a number', [42], TypeError, T],
    ['method is undefined', [undefined], TypeError, T],
    ['params is not an array', ['echo', 'x'], TypeError, T],
    ['params is an object', ['echo', { 0: 1, length: 1 }], TypeError, T],
    ['options is a number', ['echo', [], 5], TypeError, T],
    ['options.on is not a function', ['echo', [], { on: 'x' }], TypeError, T],
    ['options.transfer is not an array', ['echo', [], { transfer: new ArrayBuffer(1) }], TypeError, T],
    ['options.priority is a string', ['echo', [], { priority: '1' }], TypeError, T],
    ['options.signal is not an AbortSignal', ['echo', [], { signal: { aborted: false } }], TypeError, T],
    ['options.timeout is a string', ['echo', [], { timeout: '10' }], TypeError, T],
    ['options.timeout is negative', ['echo', [], { timeout: -1 }], RangeError, R],
    ['options.timeout is NaN', ['echo', [], { timeout: NaN }], RangeError, R],
  ];
  for (const [what, args, Cls, code] of execCases) {
    it(`exec(): ${what} -> ${Cls.name} ${code}, thrown synchronously`, () => {
      const p = track(pool(methods, { maxWorkers: 1 }));
      expectThrow(() => p.exec(...args), Cls, code);
      assert.equal(p.stats().pendingTasks, 0, 'nothing was queued');
    });
  }

  it('TaskPromise#timeout(): a string is a TypeError, a negative number a RangeError', async () => {
    const p = track(pool(methods, { maxWorkers: 1 }));
    const t = p.exec('echo', [1]);
    expectThrow(() => t.timeout('5'), TypeError, T);
    expectThrow(() => t.timeout(-5), RangeError, R);
    assert.equal(await t, 1);
  });

  it('worker-side helpers check their arguments and where they are called', () => {
    expectThrow(() => worker('methods'), TypeError, T);
    expectThrow(() => worker({ fine() {}, broken: 1 }), TypeError, T);
    expectThrow(() => new Transfer({}, 'not a list'), TypeError, T);
    assert.throws(() => workerEmit('x'), /inside a task/);
    assert.equal(getTaskContext(), undefined);
  });
});

describe('pool: worker scripts and function tasks', () => {
  const track = usePools();

  it('a worker({ methods }) script, given as a path', async () => {
    const p = track(pool(methods, { maxWorkers: 1 }));
    assert.equal(await p.exec('add', [2, 3]), 5);
    assert.equal(await p.exec('asyncAdd', [2, 3]), 5);
    assert.deepEqual(await p.exec('where'), { isMainThread: false, threadId: (await p.exec('threadId')) });
    assert.equal(await p.exec('sameContext'), true, 'getTaskContext() is the method\'s this');
  });

  it('a relative path is resolved against the current directory', async () => {
    const p = track(pool(path.relative(process.cwd(), methods), { maxWorkers: 1 }));
    assert.equal(p.script, methods);
    assert.equal(await p.exec('square', [7]), 49);
  });

  it('a file URL object', async () => {
    const p = track(pool(pathToFileURL(methods), { maxWorkers: 1 }));
    assert.equal(p.script, methods);
    assert.equal(await p.exec('square', [6]), 36);
  });

  it("a file URL string ('file:///...')", async function () {
    this.timeout(8000); // a script that cannot load is retried for well under a second
    const p = track(pool(pathToFileURL(methods).href, { maxWorkers: 1 }));
    assert.equal(await p.exec('square', [5]), 25);
  });

  it('a CommonJS module that simply exports functions (non-functions are not methods)', async () => {
    const p = track(pool(fixture('exports-cjs.js'), { maxWorkers: 1 }));
    assert.equal(await p.exec('double', [21]), 42);
    assert.equal(await p.exec('later', [1]), 2);
    await assert.rejects(p.exec('notAFunction'), (e) => e.code === 'ERR_RINGPOOL_UNKNOWN_METHOD');
  });

  it('a module whose export is a single function runs as "default"', async () => {
    const p = track(pool(fixture('exports-default.js'), { maxWorkers: 1 }));
    assert.equal(await p.exec('default', ['a', 'b']), 'default:a:b');
  });

  it('an ES module (.mjs) with named and default exports, using workerEmit', async function () {
    this.timeout(8000); // a module that cannot load is given up on well within this
    const p = track(pool(fixture('exports-esm.mjs'), { maxWorkers: 1 }));
    assert.equal(await p.exec('triple', [5]), 15);
    assert.equal(await p.exec('default', ['x']), 'esm default x');
    const seen = [];
    assert.equal(await p.exec('emitAndReturn', [9], { on: (m) => seen.push(m) }), 9);
    assert.deepEqual(seen, [{ x: 9 }]);
  });

  it('an unknown method rejects that task only, with code ERR_RINGPOOL_UNKNOWN_METHOD', async () => {
    const p = track(pool(methods, { maxWorkers: 1 }));
    const [bad, good] = await Promise.allSettled([p.exec('noSuchMethod'), p.exec('echo', ['fine'])]);
    assert.equal(bad.status, 'rejected');
    assert.equal(bad.reason.code, 'ERR_RINGPOOL_UNKNOWN_METHOD');
    assert.match(bad.reason.message, /noSuchMethod/);
    assert.deepEqual(good, { status: 'fulfilled', value: 'fine' });
    await assert.rejects(p.exec('hasOwnProperty'), (e) => e.code === 'ERR_RINGPOOL_UNKNOWN_METHOD', 'inherited names are not methods');
  });

  it('function tasks without a script: plain, arrow, async, with several parameters', async () => {
    const p = track(pool({ maxWorkers: 2 }));
    assert.equal(await p.exec((a, b, c) => a * b + c, [6, 7, 0]), 42);
    assert.equal(await p.exec(function named(x) { return `named ${x}`; }, [1]), 'named 1');
    assert.equal(await p.exec(async (x) => { await null; return x * 2; }, [21]), 42);
    assert.deepEqual(await p.exec(() => new Map([[1, new Set([2])]])), new Map([[1, new Set([2])]]));
  });

  it('function tasks also run on a pool that has a script', async () => {
    const p = track(pool(methods, { maxWorkers: 1 }));
    assert.equal(await p.exec((x) => x - 1, [1]), 0);
    assert.equal(await p.exec('echo', ['still here']), 'still here');
  });

  it('a function that uses a variable of its defining scope fails with ReferenceError in the worker', async () => {
    const p = track(pool({ maxWorkers: 1 }));
    const outer = 5;
    await assert.rejects(p.exec(() => outer + 1), (e) => e instanceof ReferenceError && /outer/.test(e.message));
    assert.equal(await p.exec(() => 'after'), 'after');
  });

  it('a function whose source does not compile rejects that task only', async () => {
    const p = track(pool({ maxWorkers: 1 }));
    // A method shorthand's source ("m() {...}") is not an expression: new Function fails on it.
    const obj = { m() { return 1; } };
    const [bad, good] = await Promise.allSettled([p.exec(obj.m), p.exec(() => 'ok')]);
    assert.equal(bad.status, 'rejected');
    assert.ok(bad.reason instanceof SyntaxError, `${bad.reason}`);
    assert.deepEqual(good, { status: 'fulfilled', value: 'ok' });
  });

  it('each worker compiles a given source once and reuses it', async () => {
    // The compiled function object is cached per worker, so a property set on it survives
    // from one task to the next; a recompiled function would start from 1 every time.
    const p = track(pool({ maxWorkers: 1 }));
    const counter = function count() { count.n = (count.n || 0) + 1; return count.n; };
    const got = [];
    for (let i = 0; i < 5; i++) got.push(await p.exec(counter));
    assert.deepEqual(got, [1, 2, 3, 4, 5]);
    // The same source through another function object is the same cached function.
    const again = function count() { count.n = (count.n || 0) + 1; return count.n; };
    assert.equal(await p.exec(again), 6);
    // Issued all at once (one batch), the source still goes over once and runs in order.
    const burst = await Promise.all(Array.from({ length: 20 }, () => p.exec(counter)));
    assert.deepEqual(burst, Array.from({ length: 20 }, (_, i) => 7 + i));
  });

  it('proxy() exposes sync and async methods', async () => {
    const p = track(pool(methods, { maxWorkers: 1 }));
    const api = await p.proxy();
    for (const n of ['add', 'asyncAdd', 'echo', 'hold']) assert.equal(typeof api[n], 'function', n);
    assert.equal(await api.add(40, 2), 42);
    assert.equal(await api.asyncAdd(1, 2), 3);
    const t = api.echo('x');
    assert.ok(t instanceof Promise);
    assert.equal(typeof t.cancel, 'function');
    assert.equal(await t, 'x');
  });

  it('proxy() of an ESM module lists its exports', async function () {
    this.timeout(8000); // a module that cannot load is given up on well within this
    const p = track(pool(fixture('exports-esm.mjs'), { maxWorkers: 1 }));
    const api = await p.proxy();
    assert.deepEqual(Object.keys(api).sort(), ['default', 'emitAndReturn', 'triple']);
    assert.equal(await api.triple(3), 9);
  });

  it('exec() returns a real Promise with cancel() and timeout(); then() gives plain promises', async () => {
    const p = track(pool(methods, { maxWorkers: 1 }));
    const t = p.exec('echo', [1]);
    assert.ok(t instanceof Promise);
    assert.ok(t instanceof TaskPromise);
    assert.equal(t.timeout(1000), t);
    const chained = t.then((v) => v + 1);
    assert.ok(!(chained instanceof TaskPromise));
    assert.equal(await chained, 2);
    assert.equal(t.cancel(), t, 'cancel() of a settled task is a no-op returning the promise');
    assert.equal(await t, 1);
  });

  it('exec() on a terminated pool rejects with PoolTerminatedError', async () => {
    const p = track(pool(methods, { maxWorkers: 1 }));
    assert.equal(await p.exec('echo', [1]), 1);
    await p.terminate();
    await assert.rejects(p.exec('echo', [2]), (e) => e instanceof PoolTerminatedError && e.code === 'ERR_RINGPOOL_POOL_TERMINATED');
    await p.terminate(); // idempotent
    const s = p.stats();
    assert.equal(s.completedTasks, 1);
    assert.equal(s.failedTasks, 1, 'the refused task counts as failed, like QueueFullError and pre-aborted signals do');
  });

  it('onCreateWorker can override worker options; onTerminateWorker reports exits', async () => {
    const created = [];
    const terminated = [];
    const p = track(pool(methods, {
      maxWorkers: 1,
      // (env replaces the worker's whole environment: keep the parent's, which may name the
      // package under test, RINGPOOL_TEST_ROOT.)
      workerThreadOpts: { env: { ...process.env, FROM: 'base' } },
      onCreateWorker: (info) => {
        created.push(info);
        return { env: { ...process.env, FROM: 'override' } };
      },
      onTerminateWorker: (info) => terminated.push(info),
    }));
    assert.equal(await p.exec(() => process.env.FROM), 'override');
    assert.equal(created.length, 1);
    assert.equal(created[0].script, methods);
    assert.equal(created[0].workerThreadOpts.env.FROM, 'base');
    const tid = await p.exec('threadId');
    await p.terminate();
    assert.equal(terminated.length, 1);
    assert.equal(terminated[0].threadId, tid);
    assert.equal(typeof terminated[0].exitCode, 'number');
  });

  it('workerThreadOpts reach the worker (env, argv, execArgv)', async () => {
    const p = track(pool(methods, { maxWorkers: 1, workerThreadOpts: { env: { ...process.env, RP_TEST: 'yes' }, argv: ['--flag'], execArgv: ['--no-deprecation'] } }));
    assert.deepEqual(
      await p.exec(() => [process.env.RP_TEST, process.argv.includes('--flag'), process.execArgv, process.noDeprecation]),
      ['yes', true, ['--no-deprecation'], true],
    );
  });

  it('holding tasks release through shared memory (fixture sanity check)', async () => {
    const p = track(pool(methods, { maxWorkers: 1 }));
    const i32 = shared(4);
    const t = p.exec('hold', [i32, 0, 1, 'held']);
    await until(i32, 0, 1);
    release(i32, 1);
    assert.equal(await t, 'held');
  });
});
