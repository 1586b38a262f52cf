'use strict';
// mapStream: order, backpressure (never more than highWaterMark items read and not yet taken
// by the consumer), early break (the source's return() runs, work in flight is cancelled),
// ordered: false, errors, async sources and functions, AbortSignal.
const assert = require('node:assert/strict');
const {
  rp, fixture, sharedPool, usePools, shared, until, release, untilIdle, outcome, within, gatedItem, range, STARTED,
} = require('./support');

const { pool, CancellationError } = rp;
const methods = fixture('batch-methods.js');

/** A source that records how many items were pulled and whether return() ran. */
function counted(n, make = (i) => i) {
  const state = { pulled: 0, returned: false, done: false };
  function* gen() {
    try {
      for (let i = 0; i < n; i++) {
        state.pulled++;
        yield make(i);
      }
      state.done = true;
    } finally {
      if (!state.done) state.returned = true;
    }
  }
  return { state, source: gen() };
}

async function collect(iterable) {
  const out = [];
  for await (const y of iterable) out.push(y);
  return out;
}

describe('batch: mapStream', () => {
  const common = sharedPool();
  const track = usePools();

  it('yields results in input order (sync iterable, function)', async () => {
    const p = common();
    assert.deepEqual(await collect(p.mapStream(range(200), (x) => x * 3)), range(200).map((x) => x * 3));
  });

  it('async iterable source, async function, named method', async () => {
    const p = common();
    async function* src() {
      for (let i = 0; i < 40; i++) {
        await null;
        yield i;
      }
    }
    assert.deepEqual(await collect(p.mapStream(src(), async (x) => {
      await null;
      return -x;
    }, { highWaterMark: 5 })), range(40).map((x) => -x));
    assert.deepEqual(await collect(p.mapStream(range(30), 'double', { highWaterMark: 3 })), range(30).map((x) => x * 2));
  });

  it('empty source and one item', async () => {
    const p = common();
    assert.deepEqual(await collect(p.mapStream([], (x) => x)), []);
    assert.deepEqual(await collect(p.mapStream([7], (x) => x + 1)), [8]);
  });

  for (const hwm of [1, 2, 5, 16]) {
    it(`backpressure: a slow consumer never has more than highWaterMark (${hwm}) items read and not yet yielded`, async () => {
      const p = common();
      const { state, source } = counted(60);
      let consumed = 0;
      let maxAhead = 0;
      for await (const y of p.mapStream(source, (x) => x * 2, { highWaterMark: hwm })) {
        assert.equal(y, consumed * 2);
        consumed++;
        const ahead = state.pulled - consumed;
        maxAhead = Math.max(maxAhead, ahead);
        assert.ok(ahead <= hwm, `item ${consumed - 1}: ${state.pulled} pulled, ${consumed} consumed, highWaterMark ${hwm}`);
        // a slow consumer: every task in flight finishes before the next item is taken
        await untilIdle(p);
        assert.ok(state.pulled - consumed <= hwm, `after the pool went idle: ${state.pulled} pulled, ${consumed} consumed`);
      }
      assert.equal(consumed, 60);
      assert.equal(state.pulled, 60);
      assert.ok(maxAhead >= hwm - 1, `the stream never read ahead (max ${maxAhead})`);
    });
  }

  it('backpressure with an async source and concurrency below highWaterMark', async () => {
    const p = common();
    let pulled = 0;
    async function* src() {
      for (let i = 0; i < 50; i++) {
        pulled++;
        yield i;
      }
    }
    let consumed = 0;
    for await (const y of p.mapStream(src(), (x) => x, { highWaterMark: 8, concurrency: 3 })) {
      assert.equal(y, consumed);
      consumed++;
      assert.ok(pulled - consumed <= 8, `${pulled} pulled, ${consumed} consumed`);
      await untilIdle(p);
    }
    assert.equal(consumed, 50);
  });

  it('early break: the source return() runs, queued items never start, the running one is cancelled', async () => {
    // One worker taking one task at a time: item 0 returns, item 1 is held at the gate,
    // items 2-3 (read ahead, highWaterMark 4) wait on the main thread.
    const p = track(pool(methods, { minWorkers: 1, maxWorkers: 1, concurrentTasksPerWorker: 1 }));
    await p.exec('double', [1]);
    const ctl = shared(4);
    const { state, source } = counted(100, (i) => ({ ctl, i }));
    const fn = (item) => {
      if (item.i === 0) return 'first';
      const c = item.ctl;
      Atomics.add(c, 1, 1);
      Atomics.notify(c, 1);
      while (Atomics.load(c, 0) === 0) Atomics.wait(c, 0, 0);
      return item.i;
    };
    const got = [];
    await within((async () => {
      for await (const y of p.mapStream(source, fn, { highWaterMark: 4 })) {
        got.push(y);
        await until(ctl, STARTED, 1, 'item 1 to start');
        assert.equal(p.stats().activeTasks, 1);
        assert.equal(p.stats().pendingTasks, 2);
        break;
      }
    })(), 10000, 'the stream did not yield item 0', () => release(ctl));
    assert.deepEqual(got, ['first']);
    assert.equal(state.returned, true, "the source's return() did not run");
    assert.equal(state.pulled, 4);
    assert.equal(p.stats().pendingTasks, 0, 'items read ahead are still queued');
    release(ctl);
    await untilIdle(p);
    assert.equal(Atomics.load(ctl, STARTED), 1, 'items read ahead ran after the break');
    assert.equal(p.stats().activeTasks, 0);
  });

  it('early break with 2 workers: the source return() runs and nothing keeps running', async () => {
    const p = track(pool(methods, { minWorkers: 2, maxWorkers: 2, concurrentTasksPerWorker: 2 }));
    await Promise.all([p.exec('double', [1]), p.exec('double', [2])]);
    const ctl = shared(4);
    const { state, source } = counted(1000, (i) => ({ ctl, i }));
    for await (const y of p.mapStream(source, (item) => item.i, { highWaterMark: 8 })) {
      if (y === 20) break;
    }
    assert.equal(state.returned, true);
    assert.ok(state.pulled <= 21 + 8, `${state.pulled} pulled`);
    await untilIdle(p);
    assert.equal(p.stats().activeTasks, 0);
  });

  it('the running item of a broken-off stream is cancelled: its signal fires', async () => {
    const p = track(pool(methods, { minWorkers: 1, maxWorkers: 1, concurrentTasksPerWorker: 1 }));
    await p.exec('double', [1]);
    const ctl = shared(4);
    async function waitForAbort(item) {
      if (item.i === 0) return 'first';
      const c = item.ctl;
      const signal = this.signal;
      const aborted = new Promise((resolve) => {
        if (signal.aborted) resolve();
        else signal.addEventListener('abort', resolve, { once: true });
      });
      Atomics.add(c, 1, 1);
      Atomics.notify(c, 1);
      await aborted;
      Atomics.store(c, 3, 1);
      Atomics.notify(c, 3);
      return 'aborted';
    }
    const { state, source } = counted(10, (i) => ({ ctl, i }));
    for await (const y of p.mapStream(source, waitForAbort, { highWaterMark: 2 })) {
      assert.equal(y, 'first');
      await until(ctl, STARTED, 1);
      break;
    }
    assert.equal(state.returned, true);
    await until(ctl, 3, 1, 'the abort signal of the running item');
    await untilIdle(p);
  });

  it('ordered: false yields every result exactly once, as they complete', async () => {
    // One task per worker at a time. Item 0 holds its worker until every other item is done,
    // so in completion order it comes (nearly) last. With ordered: true and the same highWaterMark this
    // would wait forever for item 0; unordered, the stream goes on around it.
    const p = track(pool(methods, { minWorkers: 2, maxWorkers: 2, concurrentTasksPerWorker: 1 }));
    await Promise.all([p.exec('double', [1]), p.exec('double', [2])]);
    const N = 30;
    const ctl = shared(4);
    const fn = (item) => {
      const c = item.ctl;
      if (item.i === 0) {
        for (let d = Atomics.load(c, 2); d < item.n - 1; d = Atomics.load(c, 2)) Atomics.wait(c, 2, d);
      } else {
        Atomics.add(c, 2, 1);
        Atomics.notify(c, 2);
      }
      return item.i;
    };
    const got = await within(collect(p.mapStream(range(N).map((i) => ({ ctl, i, n: N })), fn, { ordered: false, highWaterMark: 4 })),
      10000, 'the unordered stream stalled', () => Atomics.store(ctl, 2, N));
    assert.equal(got.length, N);
    assert.deepEqual([...got].sort((a, b) => a - b), range(N));
    // when item 0 is let go, at most highWaterMark items are read and not yet yielded
    assert.ok(got.indexOf(0) >= N - 4, `item 0 should come among the last: ${got}`);
  });

  it('ordered: false with a plain workload: exactly once', async () => {
    const p = common();
    const got = await collect(p.mapStream(range(500), async (x) => {
      for (let k = 0; k < x % 5; k++) await null;
      return x;
    }, { ordered: false, highWaterMark: 10 }));
    assert.equal(got.length, 500);
    assert.deepEqual(got.sort((a, b) => a - b), range(500));
  });

  it('an item that throws ends the stream with its error (index attached) after the earlier results; the source is closed', async () => {
    const p = common();
    const { state, source } = counted(100);
    const got = [];
    const o = await outcome((async () => {
      for await (const y of p.mapStream(source, (x) => {
        if (x === 10) throw new RangeError('ten');
        return x;
      }, { highWaterMark: 4 })) got.push(y);
    })());
    assert.ok(o.error instanceof RangeError);
    assert.equal(o.error.message, 'ten');
    assert.equal(o.error.index, 10);
    assert.deepEqual(got, range(10));
    assert.equal(state.returned, true);
    await untilIdle(p);
  });

  it('a source that throws ends the stream with its error and cancels work in flight', async () => {
    const p = common();
    function* bad() {
      yield 1;
      yield 2;
      throw new Error('source failed');
    }
    const o = await outcome(collect(p.mapStream(bad(), (x) => x)));
    assert.equal(o.error.message, 'source failed');
    await untilIdle(p);
  });

  it('AbortSignal: aborting mid-stream rejects with CancellationError and closes the source', async () => {
    const p = track(pool(methods, { minWorkers: 1, maxWorkers: 1, concurrentTasksPerWorker: 1 }));
    await p.exec('double', [1]);
    const ctl = shared(4);
    const ac = new AbortController();
    const { state, source } = counted(50, (i) => ({ ctl, i }));
    const fn = (item) => {
      if (item.i < 2) return item.i;
      const c = item.ctl;
      Atomics.add(c, 1, 1);
      Atomics.notify(c, 1);
      while (Atomics.load(c, 0) === 0) Atomics.wait(c, 0, 0);
      return item.i;
    };
    const got = [];
    const run = outcome((async () => {
      for await (const y of p.mapStream(source, fn, { highWaterMark: 4, signal: ac.signal })) got.push(y);
    })());
    await until(ctl, STARTED, 1, 'item 2 to start');
    ac.abort('stop');
    const o = await within(run, 10000, 'the stream did not end on abort', () => release(ctl));
    assert.ok(o.error instanceof CancellationError, `${o.error}`);
    assert.equal(o.error.cause, 'stop');
    assert.equal(state.returned, true);
    release(ctl);
    await untilIdle(p);
    assert.equal(Atomics.load(ctl, STARTED), 1);
  });

  it('gated items flow through once released (sanity of the gate helpers)', async () => {
    const p = common();
    const ctl = shared(4);
    release(ctl);
    const got = await collect(p.mapStream(range(10).map((i) => ({ ctl, i })), gatedItem, { highWaterMark: 3 }));
    assert.deepEqual(got, range(10).map((i) => i * 10));
  });
});
