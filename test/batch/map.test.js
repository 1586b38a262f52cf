'use strict';
// map: order, empty / one item, chunk boundaries, every kind of items (arrays, iterables,
// typed arrays, typed arrays over a SharedArrayBuffer), failures attributed to the right
// index, onProgress, async functions, named methods.
const assert = require('node:assert/strict');
const { rp, fixture, sharedPool, usePools, outcome, within, range } = require('./support');

const { TaskError, pool } = rp;

function failAt(x) {
  if (x < 0) {
    const e = new RangeError(`item ${x} is invalid`);
    e.code = 'E_BAD_ITEM';
    e.item = x;
    throw e;
  }
  return x * 2;
}

describe('batch: map', () => {
  const common = sharedPool();
  const track = usePools();

  it('keeps input order (10,000 items, default chunking)', async () => {
    const p = common();
    const items = range(10000);
    const out = await p.map(items, (x) => x * 2);
    assert.deepEqual(out, items.map((x) => x * 2));
  });

  it('passes (item, index) and runs in the workers', async () => {
    const p = common();
    const out = await p.map(['a', 'b', 'c', 'd', 'e'], 'where', { chunkSize: 2 });
    assert.deepEqual(out, [['a', 0, true], ['b', 1, true], ['c', 2, true], ['d', 3, true], ['e', 4, true]]);
  });

  it('returns a Promise with cancel()', async () => {
    const p = common();
    const m = p.map([1], (x) => x);
    assert.ok(m instanceof Promise);
    assert.equal(typeof m.cancel, 'function');
    assert.deepEqual(await m, [1]);
  });

  it('empty input: [] without running a task (array, iterable, typed array)', async () => {
    const p = common();
    const before = p.stats().completedTasks;
    assert.deepEqual(await p.map([], (x) => x), []);
    assert.deepEqual(await p.map(new Set(), (x) => x), []);
    assert.deepEqual(await p.map(new Float64Array(0), (x) => x), []);
    assert.deepEqual(await p.map(new Float64Array(new SharedArrayBuffer(0)), (x) => x), []);
    assert.equal(p.stats().completedTasks, before);
  });

  it('one item', async () => {
    const p = common();
    assert.deepEqual(await p.map([21], (x) => x * 2), [42]);
    assert.deepEqual(await p.map(new Int32Array(new SharedArrayBuffer(4)).fill(4), (x, i) => [x, i]), [[4, 0]]);
  });

  const n = 29;
  for (const chunkSize of [1, 2, n - 1, n, n + 1, 4]) {
    it(`chunkSize ${chunkSize} over ${n} items: ceil(n / chunkSize) tasks, indexes right (array and SAB typed array)`, async () => {
      const p = common();
      let before = p.stats().completedTasks;
      const out = await p.map(range(n).map((i) => `v${i}`), (s, i) => `${s}@${i}`, { chunkSize });
      assert.deepEqual(out, range(n).map((i) => `v${i}@${i}`));
      assert.equal(p.stats().completedTasks - before, Math.ceil(n / chunkSize));
      const f64 = new Float64Array(new SharedArrayBuffer(8 * n));
      for (let i = 0; i < n; i++) f64[i] = i + 0.25;
      before = p.stats().completedTasks;
      const out2 = await p.map(f64, (x, i) => x * 4 + i, { chunkSize });
      assert.deepEqual(out2, range(n).map((i) => (i + 0.25) * 4 + i));
      assert.equal(p.stats().completedTasks - before, Math.ceil(n / chunkSize));
    });
  }

  it('accepts any iterable: Set, Map keys, a generator', async () => {
    const p = common();
    assert.deepEqual(await p.map(new Set([3, 1, 2]), (x) => x * 10, { chunkSize: 2 }), [30, 10, 20]);
    assert.deepEqual(await p.map(new Map([['a', 1], ['b', 2]]).keys(), (k) => k.toUpperCase()), ['A', 'B']);
    function* gen() {
      for (let i = 0; i < 50; i++) yield i * i;
    }
    assert.deepEqual(await p.map(gen(), (x) => x + 1, { chunkSize: 7 }), range(50).map((i) => i * i + 1));
  });

  it('typed array (not shared): copied per chunk, results ordered', async () => {
    const p = common();
    const u16 = new Uint16Array(1000);
    for (let i = 0; i < u16.length; i++) u16[i] = (i * 7) & 0xffff;
    const out = await p.map(u16, (x, i) => x + i, { chunkSize: 64 });
    assert.deepEqual(out, Array.from(u16, (x, i) => x + i));
    const big = new BigInt64Array([1n, -2n, 3n]);
    assert.deepEqual(await p.map(big, (x) => x * 2n, { chunkSize: 2 }), [2n, -4n, 6n]);
  });

  it('typed array over a SharedArrayBuffer, with an offset (subarray): indexes relative to the view', async () => {
    const p = common();
    const all = new Float64Array(new SharedArrayBuffer(8 * 10000));
    for (let i = 0; i < all.length; i++) all[i] = Math.sin(i);
    const view = all.subarray(1234, 1234 + 5000);
    const out = await p.map(view, (x, i) => [x * 2, i], { chunkSize: 333 });
    assert.equal(out.length, 5000);
    for (let i = 0; i < 5000; i++) {
      assert.equal(out[i][0], Math.sin(1234 + i) * 2);
      assert.equal(out[i][1], i);
    }
    // the input was not modified or detached
    assert.equal(view.length, 5000);
    assert.equal(all[1234], Math.sin(1234));
  });

  for (const [where, bad] of [['first', 0], ['middle', 14], ['last', 28]]) {
    for (const chunkSize of [1, 5, 29, 30]) {
      it(`rejects with the error of the item at the ${where} index (chunkSize ${chunkSize}), index attached non-enumerable`, async () => {
        const p = common();
        const items = range(n).map((i) => (i === bad ? -1 - i : i));
        const o = await outcome(p.map(items, failAt, { chunkSize }));
        assert.equal(o.ok, false);
        const e = o.error;
        assert.ok(e instanceof Error);
        assert.equal(e.message, `item ${-1 - bad} is invalid`);
        assert.equal(e.index, bad);
        assert.equal(Object.prototype.propertyIsEnumerable.call(e, 'index'), false);
        assert.ok(!Object.keys(e).includes('index'));
      });
    }
  }

  it('with several failures in one chunk, the lowest index of the chunk is reported', async () => {
    const p = common();
    const o = await outcome(p.map([0, 1, -2, 3, -4, -5], failAt, { chunkSize: 6 }));
    assert.equal(o.error.index, 2);
    assert.equal(o.error.message, 'item -2 is invalid');
  });

  it("the rejection is the item's own error: class, code and own properties kept (as exec does)", async () => {
    const p = common();
    const viaExec = await outcome(p.exec(failAt, [-5]));
    assert.equal(viaExec.error.code, 'E_BAD_ITEM');
    for (const chunkSize of [1, 4]) {
      const o = await outcome(p.map([1, 2, -5, 4], failAt, { chunkSize }));
      assert.equal(o.error.index, 2);
      assert.ok(o.error instanceof RangeError, `chunkSize ${chunkSize}: got ${o.error.name}`);
      assert.equal(o.error.code, 'E_BAD_ITEM', `chunkSize ${chunkSize}: code lost`);
      assert.equal(o.error.item, -5, `chunkSize ${chunkSize}: own property lost`);
    }
    const named = await outcome(p.map([{ x: 1, bad: 2 }, { x: 2, bad: 2 }], 'failItem', { chunkSize: 2 }));
    assert.equal(named.error.index, 1);
    assert.equal(named.error.name, 'ValidationError');
    assert.equal(named.error.code, 'E_VALIDATION');
    assert.equal(named.error.field, 'x');
  });

  it('a non-Error throw rejects with a TaskError holding the value and the index', async () => {
    const p = common();
    const o = await outcome(p.map([1, 2, 3], (x) => {
      if (x === 3) throw 42;
      return x;
    }, { chunkSize: 2 }));
    assert.ok(o.error instanceof TaskError);
    assert.equal(o.error.value, 42);
    assert.equal(o.error.index, 2);
  });

  it('async functions: results in order, a rejection attributed to its index', async () => {
    const p = common();
    const fn = async (x) => {
      for (let k = 0; k < (x % 3); k++) await null; // finish out of order within a chunk
      if (x === 17) throw new Error('seventeen');
      return x * 3;
    };
    assert.deepEqual(await p.map(range(17), fn, { chunkSize: 5 }), range(17).map((x) => x * 3));
    const o = await outcome(p.map(range(30), fn, { chunkSize: 5 }));
    assert.equal(o.error.message, 'seventeen');
    assert.equal(o.error.index, 17);
    assert.deepEqual(await p.map([1, 2, 3], 'slowDouble'), [2, 4, 6]);
  });

  it('named methods; an unknown method rejects with ERR_RINGPOOL_UNKNOWN_METHOD', async () => {
    const p = common();
    assert.deepEqual(await p.map(range(100), 'double', { chunkSize: 8 }), range(100).map((x) => x * 2));
    const o = await outcome(p.map([1, 2], 'nope'));
    assert.equal(o.error.code, 'ERR_RINGPOOL_UNKNOWN_METHOD');
  });

  it('onProgress is monotonic, counts items and ends at total', async () => {
    const p = common();
    for (const chunkSize of [1, 7, 100, 101]) {
      const seen = [];
      await p.map(range(100), (x) => x, { chunkSize, onProgress: (d, t) => seen.push([d, t]) });
      assert.equal(seen.length, Math.ceil(100 / chunkSize));
      for (let k = 0; k < seen.length; k++) {
        assert.equal(seen[k][1], 100);
        if (k > 0) assert.ok(seen[k][0] > seen[k - 1][0]);
      }
      assert.equal(seen[seen.length - 1][0], 100);
    }
  });

  it('an onProgress that throws rejects the map with its error', async () => {
    const p = common();
    const boom = new Error('progress handler failed');
    const o = await outcome(p.map(range(10), (x) => x, { chunkSize: 2, onProgress: () => { throw boom; } }));
    assert.equal(o.error, boom);
  });

  it('chunks are spread over the workers: 2 chunks on 2 workers run at the same time', async () => {
    // Each item waits at a barrier until both have started, which needs two workers at once.
    // Items holding a shared view travel as tiny port-path records (as chunks of a typed array
    // over a SharedArrayBuffer do); a dispatch that fills the first worker up to its queue
    // depth gives it both chunks.
    const p = track(pool(fixture('batch-methods.js'), { minWorkers: 2, maxWorkers: 2 }));
    await Promise.all([p.exec('double', [1]), p.exec('double', [2])]);
    const ctl = new Int32Array(new SharedArrayBuffer(16));
    const run = p.map([{ ctl, i: 0 }, { ctl, i: 1 }], (item) => {
      const c = item.ctl;
      Atomics.add(c, 1, 1);
      Atomics.notify(c, 1);
      for (let v = Atomics.load(c, 1); v < 2; v = Atomics.load(c, 1)) Atomics.wait(c, 1, v);
      return item.i;
    }, { chunkSize: 1 });
    const out = await within(run, 5000, 'the two chunks never ran at the same time: both went to one worker', () => {
      Atomics.store(ctl, 1, 2);
      Atomics.notify(ctl, 1);
    });
    assert.deepEqual(out, [0, 1]);
  });

  it('concurrency: 1 runs one chunk at a time', async () => {
    const p = common();
    const ctl = new Int32Array(new SharedArrayBuffer(8));
    const body = (item) => {
      const c = item.ctl;
      const now = Atomics.add(c, 0, 1) + 1;
      for (let m = Atomics.load(c, 1); now > m; m = Atomics.load(c, 1)) Atomics.compareExchange(c, 1, m, now);
      let x = 0;
      for (let k = 0; k < 20000; k++) x += k;
      Atomics.sub(c, 0, 1);
      return item.i + (x & 0);
    };
    const out = await p.map(range(100).map((i) => ({ ctl, i })), body, { chunkSize: 3, concurrency: 1 });
    assert.deepEqual(out, range(100));
    assert.equal(Atomics.load(ctl, 1), 1);
  });
});
