'use strict';
/* SharedMap across threads: exact counts under update() from many workers with lock-free
 * readers alongside; workers terminated while holding a stripe (inside update()) and in the
 * middle of a stream of writes, after which the map is consistent and writable. */
const assert = require('node:assert/strict');
const { rp, startJob, runJob, testSeed } = require('./helpers');

const { SharedMap } = rp;

/** Every entry decodes, iteration agrees with size, and the map takes writes. */
function assertConsistent(m) {
  const entries = [...m];
  assert.equal(entries.length, m.size, 'iteration and size agree');
  assert.equal(new Set(entries.map(([k]) => k)).size, entries.length, 'no key twice');
  for (const [k, v] of entries) assert.deepEqual(m.get(k), v, `get(${k}) agrees with iteration`);
  m.set('__probe__', 1);
  assert.equal(m.get('__probe__'), 1);
  m.delete('__probe__');
}

describe('SharedMap across threads', function () {
  this.timeout(30000);

  for (const workers of [2, 4, 8]) {
    it(`${workers} workers incrementing with update(): final counts are exact`, async () => {
      const seed = testSeed();
      const m = new SharedMap({ stripes: 16 });
      const keys = Array.from({ length: 12 }, (_, i) => `counter-${i}`);
      const stop = new SharedArrayBuffer(4);
      const reader = startJob('readLoop', { map: m, keys, stop });
      const n = Math.floor(8000 / workers);
      const results = await Promise.all(Array.from({ length: workers }, (_, w) => runJob('incr', { map: m, keys, n, seed: seed + w })));
      Atomics.store(new Int32Array(stop), 0, 1);
      const reads = await reader.result;
      assert.ok(reads > 0);
      const expected = {};
      for (const r of results) for (const [k, c] of Object.entries(r)) expected[k] = (expected[k] ?? 0) + c;
      let total = 0;
      for (const k of keys) {
        assert.equal(m.get(k)?.n ?? 0, expected[k] ?? 0, `${k} (seed ${seed})`);
        total += m.get(k)?.n ?? 0;
      }
      assert.equal(total, n * workers);
      assertConsistent(m);
    });
  }

  it('a worker terminated inside update() does not leave the key locked', async () => {
    const m = new SharedMap({ stripes: 1 }); // one stripe: every key shares the lock
    m.set('k', 1);
    const job = startJob('holdForever', { map: m, key: 'k' });
    assert.equal(await job.nextMessage(), 'holding');
    // readers never wait for a lock
    assert.equal(m.get('k'), 1);
    const exited = new Promise((resolve) => job.worker.once('exit', resolve));
    await job.worker.terminate();
    await exited;
    // the worker's teardown released the stripe: writers get through
    assert.equal(m.update('k', (v) => v + 1), 2);
    m.set('other', 'x');
    assertConsistent(m);
  });

  it('a writer blocked on a stripe held by a worker gets through once that worker is terminated', async () => {
    const m = new SharedMap({ stripes: 1 });
    const holder = startJob('holdForever', { map: m, key: 'a' });
    assert.equal(await holder.nextMessage(), 'holding');
    const writer = startJob('countUp', { map: m, key: 'b', n: 3 });
    // The writer blocks on the stripe; terminating the holder must release it.
    await holder.worker.terminate();
    assert.equal(await writer.result, 3);
    assert.equal(m.get('b'), 3);
    assertConsistent(m);
  });

  it('a worker terminated in the middle of a stream of writes leaves a consistent map', async () => {
    for (let round = 0; round < 3; round++) {
      const m = new SharedMap({ stripes: 4, initialBytes: 8192 });
      const job = startJob('writeForever', { map: m, prefix: 'w' });
      assert.equal(await job.nextMessage(), 'writing');
      await job.worker.terminate();
      assertConsistent(m);
      for (const [k, v] of m) {
        assert.match(String(k), /^w\d+$/);
        assert.equal(typeof v.i, 'number');
        assert.equal(v.body, 'y'.repeat(v.i % 300));
      }
      // every key is still writable (no stripe left locked)
      for (let i = 0; i < 500; i++) m.set(`w${i}`, { i, body: '' });
      assert.equal(m.size, 500);
    }
  });
});
