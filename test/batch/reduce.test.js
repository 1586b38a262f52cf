'use strict';
// reduce: chunk-wise in the workers from `initial`, chunk results combined on the main thread
// in index order. A non-commutative combine (string concatenation) must give the sequential
// result for every chunk size; typed arrays over a SharedArrayBuffer are read in place.
const assert = require('node:assert/strict');
const { rp, sharedPool, shared, until, release, outcome, range, STARTED } = require('./support');

const { RingpoolTypeError } = rp;

const concat = (acc, x) => acc + String(x);

describe('batch: reduce', () => {
  const common = sharedPool();

  const n = 37;
  const items = range(n).map((i) => String.fromCharCode(97 + (i % 26)) + i);
  const sequential = items.reduce(concat, '');

  for (const chunkSize of [1, 2, 5, n - 1, n, n + 1, 10]) {
    it(`string concatenation equals the sequential result (chunkSize ${chunkSize}, default combine)`, async () => {
      const p = common();
      const before = p.stats().completedTasks;
      assert.equal(await p.reduce(items, concat, '', { chunkSize }), sequential);
      assert.equal(p.stats().completedTasks - before, Math.ceil(n / chunkSize));
    });
  }

  it('a separate non-commutative combine runs on the main thread, in index order', async () => {
    const p = common();
    const calls = [];
    const combine = (a, b) => {
      calls.push([a, b]);
      return `${a}|${b}`;
    };
    const r = await p.reduce(range(10), (acc, x) => acc + x, '', { chunkSize: 3, combine });
    assert.equal(r, '012|345|678|9');
    assert.deepEqual(calls, [['012', '345'], ['012|345', '678'], ['012|345|678', '9']]);
  });

  it('every chunk starts from initial; the index argument is the item index', async () => {
    const p = common();
    const r = await p.reduce(range(7), (acc, x, i) => [...acc, `${x}:${i}`], ['init'], { chunkSize: 3, combine: (a, b) => a.concat(b) });
    assert.deepEqual(r, ['init', '0:0', '1:1', '2:2', 'init', '3:3', '4:4', '5:5', 'init', '6:6']);
  });

  it('empty input resolves to initial without running a task; one item', async () => {
    const p = common();
    const before = p.stats().completedTasks;
    const initial = { x: 1 };
    assert.equal(await p.reduce([], (a) => a, initial), initial);
    assert.equal(p.stats().completedTasks, before);
    assert.equal(await p.reduce([5], (a, x) => a + x, 10), 15);
  });

  it('named method with a combine; a named method without combine is a TypeError before any work', async () => {
    const p = common();
    assert.equal(await p.reduce(items, 'concat', '', { chunkSize: 4, combine: (a, b) => a + b }), sequential);
    assert.equal(await p.reduce(range(1000), 'sum', 0, { combine: (a, b) => a + b }), 499500);
    assert.throws(() => p.reduce(items, 'concat', ''), (e) => e instanceof RingpoolTypeError && e.code === 'ERR_RINGPOOL_INVALID_ARG_TYPE');
  });

  it('sum over a Float64Array on a SharedArrayBuffer (and over a subarray of it)', async () => {
    const p = common();
    const f64 = new Float64Array(new SharedArrayBuffer(8 * 100000));
    for (let i = 0; i < f64.length; i++) f64[i] = i % 1000;
    let seq = 0;
    for (let i = 0; i < f64.length; i++) seq += f64[i];
    assert.equal(await p.reduce(f64, (a, x) => a + x, 0), seq);
    const sub = f64.subarray(500, 2500);
    let seqSub = 0;
    for (let i = 0; i < sub.length; i++) seqSub += sub[i];
    assert.equal(await p.reduce(sub, (a, x) => a + x, 0, { chunkSize: 300 }), seqSub);
  });

  it('a typed array over a SharedArrayBuffer is not copied: the worker reads items written after the chunk was sent', async () => {
    // The accumulator carries a gate (a view over another SAB, shared by postMessage). At the
    // first item the worker waits at the gate; meanwhile the main thread rewrites items 1 and
    // 3. A copy of the items taken when the chunk was sent would still hold the old values.
    const p = common();
    const ctl = shared(4);
    const data = new Int32Array(new SharedArrayBuffer(4 * 4));
    data.set([10, 20, 30, 40]);
    const reducer = (acc, x, i) => {
      if (i === 0) {
        Atomics.add(acc.ctl, 1, 1);
        Atomics.notify(acc.ctl, 1);
        while (Atomics.load(acc.ctl, 0) === 0) Atomics.wait(acc.ctl, 0, 0);
      }
      acc.seen.push(x);
      return acc;
    };
    const r = p.reduce(data, reducer, { ctl, seen: [] }, { chunkSize: 4, combine: (a, b) => ({ ctl: a.ctl, seen: a.seen.concat(b.seen) }) });
    await until(ctl, STARTED, 1, 'the chunk to start');
    data[1] = 999;
    data[3] = -7;
    release(ctl);
    const out = await r;
    assert.deepEqual(out.seen, [10, 999, 30, -7]);
    Atomics.store(out.ctl, 3, 5); // the gate came back shared too
    assert.equal(Atomics.load(ctl, 3), 5);
  });

  it('async reducer: awaited item by item, same result as sequential', async () => {
    const p = common();
    const r = await p.reduce(items, async (acc, x) => {
      await null;
      return acc + x;
    }, '', { chunkSize: 6, combine: (a, b) => a + b });
    assert.equal(r, sequential);
  });

  it('a reducer that throws rejects with that error, attributed to the failing item index', async () => {
    const p = common();
    const bad = (acc, x) => {
      if (x === 13) throw new Error(`cannot add ${x}`);
      return acc + x;
    };
    for (const chunkSize of [1, 4, 13, 14, 40]) {
      const o = await outcome(p.reduce(range(n), bad, 0, { chunkSize }));
      assert.equal(o.ok, false);
      assert.equal(o.error.message, 'cannot add 13');
      assert.equal(o.error.index, 13, `chunkSize ${chunkSize}: index ${o.error.index} is the start of the chunk, not the failing item`);
    }
  });

  it('a combine that throws rejects with its error', async () => {
    const p = common();
    const boom = new Error('combine failed');
    const o = await outcome(p.reduce(range(10), (a, x) => a + x, 0, { chunkSize: 2, combine: () => { throw boom; } }));
    assert.equal(o.error, boom);
  });
});
