'use strict';
/* Shared collections travel: as pool exec arguments (at any depth) and results, in
 * workerData, and through postMessage, they arrive as the same collection. */
const assert = require('node:assert/strict');
const { Worker } = require('node:worker_threads');
const { rp, root } = require('./helpers');

const { SharedMap, SharedQueue, pool } = rp;

function evalWorker(src, workerData) {
  const w = new Worker(src, { eval: true, workerData });
  const messages = [];
  let wake;
  w.on('message', (m) => {
    messages.push(m);
    wake?.();
  });
  const next = async () => {
    while (messages.length === 0) await new Promise((r) => (wake = r));
    return messages.shift();
  };
  const exit = new Promise((resolve, reject) => {
    w.on('error', reject);
    w.on('exit', resolve);
  });
  return { w, next, exit };
}

describe('shared collections travel between threads', function () {
  this.timeout(20000);
  let p;
  afterEach(async () => {
    await p?.terminate(true);
    p = undefined;
  });

  it('as pool exec arguments and results (function tasks)', async () => {
    p = pool({ maxWorkers: 2 });
    const m = new SharedMap();
    const q = new SharedQueue({ capacity: 8 });
    m.set('a', 1);
    const r = await p.exec(
      (map, nested, rootPath) => {
        const { SharedMap: SM, SharedQueue: SQ } = require(rootPath);
        map.set('b', map.get('a') + 1);
        nested.list[0].queue.enqueue({ from: 'worker' });
        const made = new SM();
        made.set('born', 'in a worker');
        return { isMap: map instanceof SM, isQueue: nested.list[0].queue instanceof SQ, made, back: map };
      },
      [m, { list: [{ queue: q }] }, root],
    );
    assert.equal(r.isMap, true);
    assert.equal(r.isQueue, true);
    assert.equal(m.get('b'), 2);
    assert.deepEqual(q.tryDequeue(), { from: 'worker' });
    assert.ok(r.made instanceof SharedMap, 'a map created in the worker comes back as a SharedMap');
    assert.equal(r.made.get('born'), 'in a worker');
    assert.ok(r.back instanceof SharedMap);
    r.back.set('c', 3);
    assert.equal(m.get('c'), 3, 'the returned map is the same map');
  });

  it('many tasks on several workers share one map', async () => {
    p = pool({ maxWorkers: 2 });
    const m = new SharedMap();
    await Promise.all(Array.from({ length: 40 }, (_, i) => p.exec((map, k) => {
      for (let j = 0; j < 50; j++) map.update('n', (v) => (v ?? 0) + 1);
      map.set(`task${k}`, k);
    }, [m, i])));
    assert.equal(m.get('n'), 2000);
    assert.equal(m.size, 41);
  });

  it('in workerData and through postMessage, by hand with .handle / from()', async () => {
    const m = new SharedMap();
    m.set('x', 'main');
    const { w, next, exit } = evalWorker(
      `
      const { parentPort, workerData } = require('node:worker_threads');
      const { SharedMap } = require(workerData.root);
      const viaData = SharedMap.from(workerData.handle);
      viaData.set('y', 'worker');
      parentPort.once('message', (msg) => {
        // a SharedMap posted as a whole arrives as a plain copy of its own fields
        const viaPost = SharedMap.from(msg.map.handle);
        viaPost.set('z', msg.map.__ringpool__);
        const mine = new SharedMap();
        mine.set('w', 'made here');
        parentPort.postMessage({ map: mine });
      });
      parentPort.postMessage('ready');
      `,
      { root, handle: m.handle },
    );
    assert.equal(await next(), 'ready');
    assert.equal(m.get('y'), 'worker');
    w.postMessage({ map: m });
    const reply = await next();
    const theirs = SharedMap.from(reply.map.handle);
    assert.equal(theirs.get('w'), 'made here');
    assert.equal(m.get('z'), 'SharedMap');
    await exit;
  });
});
