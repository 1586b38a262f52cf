'use strict';
/* SharedMap in one thread: API, value and key types, a seeded random model test against a
 * plain Map, iteration, growth to maxBytes and the full error, bad input. */
const assert = require('node:assert/strict');
const { rp, seeded, testSeed } = require('./helpers');

const { SharedMap, RingpoolTypeError, RingpoolRangeError, DataCloneError } = rp;

function throwsCode(fn, cls, code) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${err?.constructor?.name}: ${err?.message}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

describe('SharedMap', () => {
  describe('basics', () => {
    it('gets, sets, has, deletes, counts and clears like a Map', () => {
      const m = new SharedMap();
      assert.equal(m.size, 0);
      assert.equal(m.get('a'), undefined);
      assert.equal(m.set('a', 1), m);
      assert.equal(m.get('a'), 1);
      assert.equal(m.has('a'), true);
      assert.equal(m.has('b'), false);
      m.set('a', { x: [1, 2] });
      assert.deepEqual(m.get('a'), { x: [1, 2] });
      assert.equal(m.size, 1);
      assert.equal(m.delete('a'), true);
      assert.equal(m.delete('a'), false);
      assert.equal(m.size, 0);
      m.set('x', 1).set('y', 2);
      m.clear();
      assert.equal(m.size, 0);
      assert.equal(m.get('x'), undefined);
      assert.equal(Object.prototype.toString.call(m), '[object SharedMap]');
    });

    it('keeps string and number keys apart, treats -0 as 0, and refuses NaN', () => {
      const m = new SharedMap();
      m.set(1, 'number');
      m.set('1', 'string');
      m.set(-0, 'zero');
      m.set(1.5, 'float');
      m.set('', 'empty');
      m.set('\ud800', 'lone surrogate');
      m.set('\ufffd', 'replacement char');
      m.set('ключ', 'cyrillic');
      m.set(Infinity, 'inf');
      assert.equal(m.get(1), 'number');
      assert.equal(m.get('1'), 'string');
      assert.equal(m.get(0), 'zero');
      assert.equal(m.get(1.5), 'float');
      assert.equal(m.get(''), 'empty');
      assert.equal(m.get('\ud800'), 'lone surrogate');
      assert.equal(m.get('\ufffd'), 'replacement char');
      assert.equal(m.get('ключ'), 'cyrillic');
      assert.equal(m.get(Infinity), 'inf');
      assert.equal(m.size, 9);
      const keys = [...m.keys()];
      assert.equal(keys.length, 9);
      assert.ok(keys.includes(0) && keys.includes('\ud800') && keys.includes('ключ') && keys.includes(1) && keys.includes('1'));
      throwsCode(() => m.set(NaN, 1), RingpoolRangeError, 'ERR_RINGPOOL_OUT_OF_RANGE');
      throwsCode(() => m.get(NaN), RingpoolRangeError, 'ERR_RINGPOOL_OUT_OF_RANGE');
    });

    it('stores copies of structured-clone values', () => {
      const m = new SharedMap();
      const values = [
        undefined, null, true, 0, -0.5, 2 ** 53, 'str', 'ü'.repeat(100), 10n, -(2n ** 80n),
        [1, [2, [3]]], { a: { b: { c: 1 } } }, new Map([[1, { x: 1 }]]), new Set(['a', 'b']),
        new Date(12345), /re/gi, new Uint16Array([1, 2, 3]), Buffer.from('buf'), new ArrayBuffer(8),
        new Error('boom'), 'x'.repeat(300 * 1024),
      ];
      values.forEach((v, i) => m.set(i, v));
      values.forEach((v, i) => {
        const got = m.get(i);
        if (v instanceof Error) {
          assert.equal(got.message, 'boom');
        } else {
          assert.deepEqual(got, v, `value ${i}`);
        }
      });
      const obj = { n: 1 };
      m.set('o', obj);
      obj.n = 2;
      assert.deepEqual(m.get('o'), { n: 1 }, 'a copy, not a reference');
      assert.notEqual(m.get('o'), m.get('o'));
    });

    it('iterates entries, keys, values and forEach', () => {
      const m = new SharedMap();
      const model = new Map();
      for (let i = 0; i < 500; i++) {
        m.set(`k${i}`, i);
        model.set(`k${i}`, i);
      }
      const entries = new Map([...m]);
      assert.deepEqual(entries, model);
      assert.deepEqual(new Map(m.entries()), model);
      assert.deepEqual(new Set(m.keys()), new Set(model.keys()));
      assert.deepEqual([...m.values()].sort((a, b) => a - b), [...model.values()]);
      let n = 0;
      m.forEach((v, k, self) => {
        assert.equal(self, m);
        assert.equal(model.get(k), v);
        n++;
      });
      assert.equal(n, 500);
    });

    it('iteration survives concurrent changes: keys present throughout are seen exactly once', () => {
      const m = new SharedMap({ initialBytes: 4096 });
      for (let i = 0; i < 300; i++) m.set(`keep${i}`, i);
      const seen = new Map();
      let i = 0;
      for (const k of m.keys()) {
        seen.set(k, (seen.get(k) ?? 0) + 1);
        m.set(`new${i}`, i); // grows the table while iterating
        m.delete(`new${i - 1}`);
        i++;
      }
      for (let j = 0; j < 300; j++) assert.equal(seen.get(`keep${j}`), 1, `keep${j}`);
    });

    it('update() is a read-modify-write; getMany / setMany', () => {
      const m = new SharedMap();
      assert.equal(m.update('c', (v) => (v ?? 0) + 1), 1);
      assert.equal(m.update('c', (v) => v + 10), 11);
      assert.equal(m.get('c'), 11);
      assert.throws(() => m.update('c', () => {
        throw new Error('nope');
      }), /nope/);
      assert.equal(m.get('c'), 11, 'a throwing callback stores nothing');
      throwsCode(() => m.update('c', async () => 1), RingpoolTypeError, 'ERR_RINGPOOL_INVALID_ARG_TYPE');
      assert.equal(m.get('c'), 11);
      throwsCode(() => m.update('c', 5), RingpoolTypeError, 'ERR_RINGPOOL_INVALID_ARG_TYPE');
      // nested write to the same key's stripe from inside the callback does not deadlock
      assert.equal(m.update('c', (v) => {
        m.set('c-side', v);
        return v + 1;
      }), 12);
      assert.equal(m.get('c-side'), 11);
      m.setMany([['a', 1], ['b', { two: 2 }]]);
      assert.deepEqual(m.getMany(['a', 'b', 'zz']), new Map([['a', 1], ['b', { two: 2 }]]));
      assert.throws(() => m.setMany([['p', 1], ['q', () => {}]]), (e) => e.code === 'ERR_RINGPOOL_DATA_CLONE');
      assert.equal(m.has('p'), false, 'setMany is all or nothing');
      throwsCode(() => m.setMany(5), RingpoolTypeError, 'ERR_RINGPOOL_INVALID_ARG_TYPE');
      throwsCode(() => m.setMany([5]), RingpoolTypeError, 'ERR_RINGPOOL_INVALID_ARG_TYPE');
      throwsCode(() => m.getMany(null), RingpoolTypeError, 'ERR_RINGPOOL_INVALID_ARG_TYPE');
    });
  });

  describe('model test', () => {
    it('matches a plain Map over a seeded random sequence of operations', function () {
      const seed = testSeed();
      const r = seeded(seed);
      const m = new SharedMap({ initialBytes: 8192, stripes: 8 });
      const model = new Map();
      const keyOf = () => (r() < 0.5 ? `k${Math.floor(r() * 200)}` : Math.floor(r() * 200) - 50);
      const valueOf = () => {
        const x = r();
        if (x < 0.3) return Math.floor(r() * 1e6);
        if (x < 0.6) return 'v'.repeat(Math.floor(r() * 400));
        if (x < 0.9) return { a: Math.floor(r() * 100), list: Array.from({ length: Math.floor(r() * 10) }, (_, i) => i) };
        return undefined;
      };
      const ops = 6000;
      for (let i = 0; i < ops; i++) {
        const x = r();
        const k = keyOf();
        const at = `op ${i} (seed ${seed})`;
        if (x < 0.4) {
          const v = valueOf();
          m.set(k, v);
          model.set(k, v);
        } else if (x < 0.55) {
          assert.equal(m.delete(k), model.delete(k), at);
        } else if (x < 0.8) {
          assert.deepEqual(m.get(k), model.get(k), at);
          assert.equal(m.has(k), model.has(k), at);
        } else if (x < 0.9) {
          const next = m.update(k, (v) => (typeof v === 'number' ? v + 1 : 1));
          model.set(k, typeof model.get(k) === 'number' ? model.get(k) + 1 : 1);
          assert.equal(next, model.get(k), at);
        } else if (x < 0.995) {
          const batch = Array.from({ length: 5 }, () => [keyOf(), valueOf()]);
          m.setMany(batch);
          for (const [bk, bv] of batch) model.set(bk, bv);
        } else {
          m.clear();
          model.clear();
        }
        assert.equal(m.size, model.size, at);
        if (i % 1000 === 999) assert.deepEqual(new Map(m), model, at);
      }
      assert.deepEqual(new Map(m), model, `final (seed ${seed})`);
      this.test.title += ` [seed ${seed}]`;
    });
  });

  describe('growth and the full error', () => {
    it('get finds entries stored after growth, through the instance that grew and through one attached before', () => {
      // get() reads through a fixed-length view made before the growth (lib/shared/shared-map.ts):
      // entries past its end must be found by measuring again, in every instance.
      const m = new SharedMap({ maxBytes: 8 << 20, initialBytes: 16 * 1024 });
      const early = SharedMap.from(m.handle);
      const first = m.handle.byteLength;
      const value = (i) => `${i}:`.padEnd(1500, 'v');
      let n = 0;
      while (m.handle.byteLength === first || n < 200) m.set(`key-${n}`, value(n++));
      assert.ok(m.handle.byteLength > first, 'the map grew');
      for (let i = n - 1; i >= 0; i--) {
        assert.equal(m.get(`key-${i}`), value(i), `key-${i} through the growing instance`);
        assert.equal(early.get(`key-${i}`), value(i), `key-${i} through the early instance`);
      }
      assert.equal(early.get('absent'), undefined);
    });

    it('grows the buffer up to maxBytes, then throws ERR_RINGPOOL_FULL and changes nothing', () => {
      const m = new SharedMap({ maxBytes: 256 * 1024, initialBytes: 16 * 1024 });
      const start = m.memory.allocated;
      let n = 0;
      let error;
      try {
        for (; n < 100000; n++) m.set(`key-${n}`, 'v'.repeat(200));
      } catch (err) {
        error = err;
      }
      assert.ok(error instanceof RangeError && error instanceof RingpoolRangeError, String(error));
      assert.equal(error.code, 'ERR_RINGPOOL_FULL');
      assert.ok(n > 500, `stored ${n} entries before full`);
      assert.equal(m.size, n, 'the failed set added nothing');
      assert.equal(m.has(`key-${n}`), false);
      assert.ok(m.memory.allocated > start && m.memory.allocated <= 256 * 1024, JSON.stringify(m.memory));
      assert.equal(m.memory.max, 256 * 1024);
      assert.equal(m.get('key-0'), 'v'.repeat(200));
      // replacing with a bigger value fails the same way and keeps the old value
      assert.throws(() => m.set('key-1', 'w'.repeat(20000)), (e) => e.code === 'ERR_RINGPOOL_FULL');
      assert.equal(m.get('key-1'), 'v'.repeat(200));
      // a value larger than maxBytes could ever hold: ERR_RINGPOOL_TOO_LARGE (also a RangeError)
      throwsCode(() => m.set('huge', 'h'.repeat(300 * 1024)), RingpoolRangeError, 'ERR_RINGPOOL_TOO_LARGE');
      assert.equal(m.has('huge'), false);
      // room comes back after deletes
      for (let i = 0; i < 20; i++) m.delete(`key-${i}`);
      m.set('again', 'v'.repeat(200));
      assert.equal(m.get('again'), 'v'.repeat(200));
    });
  });

  describe('corrupt memory', () => {
    it('an entry ref past the end of the buffer is reported, by every operation, instead of spinning', async () => {
      // Every bucket points at an entry beyond the buffer's length (but within maxBytes):
      // the map cannot have grown there, so the native side must not keep measuring again.
      const m = new SharedMap({ maxBytes: 1 << 20, initialBytes: 64 * 1024, stripes: 1 });
      m.set('a', 1);
      const i32 = new Int32Array(m.handle);
      const table = (i32[33] * 8) / 4; // src/map.h block T: table_off (/ 8), table_mask
      const buckets = i32[34] + 1;
      const ref = (m.handle.byteLength + 4096) / 8;
      for (let b = 0; b < buckets; b++) i32[table + b] = ref;
      const corrupt = (fn, what) =>
        assert.throws(fn, (e) => e instanceof TypeError && e.code === 'ERR_RINGPOOL_BAD_LAYOUT' && /past the end/.test(e.message), what);
      corrupt(() => m.get('a'), 'get');
      corrupt(() => m.has('a'), 'has');
      corrupt(() => m.set('b', 2), 'set');
      corrupt(() => m.delete('a'), 'delete');
      corrupt(() => [...m.keys()], 'iteration');
      corrupt(() => SharedMap.from(m.handle).get('a'), 'get through another instance');
      await assert.rejects(
        rp.transaction(() => m.set('c', 3)),
        (e) => e.code === 'ERR_RINGPOOL_BAD_LAYOUT' && /past the end/.test(e.message),
        'transaction commit',
      );
    });
  });

  describe('bad input', () => {
    it('rejects bad options with TypeError / RangeError codes', () => {
      const cases = [
        [() => new SharedMap(5), RingpoolTypeError, 'ERR_RINGPOOL_INVALID_ARG_TYPE'],
        [() => new SharedMap({ maxBytes: 'big' }), RingpoolTypeError, 'ERR_RINGPOOL_INVALID_ARG_TYPE'],
        [() => new SharedMap({ maxBytes: -1 }), RingpoolRangeError, 'ERR_RINGPOOL_OUT_OF_RANGE'],
        [() => new SharedMap({ maxBytes: 1.5 }), RingpoolRangeError, 'ERR_RINGPOOL_OUT_OF_RANGE'],
        [() => new SharedMap({ maxBytes: 2 ** 40 }), RingpoolRangeError, 'ERR_RINGPOOL_OUT_OF_RANGE'],
        [() => new SharedMap({ maxBytes: 1000 }), RingpoolRangeError, 'ERR_RINGPOOL_OUT_OF_RANGE'],
        [() => new SharedMap({ maxBytes: 1 << 20, initialBytes: 1 << 21 }), RingpoolRangeError, 'ERR_RINGPOOL_OUT_OF_RANGE'],
        [() => new SharedMap({ stripes: 3 }), RingpoolRangeError, 'ERR_RINGPOOL_OUT_OF_RANGE'],
        [() => new SharedMap({ stripes: 4096 }), RingpoolRangeError, 'ERR_RINGPOOL_OUT_OF_RANGE'],
        [() => new SharedMap({ stripes: '8' }), RingpoolTypeError, 'ERR_RINGPOOL_INVALID_ARG_TYPE'],
      ];
      for (const [fn, cls, code] of cases) throwsCode(fn, cls, code);
    });

    it('rejects bad keys and values before changing anything', () => {
      const m = new SharedMap();
      m.set('keep', 1);
      for (const key of [undefined, null, {}, [], true, 1n, Symbol('s'), () => {}]) {
        throwsCode(() => m.set(key, 1), RingpoolTypeError, 'ERR_RINGPOOL_INVALID_ARG_TYPE');
        throwsCode(() => m.get(key), RingpoolTypeError, 'ERR_RINGPOOL_INVALID_ARG_TYPE');
        throwsCode(() => m.has(key), RingpoolTypeError, 'ERR_RINGPOOL_INVALID_ARG_TYPE');
        throwsCode(() => m.delete(key), RingpoolTypeError, 'ERR_RINGPOOL_INVALID_ARG_TYPE');
      }
      for (const value of [() => {}, Symbol('x'), { f() {} }, new WeakMap(), Promise.resolve()]) {
        assert.throws(() => m.set('keep', value), (e) => e instanceof DataCloneError && e.code === 'ERR_RINGPOOL_DATA_CLONE');
      }
      const sab = new SharedArrayBuffer(8);
      assert.throws(() => m.set('keep', { sab }), (e) => e instanceof DataCloneError && /SharedArrayBuffer/.test(e.message));
      assert.throws(() => m.set('keep', new Int32Array(sab)), (e) => e.code === 'ERR_RINGPOOL_DATA_CLONE');
      assert.equal(m.get('keep'), 1);
      assert.equal(m.size, 1);
      throwsCode(() => m.set('k'.repeat((1 << 20) + 1), 1), RingpoolRangeError, 'ERR_RINGPOOL_TOO_LARGE');
    });

    it('from() checks its argument', () => {
      throwsCode(() => SharedMap.from(undefined), RingpoolTypeError, 'ERR_RINGPOOL_NOT_SHARED');
      throwsCode(() => SharedMap.from(new ArrayBuffer(8)), RingpoolTypeError, 'ERR_RINGPOOL_INVALID_ARG_TYPE');
      throwsCode(() => SharedMap.from(new SharedArrayBuffer(8)), RingpoolTypeError, 'ERR_RINGPOOL_BAD_LAYOUT');
      const growableJunk = new SharedArrayBuffer(4096, { maxByteLength: 8192 });
      throwsCode(() => SharedMap.from(growableJunk), RingpoolTypeError, 'ERR_RINGPOOL_BAD_LAYOUT');
      const q = new rp.SharedQueue({ capacity: 4 });
      throwsCode(() => SharedMap.from(q.handle), RingpoolTypeError, 'ERR_RINGPOOL_BAD_LAYOUT');
      const m = new SharedMap();
      m.set('a', 1);
      const same = SharedMap.from(m.handle);
      assert.equal(same.get('a'), 1);
      same.set('b', 2);
      assert.equal(m.get('b'), 2);
      assert.equal(m.__ringpool__, 'SharedMap');
      assert.ok(Object.keys(m).includes('handle') && Object.keys(m).includes('__ringpool__'));
    });
  });
});
