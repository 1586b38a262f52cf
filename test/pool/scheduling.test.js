'use strict';
// How the pool hands out work: queue order (FIFO, LIFO, priority, a custom queue object),
// maxQueueSize, worker counts (minWorkers pre-warming and 'max', idleTimeout shrinking,
// maxTasksPerWorker recycling, concurrentTasksPerWorker), and stats() / 'drain'.
//
// Order tests use one worker that runs one task at a time: a first task holds the worker
// (blocked on a shared cell) while the others queue on the main thread; each queued task
// returns its position in execution order from a shared counter.
const assert = require('node:assert/strict');
const { rp, fixture, shared, until, release, usePools, outcome, once } = require('./support');

const { pool, QueueFullError } = rp;
const methods = fixture('methods.js');

// Cells: 0 started, 1 release, 2 execution counter.
async function holdWorker(p) {
  const i32 = shared(4);
  const blocker = p.exec('hold', [i32, 0, 1, 'held']);
  await until(i32, 0, 1);
  return { i32, blocker };
}

/** Execution order (tags) of tasks given as [tag, execOptions]; the worker is held meanwhile. */
async function executionOrder(p, specs) {
  const { i32, blocker } = await holdWorker(p);
  const tasks = specs.map(([tag, opts]) => p.exec('order', [i32, 2, tag], opts));
  assert.equal(p.stats().pendingTasks, specs.length, 'all queued behind the blocker');
  release(i32, 1);
  assert.equal(await blocker, 'held');
  const res = await Promise.all(tasks);
  return res.sort((a, b) => a.pos - b.pos).map((r) => r.tag);
}

describe('pool: queue order', () => {
  const track = usePools();
  const one = { maxWorkers: 1, concurrentTasksPerWorker: 1 };

  it("'fifo' (the default): first queued, first run", async () => {
    const p = track(pool(methods, one));
    assert.deepEqual(await executionOrder(p, [[0], [1], [2], [3], [4]]), [0, 1, 2, 3, 4]);
    const q = track(pool(methods, { ...one, queueStrategy: 'fifo' }));
    assert.deepEqual(await executionOrder(q, [['a'], ['b'], ['c']]), ['a', 'b', 'c']);
  });

  it("'lifo': last queued, first run", async () => {
    const p = track(pool(methods, { ...one, queueStrategy: 'lifo' }));
    assert.deepEqual(await executionOrder(p, [[0], [1], [2], [3], [4]]), [4, 3, 2, 1, 0]);
  });

  it("'priority': larger priority first, equal priorities in arrival order, default 0", async () => {
    const p = track(pool(methods, { ...one, queueStrategy: 'priority' }));
    const order = await executionOrder(p, [
      ['p1', { priority: 1 }], ['p5a', { priority: 5 }], ['p3', { priority: 3 }], ['p5b', { priority: 5 }],
      ['none'], ['neg', { priority: -2 }], ['p5c', { priority: 5 }], ['p0', { priority: 0 }],
    ]);
    assert.deepEqual(order, ['p5a', 'p5b', 'p5c', 'p3', 'p1', 'none', 'p0', 'neg']);
  });

  it("'priority' with a cancelled task in the middle of the heap", async () => {
    const p = track(pool(methods, { ...one, queueStrategy: 'priority' }));
    const { i32, blocker } = await holdWorker(p);
    const prios = [4, 9, 1, 7, 3, 8, 2];
    const tasks = prios.map((pr) => outcome(p.exec('order', [i32, 2, pr], { priority: pr })));
    const victim = prios.indexOf(7);
    const t = p.exec('order', [i32, 2, 'x'], { priority: 6 });
    t.cancel();
    release(i32, 1);
    await blocker;
    await assert.rejects(t, (e) => e.code === 'ERR_RINGPOOL_CANCELLED');
    const res = await Promise.all(tasks);
    assert.ok(res[victim].ok);
    const order = res.map((r) => r.value).sort((a, b) => a.pos - b.pos).map((r) => r.tag);
    assert.deepEqual(order, [9, 8, 7, 4, 3, 2, 1]);
  });

  it('a custom queue object: the pool pushes tasks (with their metadata) and pops what it returns', async () => {
    // Runs the task with the smallest metadata.rank first.
    const calls = { push: 0, pop: 0 };
    const items = [];
    const queue = {
      push(task) {
        calls.push++;
        items.push(task);
      },
      pop() {
        calls.pop++;
        if (items.length === 0) return undefined;
        let best = 0;
        for (let i = 1; i < items.length; i++) if (items[i].metadata.rank < items[best].metadata.rank) best = i;
        return items.splice(best, 1)[0];
      },
      size: () => items.length,
      contains: (task) => items.includes(task),
      clear() {
        items.length = 0;
      },
    };
    const p = track(pool(methods, { ...one, queueStrategy: queue }));
    const { i32, blocker } = await holdWorker(p);
    const tasks = [3, 1, 4, 0, 2].map((rank) => p.exec('order', [i32, 2, rank], { metadata: { rank } }));
    assert.equal(queue.size(), 5);
    release(i32, 1);
    await blocker;
    const order = (await Promise.all(tasks)).sort((a, b) => a.pos - b.pos).map((r) => r.tag);
    assert.deepEqual(order, [0, 1, 2, 3, 4]);
    assert.equal(calls.push, 6);
    assert.ok(calls.pop >= 6);
    assert.equal(queue.size(), 0);
  });

  it('a custom queue without remove(): a cancelled task stays in it but never runs', async () => {
    const items = [];
    const queue = { push: (t) => items.push(t), pop: () => items.shift(), size: () => items.length, contains: (t) => items.includes(t), clear: () => void (items.length = 0) };
    const p = track(pool(methods, { ...one, queueStrategy: queue }));
    const { i32, blocker } = await holdWorker(p);
    const victim = p.exec('bump', [i32, 3]);
    const after = p.exec('echo', ['after']);
    victim.cancel();
    await assert.rejects(victim, (e) => e.code === 'ERR_RINGPOOL_CANCELLED');
    release(i32, 1);
    await blocker;
    assert.equal(await after, 'after');
    assert.equal(Atomics.load(i32, 3), 0, 'the cancelled task ran');
  });
});

describe('pool: maxQueueSize', () => {
  const track = usePools();

  it('exec beyond maxQueueSize rejects with QueueFullError; queued tasks are not disturbed', async () => {
    const p = track(pool(methods, { maxWorkers: 1, concurrentTasksPerWorker: 1, maxQueueSize: 3 }));
    const { i32, blocker } = await holdWorker(p);
    const queued = [0, 1, 2].map((tag) => p.exec('order', [i32, 2, tag]));
    const over = await outcome(p.exec('order', [i32, 2, 'over']));
    assert.equal(over.ok, false, 'the 4th queued task must be refused');
    assert.ok(over.error instanceof QueueFullError);
    assert.equal(over.error.code, 'ERR_RINGPOOL_QUEUE_FULL');
    assert.equal(p.stats().pendingTasks, 3);
    release(i32, 1);
    await blocker;
    const res = await Promise.all(queued);
    assert.deepEqual(res.map((r) => r.tag), [0, 1, 2]);
    assert.deepEqual(res.map((r) => r.pos), [0, 1, 2]);
    assert.equal(Atomics.load(i32, 2), 3, 'the refused task never ran');
    // Room again once the queue drained.
    assert.equal(await p.exec('echo', ['room']), 'room');
    assert.equal(p.stats().failedTasks, 1);
  });
});

describe('pool: worker counts', () => {
  const track = usePools();

  it('minWorkers starts workers before any exec (workerCreate events, stats)', async () => {
    let created = 0;
    const p = track(pool(methods, { minWorkers: 2, maxWorkers: 3, onCreateWorker: () => void created++ }));
    assert.equal(p.stats().totalWorkers, 2);
    assert.equal(created, 2);
    const ids = new Set();
    await new Promise((resolve) => p.on('workerCreate', (e) => {
      ids.add(e.threadId);
      if (ids.size === 2) resolve();
    }));
    assert.equal(p.stats().totalWorkers, 2);
    assert.equal(p.stats().idleWorkers, 2);
    assert.equal(p.stats().completedTasks, 0);
  });

  it("minWorkers: 'max' starts maxWorkers workers", async () => {
    const p = track(pool(methods, { minWorkers: 'max', maxWorkers: 3 }));
    assert.equal(p.stats().totalWorkers, 3);
    const seen = new Set();
    await new Promise((resolve) => p.on('workerCreate', (e) => {
      seen.add(e.threadId);
      if (seen.size === 3) resolve();
    }));
  });

  it('minWorkers larger than the default maxWorkers raises the maximum', () => {
    const p = track(pool(methods, { minWorkers: rp.cpus + 1 }));
    assert.equal(p.stats().totalWorkers, rp.cpus + 1);
  });

  it('never more than maxWorkers workers', async () => {
    const p = track(pool(methods, { maxWorkers: 2, concurrentTasksPerWorker: 1 }));
    const i32 = shared(4);
    const tasks = Array.from({ length: 6 }, () => p.exec('hold', [i32, 0, 1, 'x']));
    await until(i32, 0, 2);
    const s = p.stats();
    assert.equal(s.totalWorkers, 2);
    assert.equal(s.busyWorkers, 2);
    assert.equal(s.activeTasks, 2);
    assert.equal(s.pendingTasks, 4);
    release(i32, 1);
    await Promise.all(tasks);
    assert.equal(p.stats().totalWorkers, 2);
  });

  it('idleTimeout stops idle workers down to minWorkers', async () => {
    const p = track(pool(methods, { minWorkers: 1, maxWorkers: 3, concurrentTasksPerWorker: 1, idleTimeout: 30 }));
    const i32 = shared(4);
    const tasks = Array.from({ length: 3 }, () => p.exec('hold', [i32, 0, 1, 'x']));
    await until(i32, 0, 3);
    assert.equal(p.stats().totalWorkers, 3);
    const exits = [];
    const twoExits = new Promise((resolve) => p.on('workerExit', (e) => {
      exits.push(e);
      if (exits.length === 2) resolve();
    }));
    release(i32, 1);
    await Promise.all(tasks);
    await twoExits;
    assert.equal(p.stats().totalWorkers, 1);
    for (const e of exits) assert.match(e.reason, /terminated by the pool/);
    assert.equal(await p.exec('echo', ['still works']), 'still works');
  });

  it('maxTasksPerWorker recycles a worker after that many tasks (threadId changes)', async () => {
    const p = track(pool(methods, { maxWorkers: 1, maxTasksPerWorker: 2 }));
    const seq = [];
    for (let i = 0; i < 6; i++) seq.push(await p.exec('threadId'));
    assert.equal(seq[0], seq[1]);
    assert.notEqual(seq[1], seq[2]);
    assert.equal(seq[2], seq[3]);
    assert.notEqual(seq[3], seq[4]);
    assert.equal(seq[4], seq[5]);
    // Issued at once: no worker runs more than 2 of them.
    const burst = await Promise.all(Array.from({ length: 10 }, () => p.exec('threadId')));
    const per = new Map();
    for (const id of burst) per.set(id, (per.get(id) || 0) + 1);
    for (const [id, n] of per) assert.ok(n <= 2, `worker ${id} ran ${n} tasks`);
    assert.equal(per.size, 5);
  });

  it('concurrentTasksPerWorker caps the tasks in flight at a worker', async () => {
    const p = track(pool(methods, { maxWorkers: 1, concurrentTasksPerWorker: 3 }));
    const i32 = shared(4);
    const tasks = Array.from({ length: 5 }, () => p.exec('holdAsync', [i32, 0, 1]));
    await until(i32, 0, 3);
    const s = p.stats();
    assert.equal(s.activeTasks, 3);
    assert.equal(s.pendingTasks, 2);
    release(i32, 1);
    assert.deepEqual(await Promise.all(tasks), Array(5).fill('released'));
    assert.equal(Atomics.load(i32, 0), 5);
  });

  it('by default async tasks overlap on one worker', async () => {
    const p = track(pool(methods, { maxWorkers: 1 }));
    const i32 = shared(4);
    const tasks = Array.from({ length: 6 }, () => p.exec('holdAsync', [i32, 0, 1]));
    await until(i32, 0, 6);
    assert.equal(p.stats().activeTasks, 6);
    release(i32, 1);
    assert.deepEqual(await Promise.all(tasks), Array(6).fill('released'));
  });
});

describe('pool: stats() and drain', () => {
  const track = usePools();

  it('counts what happened: completed, failed (errors, cancellations, timeouts), histograms', async () => {
    const p = track(pool(methods, { maxWorkers: 2 }));
    const empty = p.stats();
    assert.deepEqual(
      { ...empty, runTime: undefined, waitTime: undefined },
      { totalWorkers: 0, busyWorkers: 0, idleWorkers: 0, pendingTasks: 0, activeTasks: 0, completedTasks: 0, failedTasks: 0, runTime: undefined, waitTime: undefined },
    );
    assert.deepEqual(empty.runTime, { p50: 0, p90: 0, p99: 0, count: 0 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => p.exec('square', [i])));
    await assert.rejects(p.exec('throwCustom', ['x']));
    const c = p.exec('echo', [1]);
    c.cancel();
    await assert.rejects(c);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(p.exec('echo', [1], { signal: ac.signal }));
    const s = p.stats();
    assert.equal(s.completedTasks, 20);
    assert.equal(s.failedTasks, 3);
    assert.equal(s.activeTasks, 0);
    assert.equal(s.pendingTasks, 0);
    assert.equal(s.busyWorkers, 0);
    assert.equal(s.idleWorkers, s.totalWorkers);
    assert.equal(s.runTime.count, 21, 'every task that ran');
    assert.equal(s.waitTime.count, 21, 'every task that was dispatched');
    for (const h of [s.runTime, s.waitTime]) {
      assert.ok(h.p50 >= 0 && h.p50 <= h.p90 && h.p90 <= h.p99, JSON.stringify(h));
    }
  });

  it("emits 'drain' when the last task settled and nothing is queued", async () => {
    const p = track(pool(methods, { maxWorkers: 2 }));
    const drained = once(p, 'drain');
    const res = Promise.all(Array.from({ length: 50 }, (_, i) => p.exec('echo', [i])));
    await drained;
    const s = p.stats();
    assert.equal(s.activeTasks + s.pendingTasks, 0);
    assert.equal((await res).length, 50);
  });
});
