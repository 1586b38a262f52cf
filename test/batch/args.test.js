'use strict';
// Bad arguments of execBatch / map / reduce / mapStream / mapRegions, table-driven: each row
// throws synchronously (before any work starts) a TypeError or RangeError with its code, and
// nothing ran: the items count themselves in a shared counter, the pool's task counters do
// not move, and an iterable given as items is not consumed.
const assert = require('node:assert/strict');
const { rp, sharedPool, shared } = require('./support');

const { RingpoolTypeError, RingpoolRangeError } = rp;
const T = 'ERR_RINGPOOL_INVALID_ARG_TYPE';
const R = 'ERR_RINGPOOL_OUT_OF_RANGE';
const NS = 'ERR_RINGPOOL_NOT_SHARED';

// Item bodies that would bump ctl[1] if they ever ran.
const countParams = (ctl) => Atomics.add(ctl, 1, 1);
const countItem = (item) => Atomics.add(item.ctl, 1, 1);
const countReduce = (acc, item) => Atomics.add(item.ctl, 1, 1) + acc;
const countRegion = (g) => Atomics.add(new Int32Array(g.buffer, 0, 2), 1, 1);

describe('batch: argument checking', () => {
  const common = sharedPool();

  // [label, call(p, ctx) -> anything, class, code]
  // ctx: { ctl, params, items, sab, gen } built fresh for each row
  const rows = [
    // execBatch
    ['execBatch: method 42', (p, c) => p.execBatch(42, c.params), RingpoolTypeError, T],
    ['execBatch: method null', (p, c) => p.execBatch(null, c.params), RingpoolTypeError, T],
    ['execBatch: paramsList a string', (p) => p.execBatch(countParams, 'abc'), RingpoolTypeError, T],
    ['execBatch: paramsList undefined', (p) => p.execBatch(countParams), RingpoolTypeError, T],
    ['execBatch: paramsList an array-like object', (p, c) => p.execBatch(countParams, { length: 1, 0: [c.ctl] }), RingpoolTypeError, T],
    ['execBatch: an entry that is not an array', (p, c) => p.execBatch(countParams, [[c.ctl], c.ctl]), RingpoolTypeError, T],
    ['execBatch: options a string', (p, c) => p.execBatch(countParams, c.params, 'fast'), RingpoolTypeError, T],
    ['execBatch: options null', (p, c) => p.execBatch(countParams, c.params, null), RingpoolTypeError, T],
    ['execBatch: chunkSize 0', (p, c) => p.execBatch(countParams, c.params, { chunkSize: 0 }), RingpoolRangeError, R],
    ['execBatch: chunkSize -1', (p, c) => p.execBatch(countParams, c.params, { chunkSize: -1 }), RingpoolRangeError, R],
    ['execBatch: chunkSize 1.5', (p, c) => p.execBatch(countParams, c.params, { chunkSize: 1.5 }), RingpoolRangeError, R],
    ['execBatch: chunkSize NaN', (p, c) => p.execBatch(countParams, c.params, { chunkSize: NaN }), RingpoolRangeError, R],
    ['execBatch: chunkSize Infinity', (p, c) => p.execBatch(countParams, c.params, { chunkSize: Infinity }), RingpoolRangeError, R],
    ['execBatch: chunkSize "4"', (p, c) => p.execBatch(countParams, c.params, { chunkSize: '4' }), RingpoolTypeError, T],
    ['execBatch: concurrency 0', (p, c) => p.execBatch(countParams, c.params, { concurrency: 0 }), RingpoolRangeError, R],
    ['execBatch: concurrency "2"', (p, c) => p.execBatch(countParams, c.params, { concurrency: '2' }), RingpoolTypeError, T],
    ['execBatch: failFast "yes"', (p, c) => p.execBatch(countParams, c.params, { failFast: 'yes' }), RingpoolTypeError, T],
    ['execBatch: onProgress an object', (p, c) => p.execBatch(countParams, c.params, { onProgress: {} }), RingpoolTypeError, T],
    ['execBatch: signal an object', (p, c) => p.execBatch(countParams, c.params, { signal: { aborted: false } }), RingpoolTypeError, T],
    // map
    ['map: items 42', (p) => p.map(42, countItem), RingpoolTypeError, T],
    ['map: items null', (p) => p.map(null, countItem), RingpoolTypeError, T],
    ['map: items undefined', (p) => p.map(undefined, countItem), RingpoolTypeError, T],
    ['map: items a plain object', (p, c) => p.map({ a: c.items[0] }, countItem), RingpoolTypeError, T],
    ['map: items a DataView', (p) => p.map(new DataView(new ArrayBuffer(8)), countItem), RingpoolTypeError, T],
    ['map: fn 42', (p, c) => p.map(c.items, 42), RingpoolTypeError, T],
    ['map: fn missing', (p, c) => p.map(c.items), RingpoolTypeError, T],
    ['map: options 7', (p, c) => p.map(c.items, countItem, 7), RingpoolTypeError, T],
    ['map: chunkSize 0', (p, c) => p.map(c.items, countItem, { chunkSize: 0 }), RingpoolRangeError, R],
    ['map: chunkSize "x"', (p, c) => p.map(c.items, countItem, { chunkSize: 'x' }), RingpoolTypeError, T],
    ['map: concurrency -2', (p, c) => p.map(c.items, countItem, { concurrency: -2 }), RingpoolRangeError, R],
    ['map: onProgress "f"', (p, c) => p.map(c.items, countItem, { onProgress: 'f' }), RingpoolTypeError, T],
    ['map: signal "s"', (p, c) => p.map(c.items, countItem, { signal: 's' }), RingpoolTypeError, T],
    // reduce
    ['reduce: items 42', (p) => p.reduce(42, countReduce, 0), RingpoolTypeError, T],
    ['reduce: fn {}', (p, c) => p.reduce(c.items, {}, 0), RingpoolTypeError, T],
    ['reduce: a method name without combine', (p, c) => p.reduce(c.items, 'sum', 0), RingpoolTypeError, T],
    ['reduce: combine "f"', (p, c) => p.reduce(c.items, countReduce, 0, { combine: 'f' }), RingpoolTypeError, T],
    ['reduce: chunkSize 0', (p, c) => p.reduce(c.items, countReduce, 0, { chunkSize: 0 }), RingpoolRangeError, R],
    ['reduce: options "o"', (p, c) => p.reduce(c.items, countReduce, 0, 'o'), RingpoolTypeError, T],
    ['reduce: signal 1', (p, c) => p.reduce(c.items, countReduce, 0, { signal: 1 }), RingpoolTypeError, T],
    // mapStream (throws at the call, not at the first next())
    ['mapStream: source 42', (p) => p.mapStream(42, countItem), RingpoolTypeError, T],
    ['mapStream: source null', (p) => p.mapStream(null, countItem), RingpoolTypeError, T],
    ['mapStream: fn 42', (p, c) => p.mapStream(c.gen, 42), RingpoolTypeError, T],
    ['mapStream: highWaterMark 0', (p, c) => p.mapStream(c.gen, countItem, { highWaterMark: 0 }), RingpoolRangeError, R],
    ['mapStream: highWaterMark 2.5', (p, c) => p.mapStream(c.gen, countItem, { highWaterMark: 2.5 }), RingpoolRangeError, R],
    ['mapStream: highWaterMark "8"', (p, c) => p.mapStream(c.gen, countItem, { highWaterMark: '8' }), RingpoolTypeError, T],
    ['mapStream: concurrency 0', (p, c) => p.mapStream(c.gen, countItem, { concurrency: 0 }), RingpoolRangeError, R],
    ['mapStream: ordered "no"', (p, c) => p.mapStream(c.gen, countItem, { ordered: 'no' }), RingpoolTypeError, T],
    ['mapStream: signal {}', (p, c) => p.mapStream(c.gen, countItem, { signal: {} }), RingpoolTypeError, T],
    ['mapStream: options 1', (p, c) => p.mapStream(c.gen, countItem, 1), RingpoolTypeError, T],
    // mapRegions
    ['mapRegions: an ArrayBuffer', (p) => p.mapRegions(new ArrayBuffer(64), countRegion), RingpoolTypeError, NS],
    ['mapRegions: a Uint8Array over an ArrayBuffer', (p) => p.mapRegions(new Uint8Array(64), countRegion), RingpoolTypeError, NS],
    ['mapRegions: a number', (p) => p.mapRegions(64, countRegion), RingpoolTypeError, NS],
    ['mapRegions: fn 3', (p, c) => p.mapRegions(c.sab, 3), RingpoolTypeError, T],
    ['mapRegions: regions 0', (p, c) => p.mapRegions(c.sab, countRegion, { regions: 0 }), RingpoolRangeError, R],
    ['mapRegions: regions -1', (p, c) => p.mapRegions(c.sab, countRegion, { regions: -1 }), RingpoolRangeError, R],
    ['mapRegions: regions 1.5', (p, c) => p.mapRegions(c.sab, countRegion, { regions: 1.5 }), RingpoolRangeError, R],
    ['mapRegions: regions "4"', (p, c) => p.mapRegions(c.sab, countRegion, { regions: '4' }), RingpoolTypeError, T],
    ['mapRegions: regions [null]', (p, c) => p.mapRegions(c.sab, countRegion, { regions: [null] }), RingpoolTypeError, T],
    ['mapRegions: regions [{ start: "0", end: 8 }]', (p, c) => p.mapRegions(c.sab, countRegion, { regions: [{ start: '0', end: 8 }] }), RingpoolTypeError, T],
    ['mapRegions: regions [{ start: 8, end: 4 }]', (p, c) => p.mapRegions(c.sab, countRegion, { regions: [{ start: 8, end: 4 }] }), RingpoolRangeError, R],
    ['mapRegions: regions [{ start: -1, end: 4 }]', (p, c) => p.mapRegions(c.sab, countRegion, { regions: [{ start: -1, end: 4 }] }), RingpoolRangeError, R],
    ['mapRegions: regions past the end', (p, c) => p.mapRegions(c.sab, countRegion, { regions: [{ start: 0, end: 8 }, { start: 8, end: 65 }] }), RingpoolRangeError, R],
    ['mapRegions: overlap -1', (p, c) => p.mapRegions(c.sab, countRegion, { overlap: -1 }), RingpoolRangeError, R],
    ['mapRegions: overlap "2"', (p, c) => p.mapRegions(c.sab, countRegion, { overlap: '2' }), RingpoolTypeError, T],
    ['mapRegions: rowBytes 0', (p, c) => p.mapRegions(c.sab, countRegion, { rowBytes: 0 }), RingpoolRangeError, R],
    ['mapRegions: onRegion 1', (p, c) => p.mapRegions(c.sab, countRegion, { onRegion: 1 }), RingpoolTypeError, T],
    ['mapRegions: versions over an ArrayBuffer', (p, c) => p.mapRegions(c.sab, countRegion, { regions: 2, versions: new Int32Array(2) }), RingpoolTypeError, T],
    ['mapRegions: versions a Uint32Array', (p, c) => p.mapRegions(c.sab, countRegion, { regions: 2, versions: new Uint32Array(new SharedArrayBuffer(8)) }), RingpoolTypeError, T],
    ['mapRegions: versions too short', (p, c) => p.mapRegions(c.sab, countRegion, { regions: 3, versions: new Int32Array(new SharedArrayBuffer(8)) }), RingpoolRangeError, R],
    ['mapRegions: signal "s"', (p, c) => p.mapRegions(c.sab, countRegion, { signal: 's' }), RingpoolTypeError, T],
    ['mapRegions: options 3', (p, c) => p.mapRegions(c.sab, countRegion, 3), RingpoolTypeError, T],
  ];

  function context() {
    const ctl = shared(2);
    const sab = new SharedArrayBuffer(64);
    return {
      ctl,
      sab,
      params: [[ctl], [ctl], [ctl]],
      items: [{ ctl }, { ctl }, { ctl }],
      gen: (function* () {
        yield { ctl };
      })(),
      regionCtl: new Int32Array(sab, 0, 2),
    };
  }

  it(`every row throws synchronously with its class and code, and nothing runs (${rows.length} rows)`, async () => {
    const p = common();
    const before = p.stats();
    const failures = [];
    const contexts = [];
    for (const [label, call, Cls, code] of rows) {
      const c = context();
      contexts.push([label, c]);
      let threw = false;
      let result;
      try {
        result = call(p, c);
      } catch (e) {
        threw = true;
        if (!(e instanceof Cls)) failures.push(`${label}: expected ${Cls.name}, got ${e && e.name}: ${e && e.message}`);
        else if (e.code !== code) failures.push(`${label}: expected code ${code}, got ${e.code} (${e.message})`);
        else if (!(e instanceof (Cls === RingpoolTypeError ? TypeError : RangeError))) failures.push(`${label}: not a ${Cls === RingpoolTypeError ? 'TypeError' : 'RangeError'}`);
        else if (typeof e.message !== 'string' || e.message.length === 0) failures.push(`${label}: empty message`);
      }
      if (!threw) {
        if (result && typeof result.catch === 'function') result.catch(() => {});
        failures.push(`${label}: did not throw synchronously (returned ${Object.prototype.toString.call(result)})`);
      }
    }
    // a round trip on each worker, so anything that was submitted would have run by now
    await Promise.all([p.exec('double', [1]), p.exec('double', [2])]);
    const after = p.stats();
    for (const [label, c] of contexts) {
      if (Atomics.load(c.ctl, 1) !== 0) failures.push(`${label}: items ran (${Atomics.load(c.ctl, 1)})`);
      if (Atomics.load(c.regionCtl, 1) !== 0) failures.push(`${label}: regions ran`);
    }
    assert.deepEqual(failures, []);
    assert.equal(after.completedTasks - before.completedTasks, 2, 'tasks ran besides the two probes');
    assert.equal(after.failedTasks, before.failedTasks);
    assert.equal(after.pendingTasks, 0);
  });

  it('a bad argument does not consume an iterable given as items (map / reduce)', () => {
    const p = common();
    let pulled = 0;
    function* gen() {
      for (let i = 0; i < 5; i++) {
        pulled++;
        yield i;
      }
    }
    const cases = [
      ['map, fn 42', () => p.map(gen(), 42)],
      ['map, chunkSize 0', () => p.map(gen(), (x) => x, { chunkSize: 0 })],
      ['map, options 1', () => p.map(gen(), (x) => x, 1)],
      ['reduce, method without combine', () => p.reduce(gen(), 'sum', 0)],
      ['reduce, combine 1', () => p.reduce(gen(), (a, x) => a + x, 0, { combine: 1 })],
    ];
    const consumed = [];
    for (const [label, call] of cases) {
      pulled = 0;
      assert.throws(call, (e) => e instanceof TypeError || e instanceof RangeError);
      if (pulled !== 0) consumed.push(`${label}: ${pulled} items pulled before the throw`);
    }
    assert.deepEqual(consumed, []);
  });

  it('mapStream checks its arguments at the call and does not touch the source', () => {
    const p = common();
    let pulled = 0;
    const src = {
      [Symbol.iterator]() {
        return { next: () => ({ value: pulled++, done: false }) };
      },
    };
    assert.throws(() => p.mapStream(src, (x) => x, { highWaterMark: 0 }), (e) => e.code === R);
    assert.equal(pulled, 0);
  });
});
