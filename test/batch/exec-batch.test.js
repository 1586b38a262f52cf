'use strict';
// execBatch: order, empty / one item, chunk boundaries (checked against the number of tasks
// the pool ran), failures at the first / middle / last index with and without failFast,
// onProgress, concurrency, async functions, named methods and unknown methods.
const assert = require('node:assert/strict');
const { rp, fixture, shared, until, release, untilIdle, usePools, outcome, within, sharedPool, gatedParams, range, STARTED } = require('./support');

const { pool } = rp;
const methods = fixture('batch-methods.js');

function failAt(x, bad) {
  if (x === bad) {
    const e = new RangeError(`item ${x} is invalid`);
    e.code = 'E_BAD_ITEM';
    e.item = x;
    throw e;
  }
  return x * 3;
}

describe('batch: execBatch', () => {
  const track = usePools();
  const newPool = (opts = {}) => track(pool(methods, { minWorkers: 2, maxWorkers: 2, ...opts }));
  const common = sharedPool();

  it('returns results in input order, with successes, no failures and a duration', async () => {
    const p = common();
    const params = range(1000).map((i) => [i, 1000 - i]);
    const r = await p.execBatch((a, b) => a * 2 + b, params, { chunkSize: 7 });
    assert.deepEqual(r.results, range(1000).map((i) => i * 2 + 1000 - i));
    assert.deepEqual(r.successes, r.results);
    assert.deepEqual(r.failures, []);
    assert.equal(typeof r.duration, 'number');
    assert.ok(r.duration >= 0);
  });

  it('the returned promise is a real Promise with cancel()', async () => {
    const p = common();
    const b = p.execBatch((x) => x, [[1]]);
    assert.ok(b instanceof Promise);
    assert.equal(typeof b.cancel, 'function');
    assert.deepEqual((await b).results, [1]);
    b.cancel(); // after completion: a no-op
  });

  it('empty input resolves to empty lists without running a task', async () => {
    const p = common();
    const before = p.stats().completedTasks;
    let calls = 0;
    const r = await p.execBatch((x) => x, [], { onProgress: () => calls++ });
    assert.deepEqual(r.results, []);
    assert.deepEqual(r.successes, []);
    assert.deepEqual(r.failures, []);
    assert.equal(p.stats().completedTasks, before);
    assert.equal(calls, 0);
  });

  it('one item', async () => {
    const p = common();
    const r = await p.execBatch((a, b) => a + b, [[2, 3]]);
    assert.deepEqual(r.results, [5]);
    assert.deepEqual(r.successes, [5]);
  });

  const n = 23;
  for (const chunkSize of [1, 2, n - 1, n, n + 1, 5]) {
    it(`chunkSize ${chunkSize} over ${n} items: ceil(n / chunkSize) tasks, every index right`, async () => {
      const p = common();
      await p.exec((x) => x, [0]); // workers up
      const before = p.stats().completedTasks;
      const params = range(n).map((i) => [i, `s${i}`]);
      const r = await p.execBatch((i, s) => `${s}:${i * i}`, params, { chunkSize });
      assert.deepEqual(r.results, range(n).map((i) => `s${i}:${i * i}`));
      assert.equal(p.stats().completedTasks - before, Math.ceil(n / chunkSize));
    });
  }

  for (const [where, bad] of [['first', 0], ['middle', 11], ['last', 22]]) {
    for (const chunkSize of [1, 4, 23]) {
      it(`collects a failure at the ${where} index (chunkSize ${chunkSize}) and keeps every other result`, async () => {
        const p = common();
        const r = await p.execBatch(failAt, range(n).map((i) => [i, bad]), { chunkSize });
        assert.equal(r.results.length, n);
        assert.equal(r.failures.length, 1);
        assert.equal(r.failures[0].index, bad);
        const e = r.failures[0].error;
        assert.ok(e instanceof Error);
        assert.equal(e.message, `item ${bad} is invalid`);
        assert.equal(r.results[bad], e);
        assert.deepEqual(r.successes, range(n).filter((i) => i !== bad).map((i) => i * 3));
        for (let i = 0; i < n; i++) if (i !== bad) assert.equal(r.results[i], i * 3);
      });

      it(`failFast rejects with the failure at the ${where} index (chunkSize ${chunkSize})`, async () => {
        const p = common();
        const o = await outcome(p.execBatch(failAt, range(n).map((i) => [i, bad]), { chunkSize, failFast: true }));
        assert.equal(o.ok, false);
        assert.equal(o.error.message, `item ${bad} is invalid`);
      });
    }
  }

  it('errors thrown by items keep their class, code and own properties (as exec does)', async () => {
    const p = common();
    const viaExec = await outcome(p.exec(failAt, [1, 1]));
    assert.equal(viaExec.error.code, 'E_BAD_ITEM'); // what exec preserves
    for (const chunkSize of [1, 3]) {
      const r = await p.execBatch(failAt, [[0, 1], [1, 1], [2, 1]], { chunkSize });
      const e = r.failures[0].error;
      assert.equal(r.failures[0].index, 1);
      assert.ok(e instanceof RangeError, `chunkSize ${chunkSize}: got ${e.name}`);
      assert.equal(e.code, 'E_BAD_ITEM', `chunkSize ${chunkSize}: code lost`);
      assert.equal(e.item, 1, `chunkSize ${chunkSize}: own property lost`);
    }
    const named = await p.execBatch('failAt', [[0, 2], [1, 2], [2, 2], [3, 2]], { chunkSize: 4 });
    assert.equal(named.failures[0].index, 2);
    assert.equal(named.failures[0].error.name, 'ValidationError');
    assert.equal(named.failures[0].error.code, 'E_VALIDATION');
    assert.equal(named.failures[0].error.field, 'x');
  });

  it('a non-Error throw arrives as a TaskError holding the value, at its index', async () => {
    const p = common();
    const r = await p.execBatch((x) => {
      if (x === 2) throw 'plain string';
      return x;
    }, [[0], [1], [2], [3]], { chunkSize: 4 });
    assert.equal(r.failures.length, 1);
    assert.equal(r.failures[0].index, 2);
    assert.ok(r.failures[0].error instanceof rp.TaskError);
    assert.equal(r.failures[0].error.value, 'plain string');
  });

  it('several failures in one chunk are all collected at their indexes', async () => {
    const p = common();
    const r = await p.execBatch((x) => {
      if (x % 3 === 0) throw new Error(`bad ${x}`);
      return x;
    }, range(20).map((i) => [i]), { chunkSize: 8 });
    assert.deepEqual(r.failures.map((f) => f.index), [0, 3, 6, 9, 12, 15, 18]);
    for (const f of r.failures) assert.equal(f.error.message, `bad ${f.index}`);
    assert.deepEqual(r.successes, range(20).filter((i) => i % 3 !== 0));
  });

  it('failFast cancels what is queued or running: after the gate opens, no more than the running items ran', async () => {
    // One task per worker at a time: item 0 fails on one worker while the other worker holds
    // item 1 at the gate; the rest waits on the main thread. At most one more item can start
    // between the failure and the cancellation (on the worker that reported it).
    const p = newPool({ concurrentTasksPerWorker: 1 });
    await Promise.all([p.exec((x) => x, [0]), p.exec((x) => x, [1])]);
    const ctl = shared(4);
    const fn = (ctl, i) => {
      if (i === 0) {
        while (Atomics.load(ctl, 1) === 0) Atomics.wait(ctl, 1, 0); // fail once item 1 holds the other worker
        throw new Error('first item fails');
      }
      Atomics.add(ctl, 1, 1);
      Atomics.notify(ctl, 1);
      while (Atomics.load(ctl, 0) === 0) Atomics.wait(ctl, 0, 0);
      return i;
    };
    const o = await within(outcome(p.execBatch(fn, range(40).map((i) => [ctl, i]), { chunkSize: 1, failFast: true })),
      10000, 'failFast did not reject', () => release(ctl));
    assert.equal(o.ok, false);
    assert.equal(o.error.message, 'first item fails');
    release(ctl);
    await untilIdle(p);
    const ran = Atomics.load(ctl, STARTED);
    assert.ok(ran >= 1 && ran <= 2, `${ran} gated items started; after failFast only item 1 (and at most one item that was already dispatched) may run`);
    assert.equal(p.stats().activeTasks, 0);
    // Without failFast every item runs.
    const ctl2 = shared(4);
    release(ctl2);
    Atomics.store(ctl2, 1, 1);
    const all = await p.execBatch(fn, range(40).map((i) => [ctl2, i]), { chunkSize: 1 });
    assert.equal(all.failures.length, 1);
    assert.equal(Atomics.load(ctl2, STARTED), 1 + 39);
  });

  it('a failure is reported (and failFast rejects) while later items of the same worker still run', async () => {
    // One worker; items 0-3 are handed to it together. Item 0 fails at once, items 1-3 wait at
    // the gate. failFast must see item 0's failure even if item 1 is held, i.e. the worker must
    // publish a finished item's result before it goes on with the next one.
    const p = newPool({ minWorkers: 1, maxWorkers: 1, concurrentTasksPerWorker: 4 });
    await p.exec((x) => x, [0]);
    const ctl = shared(4);
    const fn = (ctl, i) => {
      if (i === 0) throw new Error('first item fails');
      Atomics.add(ctl, 1, 1);
      Atomics.notify(ctl, 1);
      while (Atomics.load(ctl, 0) === 0) Atomics.wait(ctl, 0, 0);
      return i;
    };
    const settled = outcome(p.execBatch(fn, range(4).map((i) => [ctl, i]), { chunkSize: 1, failFast: true }));
    const o = await within(settled, 5000,
      "failFast did not reject while the next item was held at the gate: item 0's failure stayed in the worker until the items after it finished",
      () => release(ctl));
    assert.equal(o.ok, false);
    assert.equal(o.error.message, 'first item fails');
    release(ctl);
    await untilIdle(p);
    // the worker may have started the item after item 0 before the cancel reached it (it then
    // held the worker, so nothing else could start); everything else was cancelled
    assert.ok(Atomics.load(ctl, STARTED) <= 1, `${Atomics.load(ctl, STARTED)} gated items ran after failFast`);
  });

  it('onProgress is monotonic, counts items and ends at total', async () => {
    const p = common();
    for (const chunkSize of [1, 3, 50, 100]) {
      const seen = [];
      await p.execBatch((x) => x, range(50).map((i) => [i]), {
        chunkSize,
        onProgress: (done, total) => seen.push([done, total]),
      });
      assert.equal(seen.length, Math.ceil(50 / chunkSize));
      for (let k = 0; k < seen.length; k++) {
        assert.equal(seen[k][1], 50);
        if (k > 0) assert.ok(seen[k][0] > seen[k - 1][0], `not increasing: ${JSON.stringify(seen)}`);
      }
      assert.equal(seen[seen.length - 1][0], 50);
    }
  });

  it('onProgress counts failed items too', async () => {
    const p = common();
    const seen = [];
    await p.execBatch(failAt, range(10).map((i) => [i, 4]), { chunkSize: 2, onProgress: (d) => seen.push(d) });
    assert.equal(seen[seen.length - 1], 10);
  });

  it('concurrency caps the chunks of the call in flight at once', async () => {
    // Every item records how many items run at that moment; items of one chunk run one after
    // the other in their worker, so that count is the number of chunks running.
    const p = common();
    const body = (ctl, i) => {
      const now = Atomics.add(ctl, 0, 1) + 1;
      for (let m = Atomics.load(ctl, 1); now > m; m = Atomics.load(ctl, 1)) Atomics.compareExchange(ctl, 1, m, now);
      let x = 0;
      for (let k = 0; k < 20000; k++) x += k; // widen the window in which chunks overlap
      Atomics.sub(ctl, 0, 1);
      return i + (x & 0);
    };
    const ctl = shared(2);
    const r = await p.execBatch(body, range(200).map((i) => [ctl, i]), { chunkSize: 2, concurrency: 1 });
    assert.deepEqual(r.results, range(200));
    assert.equal(Atomics.load(ctl, 1), 1);
  });

  it('runs async functions and keeps their order', async () => {
    const p = common();
    const r = await p.execBatch(async (x) => {
      await new Promise((resolve) => setImmediate(resolve));
      if (x === 5) throw new Error('async 5');
      return -x;
    }, range(12).map((i) => [i]), { chunkSize: 4 });
    assert.deepEqual(r.failures.map((f) => [f.index, f.error.message]), [[5, 'async 5']]);
    assert.deepEqual(r.successes, range(12).filter((i) => i !== 5).map((i) => -i));
  });

  it('runs named methods of the worker script', async () => {
    const p = common();
    const r = await p.execBatch('add', range(100).map((i) => [i, 1]), { chunkSize: 9 });
    assert.deepEqual(r.results, range(100).map((i) => i + 1));
    const a = await p.execBatch('slowDouble', [[1], [2], [3]]);
    assert.deepEqual(a.results, [2, 4, 6]);
  });

  it('an unknown method fails every item with ERR_RINGPOOL_UNKNOWN_METHOD (or rejects with failFast)', async () => {
    const p = common();
    const r = await p.execBatch('nope', [[1], [2], [3]], { chunkSize: 2 });
    assert.equal(r.failures.length, 3);
    assert.deepEqual(r.failures.map((f) => f.index), [0, 1, 2]);
    for (const f of r.failures) assert.equal(f.error.code, 'ERR_RINGPOOL_UNKNOWN_METHOD');
    const o = await outcome(p.execBatch('nope', [[1]], { failFast: true }));
    assert.equal(o.error.code, 'ERR_RINGPOOL_UNKNOWN_METHOD');
  });

  it('gated items all run and release cleanly when nobody cancels', async () => {
    const p = common();
    const ctl = shared(4);
    const b = p.execBatch(gatedParams, range(6).map((i) => [ctl, i]), { chunkSize: 1 });
    await until(ctl, STARTED, 1);
    release(ctl);
    const r = await b;
    assert.deepEqual(r.results, range(6).map((i) => i * 10));
  });
});
