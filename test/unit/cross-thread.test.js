'use strict';
// Main thread <-> worker, for every primitive. Threads synchronise only through shared
// memory: ringpool wait/notify, the structures themselves, and the waitCount diagnostic
// ("until the worker is queued"). Workers must exit by themselves (helpers/workers.js).
const assert = require('node:assert/strict');
const { rp, waitCount, totalWaiters, untilWaiters, untilBufferWaiters, sharedInt32 } = require('../helpers/ringpool');
const { startTask, runTask } = require('../helpers/workers');
const { tagged, makeRecord, checkRecord } = require('../fixtures/payload');
const { track, turn } = require('../fixtures/scenarios');

const { waitAsync, notify, Ring, Channel, SlotAllocator } = rp;

describe('cross-thread: wait / notify', () => {
  it('a waiter count given with the wait is decremented by the notify that wakes it, and only then', async () => {
    // lib/wait.ts waitAsyncCancellable(..., countIndex): the structures' waiter counts
    // (SharedQueue) lose a woken waiter on the notifying thread, at the wake-up itself.
    const { waitAsyncCancellable } = require('../../dist/wait.js');
    const i32 = sharedInt32(8);
    const COUNT = 5;
    // woken by a worker's notify: the count drops before this thread runs the waiter again
    Atomics.store(i32, COUNT, 2);
    const a = waitAsyncCancellable(i32, 1, 0, Infinity, undefined, COUNT);
    const b = waitAsyncCancellable(i32, 1, 0, Infinity, undefined, COUNT);
    assert.equal(await runTask('notify', { i32, index: 1, count: 1 }), 1);
    assert.equal(Atomics.load(i32, COUNT), 1, 'one woken, one still counted');
    assert.equal(await a, 'ok');
    notify(i32, 1, 1); // same thread: decremented inside notify()
    assert.equal(Atomics.load(i32, COUNT), 0);
    assert.equal(await b, 'ok');
    // timed out, aborted, or never queued: the count is the caller's to undo
    Atomics.store(i32, COUNT, 3);
    assert.equal(await waitAsyncCancellable(i32, 1, 0, 5, undefined, COUNT), 'timed-out');
    const ac = new AbortController();
    const c = waitAsyncCancellable(i32, 1, 0, Infinity, ac.signal, COUNT);
    ac.abort();
    assert.equal(await c, 'aborted');
    assert.equal(await waitAsyncCancellable(i32, 1, 7, Infinity, undefined, COUNT), 'not-equal');
    assert.equal(Atomics.load(i32, COUNT), 3);
    assert.equal(waitCount(i32, 1), 0);
  });

  it("a worker's notify wakes the main thread's async waiters (exact count, FIFO)", async () => {
    const i32 = sharedInt32();
    const order = [];
    const ws = [];
    for (let k = 0; k < 5; k++) {
      const w = waitAsync(i32, 1, 0);
      assert.equal(w.async, true);
      ws.push(w.value.then((v) => order.push([k, v])));
    }
    const tr = ws.map(track);
    assert.equal(await runTask('notify', { i32, index: 1, count: 3 }), 3);
    await Promise.all(ws.slice(0, 3));
    await turn();
    assert.deepEqual(tr.map((t) => t.settled), [true, true, true, false, false]);
    assert.equal(waitCount(i32, 1), 2);
    assert.equal(await runTask('notify', { i32, index: 1, store: 1 }), 2);
    await Promise.all(ws);
    assert.deepEqual(order, [[0, 'ok'], [1, 'ok'], [2, 'ok'], [3, 'ok'], [4, 'ok']]);
  });

  it('the main thread wakes a worker blocked in wait (no timeout, NaN, Infinity)', async () => {
    for (const timeout of [undefined, NaN, Infinity]) {
      const i32 = sharedInt32();
      const { result } = startTask('wait', { i32, index: 2, value: 0, timeout });
      await untilWaiters(i32, 2, 1);
      // still blocked after a finite timeout started later has run out
      assert.equal(await waitAsync(i32, 3, 0, 30).value, 'timed-out');
      assert.equal(waitCount(i32, 2), 1, `timeout ${timeout}: the worker stopped waiting`);
      Atomics.store(i32, 2, 1);
      assert.equal(notify(i32, 2), 1, `timeout ${timeout}`);
      assert.equal(await result, 'ok', `timeout ${timeout}`);
      assert.equal(waitCount(i32, 2), 0);
    }
  });

  it('a worker blocked in wait with a timeout times out by itself', async () => {
    const i32 = sharedInt32();
    assert.equal(await runTask('wait', { i32, index: 0, value: 0, timeout: 20 }), 'timed-out');
    assert.equal(await runTask('wait', { i32, index: 0, value: 1, timeout: 1e6 }), 'not-equal');
    assert.equal(waitCount(i32, 0), 0);
  });

  it('a worker sees the waiters the main thread queued (one process-wide table)', async () => {
    const i32 = sharedInt32();
    const w = waitAsync(i32, 3, 0);
    assert.equal(await runTask('waitCount', { i32, index: 3 }), 1);
    notify(i32, 3);
    assert.equal(await w.value, 'ok');
    assert.equal(await runTask('waitCount', { i32, index: 3 }), 0);
  });

  it("the main thread wakes a worker's async waiters in FIFO order", async () => {
    const i32 = sharedInt32();
    const ready = sharedInt32(1);
    const { result } = startTask('waitAsyncMany', { i32, index: 0, value: 0, n: 50, ready });
    await untilWaiters(i32, 0, 50);
    assert.equal(notify(i32, 0, 20), 20);
    assert.equal(notify(i32, 0), 30);
    const order = await result;
    assert.deepEqual(order, Array.from({ length: 50 }, (_, k) => [k, 'ok']));
  });
});

describe('cross-thread: Ring', () => {
  it('producer in a worker -> consumer on the main thread (popAsync)', async () => {
    const r = new Ring({ capacity: 8 });
    const count = 3000;
    const { result } = startTask('ringProduce', { buffer: r.buffer, tag: 5, count });
    for (let seq = 0; seq < count; seq++) {
      const v = await r.popAsync();
      assert.equal(v, tagged(5, seq), `item ${seq}`);
    }
    assert.equal(await result, count);
    assert.equal(r.pop(), undefined);
    assert.equal(totalWaiters(r.buffer), 0);
  });

  it('producer on the main thread (pushAsync) -> consumer in a worker (popWait)', async () => {
    const r = new Ring({ capacity: 4 });
    const count = 3000;
    const { result } = startTask('ringConsume', { buffer: r.buffer, count });
    for (let seq = 0; seq < count; seq++) await r.pushAsync(tagged(9, seq));
    const got = await result;
    assert.equal(got.length, count);
    for (let seq = 0; seq < count; seq++) assert.equal(got[seq], tagged(9, seq), `item ${seq}`);
    assert.equal(r.size, 0);
  });

  it('a worker blocked in popWait is woken by a push from the main thread', async () => {
    const r = new Ring({ capacity: 2 });
    const { result } = startTask('ringConsume', { buffer: r.buffer, count: 1 });
    await untilBufferWaiters(r.buffer, 1);
    r.push(2 ** 32 - 1);
    assert.deepEqual(await result, [2 ** 32 - 1]);
  });

  it('a worker blocked in pushWait on a full ring is woken by a pop on the main thread', async () => {
    const r = new Ring({ capacity: 1 });
    r.push(1);
    const { result } = startTask('ringProduce', { buffer: r.buffer, tag: 1, count: 1 });
    await untilBufferWaiters(r.buffer, 1);
    assert.equal(r.pop(), 1);
    assert.equal(await result, 1);
    assert.equal(r.pop(), tagged(1, 0));
  });
});

describe('cross-thread: Channel', () => {
  it('writer in a worker -> reader on the main thread (receiveAsync), byte-exact', async () => {
    const c = new Channel({ bytes: 1024 });
    const room = sharedInt32(1);
    const seed = 77;
    const count = 2000;
    const maxBody = Math.min(200, c.maxRecordBytes - 5);
    const { result } = startTask('channelWrite', { buffer: c.buffer, writer: 4, count, seed, maxBody, room });
    for (let seq = 0; seq < count; seq++) {
      const rec = await c.receiveAsync();
      Atomics.add(room, 0, 1);
      notify(room, 0);
      const id = checkRecord(seed, rec, maxBody);
      assert.deepEqual(id, { writer: 4, seq });
    }
    await result;
    assert.equal(c.receive(), undefined);
    assert.equal(totalWaiters(c.buffer), 0);
  });

  it('writer on the main thread -> reader in a worker (receiveWait)', async () => {
    const c = new Channel({ bytes: 4096 });
    const seed = 5;
    const maxBody = 100;
    const count = 25;
    const { result } = startTask('channelReceive', { buffer: c.buffer, count: count + 1 });
    await untilBufferWaiters(c.buffer, 1);
    for (let seq = 0; seq < count; seq++) assert.equal(c.send(makeRecord(seed, 1, seq, maxBody)), true);
    c.send('done ✓');
    const got = await result;
    assert.equal(got.length, count + 1);
    for (let seq = 0; seq < count; seq++) assert.deepEqual(checkRecord(seed, got[seq], maxBody), { writer: 1, seq });
    assert.equal(Buffer.from(got[count]).toString(), 'done ✓');
  });

  it('strings and byte arrays sent by a worker arrive intact', async () => {
    const c = new Channel({ bytes: 1024 });
    const items = ['', 'a', 'ünïcödé ✓ 🎉', new Uint8Array([0, 255, 1]), 'x'.repeat(100)];
    assert.equal(await runTask('channelSendList', { buffer: c.buffer, items }), items.length);
    for (const it of items) {
      if (typeof it === 'string') assert.equal(c.receiveString(), it);
      else assert.deepEqual(Array.from(c.receive()), Array.from(it));
    }
    assert.equal(c.receive(), undefined);
  });
});

describe('cross-thread: SlotAllocator', () => {
  it('slots allocated and filled in a worker are read and freed on the main thread', async () => {
    const s = new SlotAllocator({ slotSize: 64, slots: 16 });
    const indices = await runTask('slotsAllocFill', { buffer: s.buffer, n: 10, fill: 3 });
    assert.equal(new Set(indices).size, 10);
    assert.equal(s.available, 6);
    for (const i of indices) {
      const v = s.view(i);
      for (let b = 0; b < 64; b++) assert.equal(v[b], (i + 3 + b) & 255, `slot ${i} byte ${b}`);
      s.free(i);
    }
    assert.equal(s.available, 16);
  });

  it('slots allocated on the main thread are checked and freed in a worker', async () => {
    const s = new SlotAllocator({ slotSize: 32, slots: 8 });
    const indices = [];
    for (let k = 0; k < 8; k++) {
      const i = s.alloc();
      s.view(i).forEach((_, b, v) => {
        v[b] = (i + 9 + b) & 255;
      });
      indices.push(i);
    }
    assert.equal(s.alloc(), -1);
    assert.equal(await runTask('slotsCheckFree', { buffer: s.buffer, indices, fill: 9 }), 8);
    assert.equal(s.available, 8);
    assert.throws(() => s.free(indices[0]), (e) => e.code === 'ERR_RINGPOOL_INVALID_STATE');
  });

  it('two workers allocating at once never get the same slot', async () => {
    const s = new SlotAllocator({ slotSize: 8, slots: 64 });
    const [a, b] = await Promise.all([
      runTask('slotsAllocFill', { buffer: s.buffer, n: 32, fill: 0 }),
      runTask('slotsAllocFill', { buffer: s.buffer, n: 32, fill: 0 }),
    ]);
    assert.equal(new Set([...a, ...b]).size, 64);
    assert.equal(s.available, 0);
    assert.equal(s.alloc(), -1);
  });
});
