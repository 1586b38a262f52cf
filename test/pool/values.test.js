'use strict';
// What travels between the main thread and the workers: the value codec's round trip,
// values that cannot be cloned (they fail their own task only), payloads too large for a
// channel record and transfer lists (both go through the MessagePort, with the same
// ordering, cancellation and error semantics), and SharedArrayBuffers, which arrive shared.
const assert = require('node:assert/strict');
const { rp, fixture, shared, until, release, usePools, outcome, runChild } = require('./support');

const { pool, Transfer, DataCloneError } = rp;
const methods = fixture('methods.js');

/** Larger than a channel record (128 KiB): these take the MessagePort path. */
const kBig = 300 * 1024;

function cyclic() {
  const o = { name: 'loop' };
  o.self = o;
  o.list = [o, { back: o }];
  return o;
}

const values = [
  ['0', 0], ['-0', -0], ['NaN', NaN], ['Infinity', -Infinity], ['a fraction', 1.5], ['2**53', 2 ** 53], ['int32 min', -(2 ** 31)],
  ['empty string', ''], ['unicode string', 'héllo wörld 😀 \u0000 end'], ['lone surrogate', 'a\uD800b'], ['long string', 'x'.repeat(5000)],
  ['true', true], ['false', false], ['null', null], ['undefined', undefined],
  ['array', [1, 'two', null, undefined, [3, [4]]]], ['sparse array', [1, , 3]], ['empty object', {}],
  ['nested object', { a: { b: { c: [1, { d: 'e' }] } }, 'key with space': 1, 42: 'numeric key' }],
  ['object with undefined', { u: undefined }],
  ['Int8Array', new Int8Array([-1, 2])], ['Uint8Array', new Uint8Array([1, 255])], ['Uint8ClampedArray', new Uint8ClampedArray([0, 255])],
  ['Int16Array', new Int16Array([-300])], ['Uint16Array', new Uint16Array([65535])], ['Int32Array', new Int32Array([-(2 ** 31)])],
  ['Uint32Array', new Uint32Array([2 ** 32 - 1])], ['Float32Array', new Float32Array([1.5, NaN])], ['Float64Array', new Float64Array([Math.PI, -0])],
  ['BigInt64Array', new BigInt64Array([-(2n ** 63n)])], ['BigUint64Array', new BigUint64Array([2n ** 64n - 1n])],
  ['typed array at an offset', new Uint16Array(new ArrayBuffer(16), 4, 3).fill(7)],
  ['DataView', new DataView(new Uint8Array([1, 2, 3]).buffer)], ['ArrayBuffer', new Uint8Array([9, 8, 7]).buffer],
  ['Buffer-like bytes', Uint8Array.from(Buffer.from('bytes'))],
  ['Map', new Map([[1, 'a'], ['b', { c: 2 }], [{ k: 1 }, [3]]])], ['Set', new Set([1, 'a', null])],
  ['Date', new Date(1700000000000)],
  ['BigInt', 12345678901234567890123n], ['negative BigInt', -5n],
  ['RegExp', /a+b/gi], ['boxed values', [Object(1), Object('s'), Object(false)]],
  ['cyclic object', cyclic()],
  ['shared references', (() => { const s = { n: 1 }; return [s, s, { s }]; })()],
  ['Error inside a value', { e: new RangeError('inner') }],
];

describe('pool: values', () => {
  const track = usePools();

  describe('round trip through a worker (echo), one task per value', () => {
    let p;
    before(() => {
      p = pool(methods, { maxWorkers: 1 });
    });
    after(() => p.terminate());
    for (const [name, v] of values) {
      it(name, async () => {
        const back = await p.exec('echo', [v]);
        assert.deepStrictEqual(back, v);
        if (name === 'cyclic object') assert.equal(back.self, back);
        if (name === 'shared references') assert.equal(back[0], back[1]);
      });
    }
  });

  it('all of them at once, in one batch, over two workers', async () => {
    const p = track(pool(methods, { maxWorkers: 2 }));
    const back = await Promise.all(values.map(([, v]) => p.exec('echo', [v])));
    values.forEach(([name, v], i) => assert.deepStrictEqual(back[i], v, name));
  });

  it('an invalid Date stays an invalid Date', async () => {
    // (assert.deepStrictEqual compares Dates by getTime(), and NaN !== NaN.)
    const p = track(pool(methods, { maxWorkers: 1 }));
    const back = await p.exec('echo', [new Date(NaN)]);
    assert.ok(back instanceof Date);
    assert.ok(Number.isNaN(back.getTime()));
  });

  it('parameters arrive as separate arguments; missing params mean none', async () => {
    const p = track(pool(methods, { maxWorkers: 1 }));
    assert.deepEqual(await p.exec((...a) => a, [1, 'b', { c: 3 }]), [1, 'b', { c: 3 }]);
    assert.deepEqual(await p.exec((...a) => a.length), 0);
    assert.deepEqual(await p.exec((...a) => a.length, null), 0);
  });

  describe('values that cannot be cloned', () => {
    for (const [what, arg] of [['a function', () => 1], ['a symbol', Symbol('s')], ['a WeakMap inside an object', { w: new WeakMap() }], ['a Promise', Promise.resolve(1)]]) {
      it(`${what} as a parameter rejects that task only with DataCloneError`, async () => {
        const p = track(pool(methods, { maxWorkers: 1 }));
        const [before, bad, after] = await Promise.all([outcome(p.exec('echo', [1])), outcome(p.exec('echo', [arg])), outcome(p.exec('echo', [3]))]);
        assert.deepEqual(before, { ok: true, value: 1 });
        assert.deepEqual(after, { ok: true, value: 3 });
        assert.equal(bad.ok, false);
        assert.ok(bad.error instanceof DataCloneError, `${bad.error}`);
        assert.equal(bad.error.code, 'ERR_RINGPOOL_DATA_CLONE');
        assert.equal(p.stats().failedTasks, 1);
      });
    }

    it('a result that cannot be cloned rejects that task with code ERR_RINGPOOL_DATA_CLONE; the worker lives on', async () => {
      const p = track(pool(methods, { maxWorkers: 1 }));
      let exits = 0;
      p.on('workerExit', () => exits++);
      const tid = await p.exec('threadId');
      for (const m of ['returnFunction', 'returnSymbol']) {
        await assert.rejects(p.exec(m), (e) => e.code === 'ERR_RINGPOOL_DATA_CLONE' && e.name === 'DataCloneError', m);
      }
      assert.equal(await p.exec('threadId'), tid);
      assert.equal(exits, 0);
    });

    it('an emit payload that cannot be cloned throws in the worker and fails that task', async () => {
      const p = track(pool(methods, { maxWorkers: 1 }));
      await assert.rejects(p.exec('emitUncloneable', [], { on() {} }), (e) => e.code === 'ERR_RINGPOOL_DATA_CLONE');
      assert.equal(await p.exec('echo', ['next']), 'next');
    });

    it('on the MessagePort path too (with a transfer list): code ERR_RINGPOOL_DATA_CLONE, other tasks unaffected', async () => {
      const p = track(pool(methods, { maxWorkers: 1 }));
      const ab = new ArrayBuffer(8);
      const [bad, good] = await Promise.all([
        outcome(p.exec('echo', [{ f() {} }], { transfer: [ab] })),
        outcome(p.exec('echo', ['good'])),
      ]);
      assert.deepEqual(good, { ok: true, value: 'good' });
      assert.equal(bad.ok, false);
      assert.equal(bad.error.code, 'ERR_RINGPOOL_DATA_CLONE', `${bad.error.name} ${bad.error.code}: ${bad.error.message}`);
    });

    it('a returned Transfer holding a function: code ERR_RINGPOOL_DATA_CLONE', async () => {
      const p = track(pool(methods, { maxWorkers: 1 }));
      const r = await outcome(p.exec('returnTransferOfFunction'));
      assert.equal(r.ok, false);
      assert.equal(r.error.code, 'ERR_RINGPOOL_DATA_CLONE', `${r.error.name} ${r.error.code}: ${r.error.message}`);
    });
  });

  describe('payloads larger than a channel record (MessagePort path)', () => {
    it('large parameters and large results, both directions', async () => {
      const p = track(pool(methods, { maxWorkers: 1 }));
      const bytes = new Uint8Array(kBig).map((_, i) => i * 7);
      const sum = bytes.reduce((a, b) => (a + b) | 0, 0);
      assert.deepEqual(await p.exec('inspect', [bytes]), { shared: false, byteLength: kBig, sum });
      assert.equal(bytes.length, kBig, 'a copied (not transferred) parameter stays usable');
      const s = await p.exec('bigString', [kBig, 'z']);
      assert.equal(s, 'z'.repeat(kBig));
      const u8 = await p.exec('bigBytes', [kBig]);
      assert.ok(u8 instanceof Uint8Array);
      assert.equal(u8.length, kBig);
      assert.equal(u8[kBig - 1], (kBig - 1) & 255);
      const text = '€'.repeat(kBig);
      assert.equal(await p.exec('echo', [text]), text);
    });

    it('keeps FIFO order when small and large tasks alternate on one worker', async () => {
      const p = track(pool(methods, { maxWorkers: 1, concurrentTasksPerWorker: 64 }));
      const ctr = shared(1);
      const tasks = [];
      for (let i = 0; i < 12; i++) tasks.push(p.exec('order', [ctr, 0, i % 3 === 0 ? 'x'.repeat(kBig) + i : i]));
      const res = await Promise.all(tasks);
      assert.deepEqual(res.map((r) => r.pos), [...Array(12).keys()]);
    });

    it('a large result arrives after the emits of its task, in order', async () => {
      const p = track(pool(methods, { maxWorkers: 1 }));
      const log = [];
      const t = p.exec('emitCountThenBig', [3, kBig], { on: (m) => log.push(m) });
      const r = await t;
      log.push(r.length);
      assert.deepEqual(log, [0, 1, 2, kBig]);
    });

    it('a large error message comes back as the Error it was', async () => {
      const p = track(pool(methods, { maxWorkers: 1 }));
      const msg = 'm'.repeat(kBig);
      await assert.rejects(p.exec('throwBuiltin', ['TypeError', msg]), (e) => e instanceof TypeError && e.message === msg && e.code === 'E_TYPEERROR');
    });

    it('a large task queued behind a busy worker can be cancelled and never runs', async () => {
      const p = track(pool(methods, { maxWorkers: 1, concurrentTasksPerWorker: 1 }));
      const i32 = shared(4);
      const blocker = p.exec('hold', [i32, 0, 1, 'held']);
      await until(i32, 0, 1);
      const big = p.exec('bump', [i32, 2, 'x'.repeat(kBig)]);
      big.cancel();
      release(i32, 1);
      assert.equal(await blocker, 'held');
      await assert.rejects(big, (e) => e.code === 'ERR_RINGPOOL_CANCELLED');
      assert.equal(await p.exec('echo', ['after']), 'after');
      assert.equal(Atomics.load(i32, 2), 0, 'the cancelled task ran');
    });

    it('a large emit payload reaches the on handler, or workerEmit() throws ERR_RINGPOOL_TOO_LARGE; the worker survives', async () => {
      // Either contract is acceptable (a port path for emits, or a documented size limit);
      // killing the worker, or an internal error escaping to user code, is not.
      const p = track(pool(methods, { maxWorkers: 1 }));
      let exits = 0;
      p.on('workerExit', () => exits++);
      const tid = await p.exec('threadId');
      const seen = [];
      const r = await outcome(p.exec('emitBig', [kBig], { on: (m) => seen.push(m.length) }));
      assert.equal(r.ok, true, r.error && `${r.error.name}: ${r.error.message}`);
      if (r.value === 'emitted') assert.deepEqual(seen, [kBig]);
      else {
        assert.equal(r.value, 'ERR_RINGPOOL_TOO_LARGE');
        assert.deepEqual(seen, []);
      }
      assert.equal(await p.exec('threadId'), tid);
      assert.equal(exits, 0);
    });

    it('an emit followed by a result that together exceed a record (the worker survives)', async () => {
      const p = track(pool(methods, { maxWorkers: 1 }));
      const seen = [];
      const r = await outcome(p.exec('emitThenReturnBig', [60 * 1024, 100 * 1024], { on: (m) => seen.push(m.length) }));
      assert.equal(r.ok, true, r.error && `${r.error.name}: ${r.error.message}`);
      assert.equal(r.value.length, 100 * 1024);
      assert.deepEqual(seen, [60 * 1024]);
    });

    it('a batch of tasks that fit a record one by one but not together (child process: must not crash)', async () => {
      // 30 KiB then 120 KiB, issued in the same tick: each fits a channel record, the batch
      // the pool builds from both does not.
      const src = `
        const { pool } = require(process.env.RINGPOOL_ROOT);
        const p = pool(process.env.RINGPOOL_FIXTURES + '/methods.js', { maxWorkers: 1 });
        Promise.all([p.exec('echo', ['a'.repeat(30000)]), p.exec('echo', ['b'.repeat(120000)])])
          .then((r) => { console.log('ok', r[0].length, r[1].length); return p.terminate(); })
          .catch((e) => { console.log('rejected', e.code); return p.terminate(); });
      `;
      const r = await runChild(src, 15000);
      assert.equal(r.timedOut, false, 'the child hung');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), 'ok 30000 120000');
    });
  });

  describe('transfer lists', () => {
    it('main -> worker: the sender\'s ArrayBuffer is detached, the worker gets the bytes', async () => {
      const p = track(pool(methods, { maxWorkers: 1 }));
      const ab = new ArrayBuffer(1024);
      new Uint8Array(ab).fill(3);
      assert.deepEqual(await p.exec('inspect', [ab], { transfer: [ab] }), { shared: false, byteLength: 1024, sum: 3072 });
      assert.equal(ab.byteLength, 0, 'the sender\'s buffer is detached');
    });

    it('worker -> main: a returned Transfer moves its buffers', async () => {
      const p = track(pool(methods, { maxWorkers: 1 }));
      const r = await p.exec('transferOut', [4096]);
      assert.equal(r.n, 4096);
      assert.ok(r.ab instanceof ArrayBuffer);
      assert.equal(r.ab.byteLength, 4096);
      assert.equal(new Uint8Array(r.ab)[4095], 4095 & 255);
    });

    it('round trip: transferred there and back', async () => {
      const p = track(pool(methods, { maxWorkers: 1 }));
      const ab = new Uint8Array([1, 2, 3]).buffer;
      const back = await p.exec('transferBack', [ab], { transfer: [ab] });
      assert.equal(ab.byteLength, 0);
      assert.deepEqual([...new Uint8Array(back)], [2, 3, 4]);
    });

    it('a Transfer given as an exec parameter moves its buffers too', async () => {
      const p = track(pool(methods, { maxWorkers: 1 }));
      const ab = new ArrayBuffer(16);
      new Uint8Array(ab).fill(2);
      const r = await p.exec('inspect', [new Transfer(ab, [ab])]);
      assert.deepEqual(r, { shared: false, byteLength: 16, sum: 32 });
      assert.equal(ab.byteLength, 0);
    });

    it('a transferred task keeps its place in FIFO order among channel tasks', async () => {
      const p = track(pool(methods, { maxWorkers: 1, concurrentTasksPerWorker: 64 }));
      const ctr = shared(1);
      const tasks = [];
      for (let i = 0; i < 9; i++) {
        const ab = new ArrayBuffer(8);
        tasks.push(i % 2 ? p.exec('order', [ctr, 0, ab], { transfer: [ab] }) : p.exec('order', [ctr, 0, i]));
      }
      assert.deepEqual((await Promise.all(tasks)).map((r) => r.pos), [...Array(9).keys()]);
    });

    it('a transferred task that throws comes back as its error; one cancelled while queued never runs', async () => {
      const p = track(pool(methods, { maxWorkers: 1, concurrentTasksPerWorker: 1 }));
      const ab = new ArrayBuffer(8);
      await assert.rejects(p.exec('throwCustom', ['bad', ab], { transfer: [ab] }), (e) => e.name === 'ValidationError' && e.field === 'email');
      const i32 = shared(4);
      const blocker = p.exec('hold', [i32, 0, 1, 'held']);
      await until(i32, 0, 1);
      const ab2 = new ArrayBuffer(8);
      const queued = p.exec('bump', [i32, 2, ab2], { transfer: [ab2] });
      queued.cancel();
      release(i32, 1);
      await blocker;
      await assert.rejects(queued, (e) => e.code === 'ERR_RINGPOOL_CANCELLED');
      assert.equal(await p.exec('echo', [1]), 1);
      assert.equal(Atomics.load(i32, 2), 0);
    });
  });

  describe('SharedArrayBuffer values', () => {
    it('a SharedArrayBuffer parameter arrives shared: the worker\'s writes are seen by the caller', async () => {
      const p = track(pool(methods, { maxWorkers: 1 }));
      const i32 = shared(4);
      assert.equal(await p.exec('writeShared', [i32, 2, 77]), true);
      assert.equal(Atomics.load(i32, 2), 77);
      // Nested inside other values, and next to a transfer list.
      const holder = { deep: [{ i32 }] };
      assert.equal(await p.exec((h) => { Atomics.store(h.deep[0].i32, 3, 5); return h.deep[0].i32.buffer instanceof SharedArrayBuffer; }, [holder]), true);
      assert.equal(Atomics.load(i32, 3), 5);
      const ab = new ArrayBuffer(4);
      assert.equal(await p.exec('writeShared', [i32, 1, 9, ab], { transfer: [ab] }), true);
      assert.equal(Atomics.load(i32, 1), 9);
      assert.deepEqual(await p.exec('inspect', [i32.buffer]), { shared: true, byteLength: 16, sum: 77 + 5 + 9 });
    });

    it('a SharedArrayBuffer result arrives shared', async () => {
      const p = track(pool(methods, { maxWorkers: 1 }));
      const i32 = await p.exec('returnShared', [4]);
      assert.ok(i32.buffer instanceof SharedArrayBuffer);
      assert.equal(i32[0], 42);
      // Still the same memory: a worker writes, the main thread reads.
      await p.exec('writeShared', [i32, 1, 8]);
      assert.equal(Atomics.load(i32, 1), 8);
    });
  });
});
