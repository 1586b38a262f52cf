'use strict';
// Sync objects passed as pool task arguments (and returned as results) arrive as live objects
// of the same class, sharing state with the original.
const assert = require('node:assert/strict');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const rp = require(root);

describe('sync objects travel through the pool', function () {
  this.timeout(20000);
  let p;
  afterEach(async () => {
    if (p) await p.terminate();
    p = undefined;
  });

  it('a Mutex argument excludes across workers; a returned one is a Mutex again', async () => {
    p = rp.pool({ maxWorkers: 2 });
    const mu = new rp.Mutex();
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const runs = Array.from({ length: 6 }, () =>
      p.exec(
        async (mu, c, pkg) => {
          const { Mutex } = require(pkg);
          if (!(mu instanceof Mutex)) throw new Error('argument is not a Mutex');
          for (let i = 0; i < 300; i++) {
            const g = await mu.lock();
            const v = c[0]; // plain read-modify-write: only the lock makes it exact
            await null;
            c[0] = v + 1;
            g.unlock();
          }
          return mu;
        },
        [mu, counter, root],
      ),
    );
    const back = await Promise.all(runs);
    assert.equal(counter[0], 6 * 300);
    for (const m of back) assert.ok(m instanceof rp.Mutex);
    assert.equal(mu.locked, false);
  });

  it('every kind arrives as its own class', async () => {
    p = rp.pool({ maxWorkers: 1 });
    const objs = [new rp.Mutex(), new rp.RwLock(), new rp.Semaphore(2), new rp.Barrier(1), new rp.Latch(1), new rp.Condition()];
    const names = await p.exec((objs, pkg) => {
      const lib = require(pkg);
      return objs.map((o) => Object.keys(lib).find((k) => typeof lib[k] === 'function' && o instanceof lib[k] && k !== 'Object') ?? 'none');
    }, [objs, root]);
    assert.deepEqual(names, ['Mutex', 'RwLock', 'Semaphore', 'Barrier', 'Latch', 'Condition']);
  });
});
