'use strict';
/* SharedArray and SharedRecord: behaviour against a plain array on a seeded random sequence,
 * concurrent pushes from workers, atomic record updates seen as consistent snapshots,
 * travel, watchIndex / watch, bad input. */
const assert = require('node:assert/strict');
const { rp, root, runJob, startJob, seeded, testSeed } = require('./helpers');

const { SharedArray, SharedRecord, SharedMap, pool } = rp;

describe('SharedArray', function () {
  this.timeout(20000);

  it('matches a plain array over a seeded random sequence of operations', function () {
    const seed = testSeed();
    const r = seeded(seed);
    const a = new SharedArray();
    const model = [];
    for (let i = 0; i < 1500; i++) {
      const x = r();
      const at = `op ${i} (seed ${seed})`;
      if (x < 0.3) {
        const items = Array.from({ length: 1 + Math.floor(r() * 3) }, () => Math.floor(r() * 1000));
        assert.equal(a.push(...items), model.push(...items), at);
      } else if (x < 0.45) {
        assert.deepEqual(a.pop(), model.pop(), at);
      } else if (x < 0.6) {
        const idx = Math.floor(r() * (model.length + 2));
        assert.deepEqual(a.get(idx), model[idx], at);
      } else if (x < 0.7) {
        const idx = Math.floor(r() * (model.length + 3));
        const v = { v: i };
        a.set(idx, v);
        model[idx] = v;
        for (let j = 0; j < model.length; j++) if (!(j in model)) model[j] = undefined;
      } else if (x < 0.85) {
        const start = Math.floor(r() * (model.length + 1)) - 1;
        const del = Math.floor(r() * 3);
        const ins = Array.from({ length: Math.floor(r() * 3) }, () => 'ins');
        assert.deepEqual(a.splice(start, del, ...ins), model.splice(start, del, ...ins), at);
      } else {
        const s = Math.floor(r() * 5) - 2;
        const e = Math.floor(r() * 8) - 2;
        assert.deepEqual(a.slice(s, e), model.slice(s, e), at);
      }
      assert.equal(a.length, model.length, at);
    }
    assert.deepEqual(a.toArray(), model);
    assert.deepEqual([...a], model);
    a.clear();
    assert.equal(a.length, 0);
    this.test.title += ` [seed ${seed}]`;
  });

  it('4 workers pushing at once: every item lands exactly once, in per-worker order', async () => {
    const a = new SharedArray();
    const n = 300;
    await Promise.all(Array.from({ length: 4 }, (_, id) => runJob('pushMany', { array: a, id, n })));
    assert.equal(a.length, 4 * n);
    const items = a.toArray();
    const last = new Map();
    for (const { id, i } of items) {
      assert.equal(i, (last.get(id) ?? -1) + 1);
      last.set(id, i);
    }
  });

  it('travels through the pool; watchIndex sees changes', async () => {
    const a = new SharedArray();
    a.push('x');
    const p = pool({ maxWorkers: 1 });
    try {
      const len = await p.exec((arr, rootPath) => {
        const { SharedArray: SA } = require(rootPath);
        if (!(arr instanceof SA)) throw new Error('not revived');
        return arr.push('from worker');
      }, [a, root]);
      assert.equal(len, 2);
      assert.deepEqual(a.toArray(), ['x', 'from worker']);
    } finally {
      await p.terminate();
    }
    const it = a.watchIndex(0);
    a.set(0, 'y');
    const e = (await it.next()).value;
    assert.deepEqual([e.key, e.oldValue, e.newValue], [0, 'x', 'y']);
    await it.return();
    assert.equal(SharedArray.from(a.handle).get(1), 'from worker');
  });

  it('rejects bad input', () => {
    const a = new SharedArray();
    for (const bad of ['1', null, {}]) assert.throws(() => a.get(bad), (e) => e.code === 'ERR_RINGPOOL_INVALID_ARG_TYPE');
    for (const bad of [-1, 1.5, NaN, Infinity]) assert.throws(() => a.set(bad, 1), (e) => e.code === 'ERR_RINGPOOL_OUT_OF_RANGE');
    assert.throws(() => a.push(() => {}), (e) => e.code === 'ERR_RINGPOOL_DATA_CLONE');
    assert.equal(a.length, 0);
    assert.throws(() => SharedArray.from(new SharedMap().handle), (e) => e.code === 'ERR_RINGPOOL_BAD_LAYOUT');
    assert.throws(() => SharedArray.from(new SharedRecord({}).handle), (e) => e.code === 'ERR_RINGPOOL_BAD_LAYOUT');
  });
});

describe('SharedRecord', function () {
  this.timeout(20000);

  it('holds fields; update() is atomic; toObject() is a consistent snapshot', async () => {
    const rec = new SharedRecord({ a: 0, b: 0, name: 'r' });
    assert.deepEqual(rec.toObject(), { a: 0, b: 0, name: 'r' });
    assert.equal(rec.get('name'), 'r');
    rec.set('name', 'renamed');
    assert.equal(rec.has('name'), true);
    assert.deepEqual(rec.keys().sort(), ['a', 'b', 'name']);
    const writer = startJob('recordWriter', { record: rec, n: 3000 });
    let snapshots = 0;
    for (;;) {
      const o = rec.toObject();
      assert.equal(o.a + o.b, 0, `torn snapshot ${JSON.stringify(o)}`);
      snapshots++;
      if (o.a === 3000) break;
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(await writer.result, 3000);
    assert.ok(snapshots > 0);
    assert.throws(() => rec.update({ a: 1, b: () => {} }), (e) => e.code === 'ERR_RINGPOOL_DATA_CLONE');
    assert.equal(rec.get('a'), 3000, 'a failed update writes nothing');
    assert.equal(rec.delete('name'), true);
    assert.equal(rec.get('name'), undefined);
    const same = SharedRecord.from(rec.handle);
    assert.equal(same.get('a'), 3000);
  });

  it('watch(field) and bad input', async () => {
    const rec = new SharedRecord({ status: 'idle' });
    const it = rec.watch('status');
    rec.set('status', 'busy');
    const e = (await it.next()).value;
    assert.deepEqual([e.key, e.oldValue, e.newValue], ['status', 'idle', 'busy']);
    await it.return();
    assert.throws(() => new SharedRecord(5), (e2) => e2.code === 'ERR_RINGPOOL_INVALID_ARG_TYPE');
    assert.throws(() => new SharedRecord([1]), (e2) => e2.code === 'ERR_RINGPOOL_INVALID_ARG_TYPE');
    assert.throws(() => new SharedRecord({ f() {} }), (e2) => e2.code === 'ERR_RINGPOOL_DATA_CLONE');
    assert.throws(() => rec.get(1), (e2) => e2.code === 'ERR_RINGPOOL_INVALID_ARG_TYPE');
    assert.throws(() => rec.update(null), (e2) => e2.code === 'ERR_RINGPOOL_INVALID_ARG_TYPE');
    assert.throws(() => SharedRecord.from(new SharedArray().handle), (e2) => e2.code === 'ERR_RINGPOOL_BAD_LAYOUT');
  });
});
