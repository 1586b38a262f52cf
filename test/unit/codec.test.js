'use strict';
// Unit tests of the value codec (lib/codec). Runs against the compiled output in dist/;
// RINGPOOL_DIST=<dir> points them at another tsc outDir (e.g. a build of lib/codec alone).
const assert = require('node:assert/strict');
const path = require('node:path');
const fs = require('node:fs');
const v8 = require('node:v8');
const { Worker } = require('node:worker_threads');

const DIST = process.env.RINGPOOL_DIST ? path.resolve(process.env.RINGPOOL_DIST) : path.resolve(__dirname, '../../dist');
const CODEC = path.join(DIST, 'codec/index.js');
const { Encoder, Decoder, encodeError, decodeError, DataCloneError, NeedsPortError } = require(CODEC);
const { RingpoolError } = require(path.join(DIST, 'errors.js'));

const enc = new Encoder();
const dec = new Decoder();

function roundTrip(v) {
  enc.reset();
  enc.writeValue(v);
  dec.reset(enc.bytes());
  const out = dec.readValue();
  assert.equal(dec.remaining, 0, 'the whole record is consumed');
  return out;
}

/** Round trip, then the record again from an odd offset inside shared memory. */
function roundTripShared(v) {
  enc.reset();
  enc.writeValue(v);
  const sab = new SharedArrayBuffer(enc.length + 8);
  const mem = new Uint8Array(sab);
  mem.set(enc.bytes(), 3);
  dec.reset(mem, 3, 3 + enc.length);
  const out = dec.readValue();
  mem.fill(0xee); // decoded values must not alias the channel memory
  return out;
}

class Point {
  constructor(x, y) {
    this.x = x;
    this.y = y;
  }
  get len() {
    return Math.hypot(this.x, this.y);
  }
}

// [name, value] pairs whose codec round trip must equal structuredClone's result.
const sameAsStructuredClone = [
  ['undefined', undefined],
  ['null', null],
  ['true', true],
  ['false', false],
  ['0', 0],
  ['-0', -0],
  ['1', 1],
  ['-1', -1],
  ['127', 127],
  ['128', 128],
  ['-128', -128],
  ['-129', -129],
  ['255', 255],
  ['2**31 - 1', 2 ** 31 - 1],
  ['2**31', 2 ** 31],
  ['-(2**31)', -(2 ** 31)],
  ['-(2**31) - 1', -(2 ** 31) - 1],
  ['2**32', 2 ** 32],
  ['2**53', 2 ** 53],
  ['MAX_SAFE_INTEGER', Number.MAX_SAFE_INTEGER],
  ['-MAX_SAFE_INTEGER', -Number.MAX_SAFE_INTEGER],
  ['1.5', 1.5],
  ['0.1', 0.1],
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
  ['MIN_VALUE', Number.MIN_VALUE],
  ['MAX_VALUE', Number.MAX_VALUE],
  ['empty string', ''],
  ['one char', 'a'],
  ['hello', 'hello'],
  ['NUL chars', '\0a\0'],
  ['12 ascii', 'abcdefghijkl'],
  ['13 ascii', 'abcdefghijklm'],
  ['85 ascii', 'x'.repeat(85)],
  ['86 ascii', 'y'.repeat(86)],
  ['300 ascii', 'z'.repeat(300)],
  ['5000 ascii', 'q'.repeat(5000)],
  ['latin1', 'héllo wörld'],
  ['short latin1', 'é'],
  ['BMP', '日本語のテキスト'],
  ['astral', '😀'],
  ['astral mix', 'a😀b𝄞c'],
  ['long non-ascii', 'héllo ☃ 😀 '.repeat(40)],
  ['5000 non-ascii', '☃'.repeat(5000)],
  ['lone high surrogate', '\ud800'],
  ['lone low surrogate', '\udc00'],
  ['lone surrogate at end', 'abc\ud83d'],
  ['reversed pair', '\ude00\ud83d'],
  ['lone surrogate in long string', 'x'.repeat(100) + '\udbff' + 'y'.repeat(100)],
  ['lone surrogate in very long string', '☃'.repeat(5000) + '\udfff'],
  ['bigint 0', 0n],
  ['bigint -1', -1n],
  ['bigint int64 max', 2n ** 63n - 1n],
  ['bigint int64 min', -(2n ** 63n)],
  ['bigint 2**63', 2n ** 63n],
  ['bigint -(2**63) - 1', -(2n ** 63n) - 1n],
  ['bigint 2**200', 2n ** 200n],
  ['bigint -(3**100)', -(3n ** 100n)],
  ['empty array', []],
  ['[1, 2]', [1, 2]],
  ['mixed array', [1, 'two', 3.5, null, undefined, true, 10n]],
  ['nested arrays', [[[]], [[1], [2, [3, [4]]]]]],
  ['empty object', {}],
  ['small object', { a: 1, b: 'hello', c: [1, 2, 3] }],
  ['nested object', { a: { b: { c: { d: [{ e: 1 }] } } }, f: 'g' }],
  ['undefined property', { a: undefined, b: 1 }],
  ['integer keys order', { b: 1, 2: 'two', a: 3, 1: 'one', '-1': 'neg' }],
  ['unicode keys', { 'é': 1, '日本': 2, '😀': 3, '\ud800': 4, '': 5 }],
  ['long key', { ['k'.repeat(300)]: 1 }],
  ['null prototype', Object.assign(Object.create(null), { a: 1, nested: Object.create(null) })],
  ['__proto__ own key', JSON.parse('{"__proto__": {"polluted": true}, "x": 1}')],
  ['many keys', Object.fromEntries(Array.from({ length: 300 }, (_, i) => ['key' + i, i]))],
  ['Map', new Map([[1, 'a'], ['b', { c: 2 }], [{ k: 1 }, [1]], [null, undefined]])],
  ['Set', new Set([1, 'a', { b: 2 }, [3], null])],
  ['nested Map/Set', new Map([['s', new Set([new Map([[1, 2]])])]])],
  ['Date', new Date(1700000000123)],
  ['RegExp', /a+b*[c-d]\//gimsuy],
  ['RegExp source only', new RegExp('x')],
  ['ArrayBuffer', new Uint8Array([1, 2, 3, 4, 5]).buffer],
  ['empty ArrayBuffer', new ArrayBuffer(0)],
  ['Int8Array', new Int8Array([-128, 0, 127])],
  ['Uint8Array', new Uint8Array([0, 1, 255])],
  ['Uint8ClampedArray', new Uint8ClampedArray([0, 128, 255])],
  ['Int16Array', new Int16Array([-32768, 1, 32767])],
  ['Uint16Array', new Uint16Array([0, 65535])],
  ['Int32Array', new Int32Array([-(2 ** 31), 7, 2 ** 31 - 1])],
  ['Uint32Array', new Uint32Array([0, 2 ** 32 - 1])],
  ['Float32Array', new Float32Array([1.5, -0, NaN, Infinity])],
  ['Float64Array', new Float64Array([Math.PI, -0, NaN, -Infinity])],
  ['BigInt64Array', new BigInt64Array([-(2n ** 63n), 5n])],
  ['BigUint64Array', new BigUint64Array([2n ** 64n - 1n, 0n])],
  ['DataView', new DataView(new Uint8Array([9, 8, 7]).buffer)],
  ['empty typed array', new Float64Array(0)],
  ['class instance → plain object', new Point(3, 4)],
  ['class instance inside object', { p: new Point(1, 2), n: 1 }],
  ['boxed primitives', [Object(1), Object('s'), Object(true), Object(5n)]],
  ['sparse array', [1, , 3]], // eslint-disable-line no-sparse-arrays
  ['sparse array, long', Object.assign(new Array(1000), { 500: 'x' })],
  ['array of similar objects', Array.from({ length: 50 }, (_, i) => ({ id: i, name: `n${i}`, tags: ['a', 'b'] }))],
];

describe('codec', function () {
  describe('round trip equals structuredClone', function () {
    for (const [name, value] of sameAsStructuredClone) {
      it(name, function () {
        const expected = structuredClone(value);
        assert.deepStrictEqual(roundTrip(value), expected);
        assert.deepStrictEqual(roundTripShared(value), expected);
      });
    }
  });

  describe('numbers and strings', function () {
    it('keeps -0, NaN, denormals and invalid Dates exactly', function () {
      assert.ok(Object.is(roundTrip(-0), -0));
      assert.ok(Object.is(roundTrip([-0])[0], -0));
      assert.ok(Number.isNaN(roundTrip(NaN)));
      assert.equal(roundTrip(2 ** -1074), 2 ** -1074);
      assert.equal(roundTrip(0.1 + 0.2), 0.1 + 0.2);
      const d = roundTrip(new Date(NaN));
      assert.ok(d instanceof Date);
      assert.ok(Number.isNaN(d.getTime()));
    });

    it('keeps lone surrogates exactly (UTF-8 cannot, so they travel as UTF-16)', function () {
      for (const s of ['\ud800', 'a\udc00b', 'x'.repeat(40) + '\ud83d', '\ud83d\ude00\ud83d']) {
        const out = roundTrip(s);
        assert.equal(out.length, s.length);
        assert.equal(out, s);
      }
    });

    it('writeString/readString keep lone surrogates too', function () {
      enc.reset();
      enc.writeString('k\ud800');
      enc.writeString('');
      enc.writeString('☃'.repeat(100));
      dec.reset(enc.bytes());
      assert.equal(dec.readString(), 'k\ud800');
      assert.equal(dec.readString(), '');
      assert.equal(dec.readString(), '☃'.repeat(100));
    });

    it('encodes small values compactly', function () {
      const size = (v) => {
        enc.reset();
        enc.writeValue(v);
        return enc.length;
      };
      assert.equal(size(undefined), 1);
      assert.equal(size(5), 2);
      assert.equal(size(1000), 5);
      assert.equal(size(0.5), 9);
      assert.equal(size('hello'), 7);
      assert.equal(size([1, 2]), 9);
      assert.equal(size({ a: 1, b: 'hello', c: [1, 2, 3] }), 34);
    });
  });

  describe('objects', function () {
    it('decodes null-prototype objects as plain objects', function () {
      const out = roundTrip(Object.assign(Object.create(null), { a: 1 }));
      assert.equal(Object.getPrototypeOf(out), Object.prototype);
    });

    it('keeps an own "__proto__" key as data without touching the prototype', function () {
      const out = roundTrip(JSON.parse('{"__proto__": {"x": 1}}'));
      assert.equal(Object.getPrototypeOf(out), Object.prototype);
      assert.deepEqual(Object.getOwnPropertyDescriptor(out, '__proto__').value, { x: 1 });
      assert.equal({}.x, undefined);
    });

    it('makes own data properties even where Object.prototype has a setter or a read-only key of that name', function () {
      let setterCalls = 0;
      Object.defineProperty(Object.prototype, 'rpSetterKey', { set() { setterCalls++; }, get() { return 'inherited'; }, enumerable: true, configurable: true });
      Object.defineProperty(Object.prototype, 'rpReadOnlyKey', { value: 'inherited', writable: false, enumerable: true, configurable: true });
      try {
        // Every way #readObject builds an object: key by key (a first sighting, and an object
        // with an object value), and by a shape (second sighting of an all-primitive record).
        const inputs = [];
        for (let round = 0; round < 3; round++) {
          inputs.push(JSON.parse(`{"rpSetterKey": ${round}, "rpReadOnlyKey": "own ${round}"}`));
          inputs.push(JSON.parse(`{"rpSetterKey": {"n": ${round}}, "rpReadOnlyKey": [${round}]}`));
        }
        for (const input of inputs) {
          const out = roundTrip(input);
          for (const k of ['rpSetterKey', 'rpReadOnlyKey']) {
            const d = Object.getOwnPropertyDescriptor(out, k);
            assert.ok(d, `${k} is an own property of ${JSON.stringify(input)}`);
            assert.deepStrictEqual(d, { value: input[k], writable: true, enumerable: true, configurable: true });
          }
        }
        assert.equal(setterCalls, 0, 'the inherited setter is never called');
      } finally {
        delete Object.prototype.rpSetterKey;
        delete Object.prototype.rpReadOnlyKey;
      }
    });

    it('reads getters once and skips symbol keys and non-enumerable properties', function () {
      let calls = 0;
      const o = { get g() { calls++; return 7; }, [Symbol('s')]: 1 };
      Object.defineProperty(o, 'hidden', { value: 1, enumerable: false });
      assert.deepStrictEqual(roundTrip(o), { g: 7 });
      assert.equal(calls, 1);
    });

    it('decodes packed arrays (no holes) and plain objects for class instances', function () {
      const out = roundTrip([new Point(1, 2)]);
      assert.equal(Object.getPrototypeOf(out[0]), Object.prototype);
      assert.deepStrictEqual(out, [{ x: 1, y: 2 }]);
    });

    it('keeps holes of sparse arrays (v8 fallback) but writes explicit undefined on the fast path', function () {
      const sparse = roundTrip([1, , 3]); // eslint-disable-line no-sparse-arrays
      assert.equal(1 in sparse, false);
      const dense = roundTrip([1, undefined, 3]);
      assert.equal(1 in dense, true);
    });

    it('drops named properties of arrays (documented deviation from structured clone)', function () {
      const a = Object.assign([1, 2], { extra: 'x' });
      assert.deepStrictEqual(roundTrip(a), [1, 2]);
    });

    it('handles nesting deeper than the fast path allows (v8 fallback)', function () {
      let deep = 'leaf';
      for (let i = 0; i < 1000; i++) deep = i % 2 ? [deep] : { d: deep };
      assert.deepStrictEqual(roundTrip(deep), deep);
    });
  });

  describe('objects built from shapes (repeated key sequences)', function () {
    // From its second sighting, a key sequence of an object with primitive values is built
    // by a generated literal (lib/codec/shapes.ts); each case decodes its value 4 times so
    // that both paths (and a cached shape) are checked against structuredClone.
    const fourTimes = (v) => {
      const expected = structuredClone(v);
      for (let k = 0; k < 4; k++) {
        const out = roundTrip(v);
        assert.deepStrictEqual(out, expected, `decode ${k + 1}`);
        assert.deepEqual(Object.keys(out), Object.keys(expected), `key order, decode ${k + 1}`);
        assert.equal(Object.getPrototypeOf(out), Object.prototype);
        assert.ok(Object.isExtensible(out));
        for (const key of Object.keys(out)) {
          const d = Object.getOwnPropertyDescriptor(out, key);
          assert.ok(d.writable && d.enumerable && d.configurable, `${key} is a plain data property`);
        }
      }
    };

    it('keys that need escaping in a literal stay exact', function () {
      fourTimes({ 'a"b': 1, 'c\\d': 2, 'e\nf': 3, 'g\u2028h': 4, '\ud800': 5, '😀': 6, '': 7, ' ': 8, '${x}': 9, '`': 10 });
      fourTimes({ 'constructor': 1, 'toString': 'x', 'hasOwnProperty': null });
    });

    it('integer-like keys keep the order structured clone gives them', function () {
      fourTimes({ b: 1, 10: 'ten', 2: 'two', a: undefined, '-1': -1, '01': 1.5 });
    });

    it('a "__proto__" key stays an own data property', function () {
      for (let k = 0; k < 4; k++) {
        const out = roundTrip(JSON.parse('{"a": 1, "__proto__": 2, "z": 3}'));
        assert.equal(Object.getPrototypeOf(out), Object.prototype);
        assert.equal(Object.getOwnPropertyDescriptor(out, '__proto__').value, 2);
        assert.deepEqual(Object.keys(out), ['a', '__proto__', 'z']);
      }
    });

    it('every primitive kind as a value, and objects of many keys', function () {
      fourTimes({ u: undefined, n: null, f: false, t: true, i8: -5, i32: 1 << 30, d: 0.5, z: -0, nan: NaN, s: 'str', l: 'long'.repeat(40), b: 12n, B: 2n ** 80n });
      const wide = {};
      for (let i = 0; i < 40; i++) wide[`k${i}`] = i;
      fourTimes(wide);
      const sixteen = {};
      for (let i = 0; i < 16; i++) sixteen[`p${i}`] = `v${i}`;
      fourTimes(sixteen);
    });

    it('objects whose later values are objects, and cycles through them', function () {
      const o = { n: 1, s: 'x' };
      o.self = o;
      o.child = { a: 1, b: 2 };
      o.after = 3;
      for (let k = 0; k < 4; k++) {
        const out = roundTrip([o, { n: 1, s: 'x' }, { n: 2, s: 'y' }]);
        assert.equal(out[0].self, out[0]);
        assert.deepStrictEqual(out[0].child, { a: 1, b: 2 });
        assert.deepEqual(Object.keys(out[0]), ['n', 's', 'self', 'child', 'after']);
        assert.deepStrictEqual(out.slice(1), [{ n: 1, s: 'x' }, { n: 2, s: 'y' }]);
      }
    });

    it('same keys with a different value kind, and shapes that share a prefix', function () {
      const mixed = [{ a: 1, b: 2 }, { a: 1, b: [2] }, { a: 1 }, { a: 1, b: 2, c: 3 }, { b: 2, a: 1 }, { a: { b: 1 } }, { a: 'x', b: 'y' }];
      for (let k = 0; k < 4; k++) {
        const out = roundTrip(mixed);
        assert.deepStrictEqual(out, structuredClone(mixed));
        assert.deepEqual(out.map((o) => Object.keys(o).join()), ['a,b', 'a,b', 'a', 'a,b,c', 'b,a', 'a', 'a,b']);
      }
    });

    it('many distinct key sequences (past the shape table) still decode exactly', function () {
      for (let k = 0; k < 2; k++) {
        for (let i = 0; i < 2000; i++) {
          const v = { [`key${i}`]: i, common: 'c' };
          assert.deepStrictEqual(roundTrip(v), v);
        }
      }
    });

    it('decoding works where code generation from strings is disallowed', function () {
      const script = `
        const { Encoder, Decoder } = require(${JSON.stringify(CODEC)});
        const e = new Encoder(), d = new Decoder();
        const out = [];
        for (let k = 0; k < 5; k++) {
          e.reset(); e.writeValue({ i: k, tag: 'item' }); d.reset(e.bytes());
          out.push(d.readValue());
        }
        let generated = true;
        try { new Function('return 1'); } catch { generated = false; }
        process.stdout.write(JSON.stringify({ out, generated }));`;
      const res = require('node:child_process').execFileSync(process.execPath, ['--disallow-code-generation-from-strings', '-e', script], { encoding: 'utf8' });
      const { out, generated } = JSON.parse(res);
      assert.equal(generated, false, 'the flag is in effect');
      assert.deepStrictEqual(out, [0, 1, 2, 3, 4].map((i) => ({ i, tag: 'item' })));
    });
  });

  describe('shared references and cycles', function () {
    it('preserves shared references', function () {
      const shared = { s: 1 };
      const out = roundTrip({ a: shared, b: [shared, shared], m: new Map([[shared, shared]]) });
      assert.equal(out.a, out.b[0]);
      assert.equal(out.a, out.b[1]);
      assert.equal(out.m.keys().next().value, out.a);
      assert.equal(out.m.get(out.a), out.a);
    });

    it('preserves cycles through arrays, objects, Maps and Sets', function () {
      const a = [];
      a.push(a);
      const o = { name: 'o' };
      o.self = o;
      const m = new Map();
      m.set('me', m);
      const s = new Set();
      s.add(s);
      const out = roundTrip({ a, o, m, s });
      assert.equal(out.a[0], out.a);
      assert.equal(out.o.self, out.o);
      assert.equal(out.m.get('me'), out.m);
      assert.ok(out.s.has(out.s));
    });

    it('gives a top-level plain object its id even when primitive fields come first', function () {
      // The top-level object takes its id only at its first child object (encoder fast path).
      const o = { n: 1, s: 'x', b: true, u: undefined };
      o.self = o;
      const child = { k: 2 };
      o.c1 = child;
      o.c2 = child;
      o.list = [o, child];
      const out = roundTrip(o);
      assert.equal(out.self, out);
      assert.equal(out.c1, out.c2);
      assert.equal(out.list[0], out);
      assert.equal(out.list[1], out.c1);
      assert.deepEqual(Object.keys(out), ['n', 's', 'b', 'u', 'self', 'c1', 'c2', 'list']);
      assert.deepStrictEqual(roundTrip({ i: 7, tag: 'item' }), { i: 7, tag: 'item' });
      // Nested flat objects keep their identity too.
      const flat = { a: 1 };
      const nested = roundTrip({ x: flat, y: flat, z: 3 });
      assert.equal(nested.x, nested.y);
    });

    it('bytes() stays correct when records of equal length reuse its view', function () {
      const enc = new Encoder();
      enc.reset();
      enc.writeValue({ i: 1, tag: 'a' });
      const first = Array.from(enc.bytes());
      enc.reset();
      enc.writeValue({ i: 2, tag: 'b' });
      const b = enc.bytes();
      assert.equal(b.length, first.length);
      const dec = new Decoder();
      dec.reset(b);
      assert.deepStrictEqual(dec.readValue(), { i: 2, tag: 'b' });
      enc.writeValue('x'.repeat(10000)); // grows the buffer: a fresh view
      const big = enc.bytes();
      assert.equal(big.length, b.length + 5 + 10000);
      dec.reset(big, b.length);
      assert.equal(dec.readValue(), 'x'.repeat(10000));
    });

    it('preserves identity of repeated typed arrays, Dates and errors', function () {
      const u = new Uint8Array([1]);
      const d = new Date(0);
      const e = new Error('x');
      const out = roundTrip([u, d, e, u, d, e]);
      assert.equal(out[0], out[3]);
      assert.equal(out[1], out[4]);
      assert.equal(out[2], out[5]);
    });

    it('preserves shared references among many objects (past the linear lookup)', function () {
      const objs = Array.from({ length: 100 }, (_, i) => ({ i }));
      const value = [...objs, ...objs.slice().reverse()];
      const out = roundTrip(value);
      for (let i = 0; i < 100; i++) assert.equal(out[i], out[199 - i]);
      assert.deepStrictEqual(out, structuredClone(value));
    });

    it('does not share references between separate writeValue calls', function () {
      const o = { x: 1 };
      enc.reset();
      enc.writeValue(o);
      enc.writeValue(o);
      dec.reset(enc.bytes());
      const a = dec.readValue();
      const b = dec.readValue();
      assert.deepStrictEqual(a, b);
      assert.notEqual(a, b);
    });
  });

  describe('binary data', function () {
    it('copies only the bytes of views with an offset', function () {
      const base = new Uint8Array(64).map((_, i) => i);
      const view = new Uint16Array(base.buffer, 6, 4);
      const out = roundTrip(view);
      assert.ok(out instanceof Uint16Array);
      assert.equal(out.byteOffset, 0);
      assert.equal(out.buffer.byteLength, 8);
      assert.deepStrictEqual(Array.from(out), Array.from(view));
      const dv = roundTrip(new DataView(base.buffer, 5, 3));
      assert.deepStrictEqual([dv.getUint8(0), dv.getUint8(2), dv.byteLength], [5, 7, 3]);
    });

    it('decodes aligned typed arrays from a record at an odd offset', function () {
      const f = new Float64Array([1.25, -2.5]);
      const out = roundTripShared({ f });
      assert.ok(out.f instanceof Float64Array);
      assert.deepStrictEqual(Array.from(out.f), [1.25, -2.5]);
    });

    it('decodes Buffer as Buffer, with only its own bytes', function () {
      const b = Buffer.from('pooled'); // a slice of Node's shared allocation pool
      const out = roundTrip(b);
      assert.ok(Buffer.isBuffer(out));
      assert.equal(out.toString(), 'pooled');
      assert.equal(out.buffer.byteLength, 6);
      assert.ok(!Buffer.isBuffer(roundTrip(new Uint8Array([1]))));
    });

    it('copies everything out of shared memory (fast path and fallback)', function () {
      const value = { u: new Uint8Array([1, 2, 3]), s: 'x'.repeat(40), p: new Point(1, new Int32Array([5])) };
      const out = roundTripShared(value);
      assert.deepStrictEqual(out, structuredClone(value));
    });
  });

  describe('errors', function () {
    class MyError extends Error {
      constructor(message, extra) {
        super(message);
        this.name = 'MyError';
        this.code = 'E_MINE';
        this.extra = extra;
      }
    }
    class ProtoNamed extends Error {}
    ProtoNamed.prototype.name = 'ProtoNamed';

    for (const Ctor of [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError]) {
      it(`${Ctor.name} keeps its class, message and stack`, function () {
        const e = new Ctor('boom');
        const out = roundTrip(e);
        assert.equal(Object.getPrototypeOf(out), Ctor.prototype);
        assert.equal(out.name, Ctor.name);
        assert.equal(out.message, 'boom');
        assert.equal(out.stack, e.stack);
        assert.deepStrictEqual(Object.keys(out), []);
      });
    }

    it('AggregateError keeps its errors', function () {
      const e = new AggregateError([new TypeError('a'), 'b'], 'many');
      const out = roundTrip(e);
      assert.ok(out instanceof AggregateError);
      assert.equal(out.message, 'many');
      assert.ok(out.errors[0] instanceof TypeError);
      assert.equal(out.errors[1], 'b');
      assert.equal(Object.getOwnPropertyDescriptor(out, 'errors').enumerable, false);
    });

    it('custom classes keep name, message, stack, code and own properties', function () {
      const e = new MyError('mine', { deep: [1, 2] });
      const out = roundTrip(e);
      assert.ok(out instanceof Error);
      assert.equal(out.name, 'MyError');
      assert.equal(out.message, 'mine');
      assert.equal(out.stack, e.stack);
      assert.equal(out.code, 'E_MINE');
      assert.deepStrictEqual(out.extra, { deep: [1, 2] });
      assert.deepStrictEqual(Object.keys(out), Object.keys(e));
      const p = roundTrip(new ProtoNamed('x'));
      assert.equal(p.name, 'ProtoNamed');
      assert.equal(Object.getOwnPropertyDescriptor(p, 'name').enumerable, false);
    });

    it('keeps a code that is not an own enumerable property', function () {
      class Coded extends Error {
        get code() {
          return 42;
        }
      }
      const out = roundTrip(new Coded('c'));
      assert.equal(out.code, 42);
    });

    it('keeps cause, recursively, and cycles through it', function () {
      const root = new RangeError('root', { cause: { why: 'because' } });
      const mid = new MyError('mid');
      mid.cause = root; // an own enumerable `cause`
      const top = new Error('top', { cause: mid });
      const out = roundTrip(top);
      assert.equal(out.cause.message, 'mid');
      assert.ok(out.cause.cause instanceof RangeError);
      assert.deepStrictEqual(out.cause.cause.cause, { why: 'because' });
      assert.equal(Object.getOwnPropertyDescriptor(out, 'cause').enumerable, false);
      assert.equal(Object.getOwnPropertyDescriptor(out.cause, 'cause').enumerable, true);
      const self = new Error('self');
      self.cause = self;
      const so = roundTrip(self);
      assert.equal(so.cause, so);
    });

    it('drops fields that cannot be cloned, keeps the rest', function () {
      const e = new MyError('x', () => {});
      e.sym = Symbol('s');
      e.sab = new SharedArrayBuffer(4);
      e.instance = new Point(1, 2); // not on the fast path: goes as v8 bytes alone
      Object.defineProperty(e, 'bad', { enumerable: true, get() { throw new Error('getter'); } });
      const out = roundTrip({ e, after: 'ok' });
      assert.equal(out.after, 'ok');
      assert.equal(out.e.code, 'E_MINE');
      assert.equal('extra' in out.e, false);
      assert.equal('sym' in out.e, false);
      assert.equal('sab' in out.e, false);
      assert.equal('bad' in out.e, false);
      assert.deepStrictEqual(out.e.instance, { x: 1, y: 2 });
    });

    it('keeps a long cause chain (the part past the depth limit as v8 bytes)', function () {
      let e = new Error('level 0');
      for (let i = 1; i < 400; i++) {
        e = new Error(`level ${i}`, { cause: e });
        e.code = `E${i}`;
      }
      let out = roundTrip(e);
      for (let i = 399; i > 0; i--) {
        assert.ok(out instanceof Error);
        assert.equal(out.message, `level ${i}`);
        if (i > 300) assert.equal(out.code, `E${i}`);
        out = out.cause;
      }
      assert.equal(out.message, 'level 0');
    });

    it('survives getters that throw on name, message and stack', function () {
      const e = new Error('x');
      for (const k of ['stack', 'name', 'message']) Object.defineProperty(e, k, { get() { throw new Error('no'); } });
      const out = roundTrip(e);
      assert.ok(out instanceof Error);
      assert.equal(out.name, 'Error');
    });

    it("keeps Node's system error fields", function () {
      let err;
      try {
        fs.readFileSync('/nonexistent/ringpool-codec');
      } catch (e) {
        err = e;
      }
      const out = roundTrip(err);
      for (const k of ['errno', 'code', 'syscall', 'path', 'message', 'stack']) assert.deepStrictEqual(out[k], err[k]);
    });

    it('encodeError: readValue gives back what was thrown, decodeError an Error', function () {
      const NONE = Symbol('not cloneable: an Error record describes it');
      const fn = function thrownFn() {};
      const cases = [
        // [thrown, what readValue returns (NONE: an Error record), check of decodeError's Error]
        [new TypeError('t'), NONE, (e) => e instanceof TypeError && e.message === 't'],
        ['a string', 'a string', (e) => e.message === 'a string'],
        [42, 42, (e) => e.message === '42'],
        [null, null, (e) => e.message === 'null'],
        [undefined, undefined, (e) => e.message === 'undefined'],
        [[1, 2], [1, 2], (e) => e.message === '1,2'],
        [{ message: 'like an error', code: 'E_OBJ' }, { message: 'like an error', code: 'E_OBJ' }, (e) => e.message === 'like an error' && e.code === 'E_OBJ'],
        [{ foo: 1 }, { foo: 1 }, (e) => e.message === '[object Object]' && e.foo === 1],
        [Symbol('s'), NONE, (e) => e.message === 'Symbol(s)'],
        [fn, NONE, (e) => /thrownFn/.test(e.message)],
        [{ message: 'holds a function', f: fn, n: 1 }, NONE, (e) => e.message === 'holds a function' && e.n === 1 && !('f' in e)],
        [new MyError('m', () => {}), NONE, (e) => e.name === 'MyError' && e.code === 'E_MINE' && !('extra' in e)],
      ];
      enc.reset();
      for (const [thrown] of cases) encodeError(enc, thrown);
      dec.reset(enc.bytes());
      for (const [thrown, , ok] of cases) {
        const e = decodeError(dec);
        assert.ok(e instanceof Error, String(thrown));
        assert.ok(ok(e), `${String(thrown)} → ${e.stack}`);
      }
      assert.equal(dec.remaining, 0);
      dec.reset(enc.bytes());
      for (const [thrown, raw] of cases) {
        const v = dec.readValue();
        if (raw === NONE) assert.ok(v instanceof Error, String(thrown));
        else assert.deepStrictEqual(v, raw);
      }
    });

    it('decodeError wraps a value that is not an error', function () {
      enc.reset();
      enc.writeValue('plain');
      dec.reset(enc.bytes());
      const e = decodeError(dec);
      assert.ok(e instanceof Error);
      assert.equal(e.message, 'plain');
    });
  });

  describe('values that cannot be cloned', function () {
    const cases = [
      ['function', () => {}, /function <anonymous> could not be cloned/],
      ['named function', function handler() {}, /function handler could not be cloned/],
      ['symbol', Symbol('tag'), /Symbol\(tag\) could not be cloned/],
      ['nested function', { opts: { list: [1, function cb() {}] } }, /function cb could not be cloned \(at opts\.list\[1\]\)/],
      ['function as Map value', new Map([['k', () => {}]]), /could not be cloned/],
      ['WeakMap', { w: new WeakMap() }, /#<WeakMap> could not be cloned \(at w\)/],
      ['Promise', [Promise.resolve()], /#<Promise> could not be cloned \(at \[0\]\)/],
      ['function inside a class instance', new Point(() => {}, 1), /function <anonymous> could not be cloned \(at x\)/],
      ['symbol inside a class instance', { p: new Point(1, Symbol('y')) }, /Symbol\(y\) could not be cloned \(at p\.y\)/],
    ];
    for (const [name, value, message] of cases) {
      it(`${name} → DataCloneError`, function () {
        enc.reset();
        enc.writeValue('before');
        const len = enc.length;
        assert.throws(() => enc.writeValue(value), (err) => {
          assert.ok(err instanceof DataCloneError);
          assert.ok(err instanceof RingpoolError);
          assert.equal(err.name, 'DataCloneError');
          assert.equal(err.code, 'ERR_RINGPOOL_DATA_CLONE');
          assert.match(err.message, message);
          return true;
        });
        assert.equal(enc.length, len, 'nothing of the failed value stays written');
        enc.writeValue('after');
        dec.reset(enc.bytes());
        assert.equal(dec.readValue(), 'before');
        assert.equal(dec.readValue(), 'after');
      });
    }
  });

  describe('shared memory and host objects → NeedsPortError', function () {
    const sab = new SharedArrayBuffer(16);
    const channel = new MessageChannel();
    const cases = [
      ['SharedArrayBuffer', sab],
      ['Int32Array over a SharedArrayBuffer', new Int32Array(sab)],
      ['DataView over a SharedArrayBuffer', new DataView(sab)],
      ['nested in an object', { a: [1, { b: new Uint8Array(sab, 4) }] }],
      ['in a Map', new Map([['k', sab]])],
      ['in a class instance (fallback path)', new Point(new Int32Array(sab), 0)],
      ['SharedArrayBuffer in a class instance', new Point(sab, 0)],
      ['after a sparse array (fallback path)', [[1, , 2], sab]], // eslint-disable-line no-sparse-arrays
      // Node's host objects: postMessage can clone them, v8.serialize cannot
      ['BlockList', { list: new (require('node:net').BlockList)() }],
      ['SocketAddress', [new (require('node:net').SocketAddress)()]],
      ['Blob', new Blob(['x'])],
      ['MessagePort', { port: channel.port1 }],
    ];
    after(function () {
      channel.port1.close();
    });
    for (const [name, value] of cases) {
      it(name, function () {
        enc.reset();
        assert.throws(() => enc.writeValue(value), NeedsPortError);
        enc.reset();
        enc.writeValue(1);
        dec.reset(enc.bytes());
        assert.equal(dec.readValue(), 1);
      });
    }
  });

  describe('records', function () {
    it('reads several values and raw fields written back to back', function () {
      const values = [1, 'two', { three: 3 }, [4], null, 6n, new Date(7), -0];
      enc.reset();
      enc.writeU8(250);
      enc.writeU32(0xfeedbeef);
      enc.writeF64(-1.5);
      for (const v of values) enc.writeValue(v);
      enc.writeString('end');
      dec.reset(enc.bytes());
      assert.equal(dec.readU8(), 250);
      assert.equal(dec.readU32(), 0xfeedbeef);
      assert.equal(dec.readF64(), -1.5);
      for (const v of values) assert.deepStrictEqual(dec.readValue(), v);
      assert.equal(dec.readString(), 'end');
      assert.equal(dec.remaining, 0);
      assert.equal(dec.offset, enc.length);
    });

    it('reads a range inside a larger buffer; offset is relative to the bytes given', function () {
      enc.reset();
      enc.writeValue('a');
      enc.writeValue('b');
      const rec = enc.bytes();
      const big = new Uint8Array(100);
      big.set(rec, 10);
      const sub = big.subarray(5);
      dec.reset(sub, 5, 5 + rec.length);
      assert.equal(dec.offset, 5);
      assert.equal(dec.readValue(), 'a');
      assert.equal(dec.readValue(), 'b');
      assert.equal(dec.offset, 5 + rec.length);
      assert.equal(dec.remaining, 0);
    });

    it('grows past its initial size, keeps earlier bytes, and reset() starts over', function () {
      const small = new Encoder(0);
      const big = Array.from({ length: 2000 }, (_, i) => ({ i, s: 'v' + i }));
      small.writeValue('first');
      small.writeValue(big);
      small.writeValue('x'.repeat(100000));
      const d = new Decoder();
      d.reset(small.bytes());
      assert.equal(d.readValue(), 'first');
      assert.deepStrictEqual(d.readValue(), big);
      assert.equal(d.readValue(), 'x'.repeat(100000));
      small.reset();
      assert.equal(small.length, 0);
      assert.equal(small.bytes().length, 0);
      small.writeValue(1);
      assert.equal(small.length, 2);
    });

    it('shrinks back to its initial size after a huge record', function () {
      const e = new Encoder(1024);
      e.writeValue('x'.repeat(3_000_000));
      e.reset();
      e.writeValue(1);
      e.reset(); // the record that just ended was small: the big buffer goes
      e.writeValue(2);
      assert.equal(e.bytes().buffer.byteLength, 1024);
    });

    it('decodes from a pooled Buffer (non-zero byteOffset); a Uint8Array stays a Uint8Array', function () {
      enc.reset();
      enc.writeValue({ u: new Uint8Array([1, 2]), s: 'str' });
      const b = Buffer.from(enc.bytes());
      const d = new Decoder();
      d.reset(b);
      const out = d.readValue();
      assert.equal(Object.getPrototypeOf(out.u), Uint8Array.prototype);
      assert.deepStrictEqual(out, { u: new Uint8Array([1, 2]), s: 'str' });
    });

    it('rewind() drops a value written after mark()', function () {
      enc.reset();
      enc.writeValue('keep');
      const m = enc.mark();
      enc.writeValue({ drop: 'me', please: [1, 2, 3] });
      enc.rewind(m);
      enc.writeValue('next');
      dec.reset(enc.bytes());
      assert.equal(dec.readValue(), 'keep');
      assert.equal(dec.readValue(), 'next');
      assert.equal(dec.remaining, 0);
      assert.throws(() => enc.rewind(enc.length + 1), { code: 'ERR_RINGPOOL_OUT_OF_RANGE' });
      assert.throws(() => enc.rewind(-1), { code: 'ERR_RINGPOOL_OUT_OF_RANGE' });
    });

    it('bytes() is a view of the record since reset()', function () {
      enc.reset();
      enc.writeValue(true);
      const b = enc.bytes();
      assert.ok(b instanceof Uint8Array);
      assert.equal(b.length, 1);
      assert.ok(!(b.buffer instanceof SharedArrayBuffer));
    });
  });

  describe('bad input', function () {
    const cases = [
      ['Encoder(-1)', () => new Encoder(-1), RangeError, 'ERR_RINGPOOL_OUT_OF_RANGE'],
      ['Encoder(1.5)', () => new Encoder(1.5), RangeError, 'ERR_RINGPOOL_OUT_OF_RANGE'],
      ["Encoder('8')", () => new Encoder('8'), TypeError, 'ERR_RINGPOOL_INVALID_ARG_TYPE'],
      ['writeU8(256)', () => new Encoder().writeU8(256), RangeError, 'ERR_RINGPOOL_OUT_OF_RANGE'],
      ['writeU32(-1)', () => new Encoder().writeU32(-1), RangeError, 'ERR_RINGPOOL_OUT_OF_RANGE'],
      ['writeU32(2**32)', () => new Encoder().writeU32(2 ** 32), RangeError, 'ERR_RINGPOOL_OUT_OF_RANGE'],
      ['writeString(1)', () => new Encoder().writeString(1), TypeError, 'ERR_RINGPOOL_INVALID_ARG_TYPE'],
      ['reset([])', () => new Decoder().reset([]), TypeError, 'ERR_RINGPOOL_INVALID_ARG_TYPE'],
      ['reset(end > length)', () => new Decoder().reset(new Uint8Array(2), 0, 3), RangeError, 'ERR_RINGPOOL_OUT_OF_RANGE'],
      ['reset(offset > end)', () => new Decoder().reset(new Uint8Array(2), 2, 1), RangeError, 'ERR_RINGPOOL_OUT_OF_RANGE'],
      ['unknown tag', () => decodeBytes([0xff]), TypeError, 'ERR_RINGPOOL_BAD_LAYOUT'],
      ['readString on a number', () => { const d = new Decoder(); d.reset(record(1)); d.readString(); }, TypeError, 'ERR_RINGPOOL_BAD_LAYOUT'],
      ['back-reference ahead', () => decodeBytes([0x19, 5, 0, 0, 0]), TypeError, 'ERR_RINGPOOL_BAD_LAYOUT'],
      ['empty record', () => decodeBytes([]), RangeError, 'ERR_RINGPOOL_OUT_OF_RANGE'],
      ['truncated string', () => decodeBytes(record('hello').subarray(0, 4)), RangeError, 'ERR_RINGPOOL_OUT_OF_RANGE'],
      ['truncated object', () => decodeBytes(record({ a: 1, b: 2 }).subarray(0, 9)), RangeError, 'ERR_RINGPOOL_OUT_OF_RANGE'],
      ['truncated u32', () => { const d = new Decoder(); d.reset(new Uint8Array(3)); d.readU32(); }, RangeError, 'ERR_RINGPOOL_OUT_OF_RANGE'],
    ];
    function record(v) {
      const e = new Encoder();
      e.writeValue(v);
      return e.bytes().slice();
    }
    function decodeBytes(bytes) {
      const d = new Decoder();
      d.reset(Uint8Array.from(bytes));
      return d.readValue();
    }
    for (const [name, fn, cls, code] of cases) {
      it(`${name} → ${cls.name} ${code}`, function () {
        assert.throws(fn, (err) => err instanceof cls && err.code === code);
      });
    }

    it('a decoder recovers after a corrupt record', function () {
      const d = new Decoder();
      d.reset(Uint8Array.from([0x10, 2, 0, 0, 0, 0x11, 1, 0, 0, 0])); // array whose object is cut short
      assert.throws(() => d.readValue(), { code: 'ERR_RINGPOOL_OUT_OF_RANGE' });
      d.reset(record([{ a: 1 }, 2]));
      assert.deepStrictEqual(d.readValue(), [{ a: 1 }, 2]);
    });
  });

  describe('across threads', function () {
    it('values and errors encoded in a worker decode on the main thread', async function () {
      this.timeout(10000);
      const sab = new SharedArrayBuffer(1 << 16);
      const worker = new Worker(
        `
        const { workerData } = require('node:worker_threads');
        const { Encoder, encodeError } = require(workerData.codec);
        class ValidationError extends TypeError {
          constructor(field) { super('bad field ' + field); this.name = 'ValidationError'; this.code = 'E_VALID'; this.field = field; }
        }
        const enc = new Encoder(16);
        enc.writeValue({ a: 1, b: 'hello', c: [1, 2, 3], big: 2n ** 70n, when: new Date(5), bytes: new Float32Array([0.5]) });
        try { throw new ValidationError('age'); } catch (e) { encodeError(enc, e); }
        const mem = new Uint8Array(workerData.sab);
        new DataView(workerData.sab).setUint32(0, enc.length, true);
        mem.set(enc.bytes(), 4);
        `,
        { eval: true, workerData: { codec: CODEC, sab } },
      );
      await new Promise((resolve, reject) => {
        worker.on('error', reject);
        worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exit ${code}`))));
      });
      const len = new DataView(sab).getUint32(0, true);
      dec.reset(new Uint8Array(sab), 4, 4 + len);
      const v = dec.readValue();
      assert.deepStrictEqual(v, { a: 1, b: 'hello', c: [1, 2, 3], big: 2n ** 70n, when: new Date(5), bytes: new Float32Array([0.5]) });
      const e = decodeError(dec);
      assert.ok(e instanceof Error);
      assert.equal(e.name, 'ValidationError');
      assert.equal(e.message, 'bad field age');
      assert.equal(e.code, 'E_VALID');
      assert.equal(e.field, 'age');
      assert.match(e.stack, /^ValidationError: bad field age\n\s+at /);
      assert.match(e.stack, /\[worker eval\]/);
    });
  });

  describe('fallback bytes', function () {
    it('are the v8 serializer format (decodable by v8.deserialize)', function () {
      enc.reset();
      enc.writeValue(new Point(1, 2));
      const b = enc.bytes();
      assert.equal(b[0], 0x1a);
      const n = new DataView(b.buffer, b.byteOffset).getUint32(1, true);
      assert.deepStrictEqual(v8.deserialize(Buffer.from(b.subarray(5, 5 + n))), { x: 1, y: 2 });
    });
  });
});
