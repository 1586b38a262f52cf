'use strict';
// Bounded stress runs of the pool: 100,000 tasks whose results are all checked, and 20,000
// tasks during which workers die at random (a seeded, deterministic 1-in-500 choice of task
// ids that call process.exit(1)) — every task must settle exactly once, and only with its
// result or a WorkerExitError. Set RINGPOOL_POOL_SEED to replay a seed; failures print it.
const assert = require('node:assert/strict');
const { rp, fixture, usePools } = require('./support');

const { pool, WorkerExitError } = rp;
const methods = fixture('methods.js');

const kSeed = Number(process.env.RINGPOOL_POOL_SEED || 0x5eed);
const kEvery = 500;

/** Same choice as methods.js maybeCrash(). */
function chosen(seed, id, every) {
  let h = (seed ^ Math.imul(id, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return h % every === 0;
}

function gc() {
  if (typeof global.gc === 'function') global.gc();
}

describe('pool: stress', function () {
  this.timeout(120000);
  const track = usePools();

  it('100,000 tasks on 2 workers, every result checked', async () => {
    const p = track(pool(methods, { maxWorkers: 2 }));
    const n = 100000;
    const tasks = new Array(n);
    for (let i = 0; i < n; i++) {
      // Mixed: method calls with different argument shapes, and function tasks.
      if (i % 10 === 0) tasks[i] = p.exec((x) => x * 3, [i]);
      else if (i % 3 === 0) tasks[i] = p.exec('echo', [{ id: i, s: `v${i}` }]);
      else tasks[i] = p.exec('add', [i, i]);
    }
    const res = await Promise.all(tasks);
    let bad = 0;
    let firstBad = -1;
    for (let i = 0; i < n; i++) {
      const r = res[i];
      const ok = i % 10 === 0 ? r === i * 3 : i % 3 === 0 ? r.id === i && r.s === `v${i}` : r === 2 * i;
      if (!ok) {
        bad++;
        if (firstBad < 0) firstBad = i;
      }
    }
    assert.equal(bad, 0, `${bad} wrong results, first at task ${firstBad}: ${JSON.stringify(res[firstBad])}`);
    const s = p.stats();
    assert.equal(s.completedTasks, n);
    assert.equal(s.failedTasks, 0);
    assert.equal(s.runTime.count, n);
    gc();
  });

  /** Runs the crash scenario; returns per-id settlement counts and outcomes. */
  async function crashRun(opts, n = 20000) {
    const p = track(pool(methods, { maxWorkers: 2, ...opts }));
    let exits = 0;
    p.on('workerExit', () => exits++);
    const resolved = new Uint8Array(n);
    const rejected = new Uint8Array(n);
    const wrong = [];
    const tasks = [];
    for (let id = 0; id < n; id++) {
      tasks.push(p.exec('maybeCrash', [id, kSeed, kEvery]).then(
        (v) => {
          resolved[id]++;
          if (v !== id * 2) wrong.push(`task ${id} resolved with ${v}`);
        },
        (e) => {
          rejected[id]++;
          if (!(e instanceof WorkerExitError)) wrong.push(`task ${id} rejected with ${e && e.name}: ${e && e.message}`);
        },
      ));
    }
    await Promise.all(tasks);
    const s = p.stats();
    return { n, p, s, exits, resolved, rejected, wrong };
  }

  function checkExactlyOnce(run) {
    const { n, s, exits, resolved, rejected, wrong } = run;
    const crashers = [];
    for (let id = 0; id < n; id++) if (chosen(kSeed, id, kEvery)) crashers.push(id);
    const info = `seed ${kSeed}, ${crashers.length} crashing tasks, ${exits} worker exits`;
    assert.ok(crashers.length >= n / kEvery / 2, info);
    assert.deepEqual(wrong.slice(0, 5), [], info);
    let twice = 0;
    let never = 0;
    for (let id = 0; id < n; id++) {
      const k = resolved[id] + rejected[id];
      if (k === 0) never++;
      if (k > 1) twice++;
    }
    assert.equal(never, 0, `${never} tasks never settled (${info})`);
    assert.equal(twice, 0, `${twice} tasks settled twice (${info})`);
    for (const id of crashers) assert.equal(rejected[id], 1, `crashing task ${id} did not reject (${info})`);
    assert.ok(exits >= crashers.length, info);
    const nRejected = rejected.reduce((a, b) => a + b, 0);
    assert.equal(s.completedTasks + s.failedTasks, n, info);
    assert.equal(s.failedTasks, nRejected, info);
    assert.equal(s.activeTasks + s.pendingTasks, 0, info);
  }

  describe('20,000 tasks while workers die at random (default concurrency)', () => {
    let run;
    before(async function () {
      this.timeout(120000);
      run = await crashRun({});
      gc();
    });

    it('each task settles exactly once, with its result or a WorkerExitError', () => {
      checkExactlyOnce(run);
    });

    it('only the crashing tasks fail (results finished before a crash are not lost)', () => {
      const { n, rejected, exits } = run;
      const lost = [];
      for (let id = 0; id < n; id++) if (rejected[id] && !chosen(kSeed, id, kEvery)) lost.push(id);
      assert.equal(lost.length, 0, `seed ${kSeed}: ${lost.length} tasks that did not crash were rejected, e.g. ${lost.slice(0, 5)} (${exits} exits)`);
    });
  });

  it('5,000 tasks while workers die at random (concurrentTasksPerWorker: 1): each settles exactly once', async () => {
    // Smaller: what costs time is starting the replacement workers, and this run only adds
    // the one-task-at-a-time dispatch path to the one above.
    checkExactlyOnce(await crashRun({ concurrentTasksPerWorker: 1 }, 5000));
    gc();
  });
});
