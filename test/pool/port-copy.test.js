'use strict';
// Copied (not transferred) payloads larger than a channel record: they take the MessagePort
// path, published one marker at a time, with a per-worker window of copied bytes in flight
// (WorkerHandle.portFull). And the lazy package entry (dist/entry.js) that keeps a worker's
// start-up light.
const assert = require('node:assert/strict');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { rp, root, fixture, shared, usePools, outcome } = require('./support');

const { pool } = rp;
const methods = fixture('methods.js');
const kMiB = 1 << 20;

function stamped(i, size = kMiB) {
  const ab = new ArrayBuffer(size);
  const v = new Uint32Array(ab);
  v[0] = i;
  v[v.length - 1] = ~i >>> 0;
  v[v.length >> 1] = i * 31;
  return ab;
}

function checkStamp(ab, i, size = kMiB) {
  assert.ok(ab instanceof ArrayBuffer, `task ${i}: not an ArrayBuffer`);
  assert.equal(ab.byteLength, size, `task ${i}: byteLength`);
  const v = new Uint32Array(ab);
  assert.equal(v[0], i, `task ${i}: first word`);
  assert.equal(v[v.length - 1], ~i >>> 0, `task ${i}: last word`);
  assert.equal(v[v.length >> 1], i * 31, `task ${i}: middle word`);
}

describe('pool: copied payloads on the MessagePort path', () => {
  const track = usePools();

  it('a copied 1 MiB ArrayBuffer comes back with its bytes; the caller keeps its buffer attached and unchanged', async () => {
    const p = track(pool(methods, { maxWorkers: 1 }));
    const ab = stamped(7);
    const r = await p.exec('echo', [ab]);
    checkStamp(r, 7);
    assert.notEqual(r, ab, 'a copy, not the same object');
    checkStamp(ab, 7); // still attached, same bytes
    new Uint8Array(r).fill(1);
    checkStamp(ab, 7); // the copy does not share memory with it
  });

  it('many copied 1 MiB buffers in flight at once (more than the window): every result is its own, in order per worker', async () => {
    const p = track(pool(methods, { minWorkers: 2, maxWorkers: 2 }));
    const n = 40;
    const inputs = Array.from({ length: n }, (_, i) => stamped(i));
    const rs = await Promise.all(inputs.map((ab) => p.exec('echo', [ab])));
    rs.forEach((r, i) => checkStamp(r, i));
    inputs.forEach((ab, i) => checkStamp(ab, i));
    // The window drains back to zero: the pool takes small tasks afterwards as before.
    assert.deepEqual(await Promise.all(Array.from({ length: 100 }, (_, i) => p.exec('add', [i, 1]))), Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it('typed arrays and mixed sizes keep their bytes and types; small tasks between them keep FIFO order', async () => {
    const p = track(pool(methods, { maxWorkers: 1, concurrentTasksPerWorker: 64 }));
    const ctr = shared(1);
    const tasks = [];
    const bigs = [];
    for (let i = 0; i < 24; i++) {
      if (i % 3 === 0) {
        const u8 = new Uint8Array(stamped(i, 2 * kMiB)).subarray(4, 2 * kMiB - 4);
        bigs.push([i, u8]);
        tasks.push(p.exec('echo', [u8]));
      } else {
        tasks.push(p.exec('order', [ctr, 0, i]));
      }
    }
    const rs = await Promise.all(tasks);
    let pos = 0;
    for (let i = 0; i < 24; i++) {
      if (i % 3 === 0) {
        const u8 = bigs.find(([j]) => j === i)[1];
        assert.ok(rs[i] instanceof Uint8Array);
        assert.equal(rs[i].byteLength, u8.byteLength);
        assert.ok(Buffer.from(rs[i].buffer, rs[i].byteOffset, rs[i].byteLength).equals(Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength)), `task ${i}: bytes differ`);
      } else {
        assert.equal(rs[i].pos, pos++, `task ${i}: out of order`);
      }
    }
  });

  it('errors and cancellations of copied big tasks settle each task exactly once and release the window', async () => {
    const p = track(pool(methods, { maxWorkers: 1 }));
    const n = 30;
    const ps = [];
    for (let i = 0; i < n; i++) {
      const ab = stamped(i, 2 * kMiB);
      if (i % 5 === 1) ps.push(p.exec((x) => { throw Object.assign(new Error(`bad ${new Uint32Array(x)[0]}`), { code: 'E_BAD' }); }, [ab]));
      else ps.push(p.exec('echo', [ab]));
    }
    // Queued behind the window: cancel some of the later ones.
    for (let i = 20; i < n; i += 3) ps[i].cancel();
    const outs = await Promise.all(ps.map(outcome));
    for (let i = 0; i < n; i++) {
      const o = outs[i];
      if (i >= 20 && (i - 20) % 3 === 0) {
        // Cancelled: rejected with CancellationError unless it had already finished.
        if (!o.ok) assert.equal(o.error.name, 'CancellationError', `task ${i}: ${o.error}`);
      } else if (i % 5 === 1) {
        assert.equal(o.ok, false, `task ${i} should fail`);
        assert.equal(o.error.code, 'E_BAD');
        assert.equal(o.error.message, `bad ${i}`);
      } else {
        assert.equal(o.ok, true, `task ${i}: ${o.error}`);
        checkStamp(o.value, i, 2 * kMiB);
      }
    }
    assert.equal(await p.exec('add', [2, 3]), 5);
    assert.equal(p.stats().activeTasks, 0);
  });

  it('a big copied result from a small task comes back whole (worker -> main on the port)', async () => {
    const p = track(pool(methods, { maxWorkers: 2 }));
    const rs = await Promise.all(Array.from({ length: 12 }, () => p.exec('bigBytes', [3 * kMiB])));
    for (const u8 of rs) {
      assert.equal(u8.length, 3 * kMiB);
      assert.equal(u8[3 * kMiB - 1], (3 * kMiB - 1) & 255);
    }
  });
});

describe('pool: large copied binary arguments through the staging ring', () => {
  const track = usePools();
  const kinds = (a) => [Object.prototype.toString.call(a), a.byteOffset ?? 0, a.length ?? a.byteLength, (a.buffer ?? a).byteLength];

  it('typed arrays, DataViews and Buffers arrive as structured clone makes them: kind, offset, length, whole buffer, bytes', async () => {
    const p = track(pool({ maxWorkers: 1 }));
    const ab = stamped(3, 2 * kMiB);
    const f64 = new Float64Array(ab, 8, 1000);
    const dv = new DataView(ab, 16, 4096);
    const buf = Buffer.from(stamped(4));
    const u8 = new Uint8Array(stamped(5));
    const inspect = (a, b, c, d, n) => [a, b, c, d].map((x) => [Object.prototype.toString.call(x), x.byteOffset, x.length ?? x.byteLength, x.buffer.byteLength, new Uint32Array(x.buffer)[0]]).concat([[n]]);
    const r = await p.exec(inspect, [f64, dv, buf, u8, 42]);
    assert.deepEqual(r, [
      ['[object Float64Array]', 8, 1000, 2 * kMiB, 3],
      ['[object DataView]', 16, 4096, 2 * kMiB, 3],
      ['[object Uint8Array]', 0, kMiB, kMiB, 4], // a Buffer arrives as a Uint8Array, as with postMessage
      ['[object Uint8Array]', 0, kMiB, kMiB, 5],
      [42],
    ]);
    checkStamp(ab, 3, 2 * kMiB); // the caller's buffers stay attached and unchanged
    assert.deepEqual(kinds(f64), ['[object Float64Array]', 8, 1000, 2 * kMiB]);
  });

  it('the same large buffer twice, or inside another argument, keeps its identity (structured clone does it)', async () => {
    const p = track(pool({ maxWorkers: 1 }));
    const ab = stamped(9);
    const view = new Uint8Array(ab);
    const same = (a, b, o) => [a === b.buffer, a === o.ab, new Uint32Array(a)[0]];
    assert.deepEqual(await p.exec(same, [ab, view, { ab }]), [true, true, 9]);
    const twice = (a, b) => a === b;
    assert.equal(await p.exec(twice, [ab, ab]), true);
  });

  it('more than the ring holds, with cancellations between: every task that runs gets its own bytes', async () => {
    const p = track(pool({ minWorkers: 2, maxWorkers: 2 }));
    const words = (a, b, n) => [new Uint32Array(a)[0], new Uint32Array(b.buffer)[0], n];
    const round = async (base, cancelOdd) => {
      const tasks = [];
      for (let i = 0; i < 24; i++) {
        const t = p.exec(words, [stamped(base + 2 * i), new Int32Array(stamped(base + 2 * i + 1)), i]);
        if (cancelOdd && i % 2 === 1) t.cancel();
        tasks.push(t);
      }
      const out = await Promise.allSettled(tasks);
      out.forEach((o, i) => {
        if (cancelOdd && i % 2 === 1) return; // cancelled: rejected, or finished first
        assert.equal(o.status, 'fulfilled', `task ${i}`);
        assert.deepEqual(o.value, [base + 2 * i, base + 2 * i + 1, i]);
      });
    };
    await round(0, true);
    await round(100, false); // the ring was given back for the cancelled ones too
    await round(200, false);
  });
});

describe('package entry: lazy CommonJS entry', () => {
  it('exports the same names, in the same order, and the same objects as dist/index.js', () => {
    const index = require(path.join(root, 'dist', 'index.js'));
    assert.deepEqual(Object.keys(rp), Object.keys(index));
    for (const k of Object.keys(index)) assert.equal(rp[k], index[k], k);
  });

  it('a worker that only calls worker() does not load the pool, sync or shared modules', async () => {
    const src = `
      const { parentPort } = require('node:worker_threads');
      const rp = require(${JSON.stringify(root)});
      rp.worker({ f: () => 1 });
      const loaded = Object.keys(require.cache).filter((f) => f.includes(${JSON.stringify(path.join(root, 'dist'))}));
      parentPort.postMessage(loaded.map((f) => f.slice(${JSON.stringify(path.join(root, 'dist'))}.length + 1)));
    `;
    const w = new Worker(src, { eval: true });
    const loaded = await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    await w.terminate();
    for (const f of ['pool/pool.js', 'index.js', 'sync/index.js', 'shared/index.js', 'batch.js']) {
      assert.ok(!loaded.includes(f), `${f} was loaded: ${loaded.join(', ')}`);
    }
    assert.ok(loaded.includes('pool/worker-api.js'));
  });
});
