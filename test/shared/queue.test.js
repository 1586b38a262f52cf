'use strict';
/* SharedQueue: API and errors in one thread, async waits (abort, timeout), close() waking every
 * blocked consumer, and several producers and consumers in workers: no loss, no duplicate,
 * per-producer order. */
const assert = require('node:assert/strict');
const { rp, startJob, runJob } = require('./helpers');

const { SharedQueue, QueueFullError, QueueClosedError, RingpoolTypeError, RingpoolRangeError, AbortError, TimeoutError } = rp;

function throwsCode(fn, cls, code) {
  assert.throws(fn, (err) => err instanceof cls && err.code === code);
}

describe('SharedQueue', function () {
  this.timeout(30000);

  it('is a bounded FIFO of values', () => {
    const q = new SharedQueue({ capacity: 3 });
    assert.equal(q.capacity, 3);
    assert.equal(q.isEmpty, true);
    assert.equal(q.tryDequeue(), undefined);
    assert.equal(q.peek(), undefined);
    q.enqueue({ a: 1 });
    q.enqueue('two');
    q.enqueue([3]);
    assert.equal(q.size, 3);
    assert.throws(() => q.enqueue(4), (e) => e instanceof QueueFullError && e.code === 'ERR_RINGPOOL_QUEUE_FULL');
    assert.equal(q.tryEnqueue(4), false);
    assert.deepEqual(q.peek(), { a: 1 });
    assert.deepEqual(q.tryDequeue(), { a: 1 });
    assert.equal(q.tryDequeue(), 'two');
    assert.throws(() => q.enqueueMany([5, 6, 7]), QueueFullError);
    assert.equal(q.size, 1, 'enqueueMany is all or nothing');
    q.enqueueMany([5, 6]);
    assert.equal(q.size, 3);
    assert.equal(q.clear(), 3);
    assert.equal(q.size, 0);
    q.enqueue('x'.repeat(200000)); // larger than the read scratch
    assert.equal(q.tryDequeue(), 'x'.repeat(200000));
  });

  it('enqueueMany: many items of mixed sizes in one call, in order', () => {
    const q = new SharedQueue({ capacity: 2048 });
    const items = [];
    // More than enqueueMany's first length table (256), some too long for a slot (block records).
    for (let i = 0; i < 1500; i++) items.push(i % 97 === 0 ? { i, big: 'b'.repeat(3000 + i) } : { i, tag: `t${i % 7}` });
    q.enqueueMany(items);
    q.enqueueMany(new Set(['from a set', 'second']));
    assert.equal(q.size, 1502);
    for (const want of items) assert.deepStrictEqual(q.tryDequeue(), want);
    assert.equal(q.tryDequeue(), 'from a set');
    assert.equal(q.tryDequeue(), 'second');
    assert.equal(q.tryDequeue(), undefined);
  });

  it('a getter or an iterator that stores values elsewhere while an item is encoded leaves both whole', () => {
    const q = new SharedQueue({ capacity: 16 });
    const m = new rp.SharedMap();
    const item = {
      a: 'first',
      get b() {
        m.set('from getter', { nested: 'a value long enough to overwrite the item', n: [1, 2, 3] });
        q.enqueue('queued by a getter');
        return 'second';
      },
      c: [3, 'third'],
    };
    q.enqueue(item);
    assert.deepStrictEqual(q.tryDequeue(), 'queued by a getter');
    assert.deepStrictEqual(q.tryDequeue(), { a: 'first', b: 'second', c: [3, 'third'] });
    assert.deepStrictEqual(m.get('from getter'), { nested: 'a value long enough to overwrite the item', n: [1, 2, 3] });
    function* items() {
      yield { x: 1, s: 'one' };
      m.set('from iterator', ['written', 'between', 'two', 'items']);
      yield { y: 2, s: 'two' };
    }
    q.enqueueMany(items());
    assert.deepStrictEqual(q.tryDequeue(), { x: 1, s: 'one' });
    assert.deepStrictEqual(q.tryDequeue(), { y: 2, s: 'two' });
    assert.deepStrictEqual(m.get('from iterator'), ['written', 'between', 'two', 'items']);
    m.set('k', item);
    assert.deepStrictEqual(m.get('k'), { a: 'first', b: 'second', c: [3, 'third'] });
    assert.deepStrictEqual(q.tryDequeue(), 'queued by a getter');
  });

  it('async waits: dequeue waits for an item, enqueueAsync for room; abort and timeout', async () => {
    const q = new SharedQueue({ capacity: 1 });
    const pending = q.dequeue();
    setImmediate(() => q.enqueue('hello'));
    assert.equal(await pending, 'hello');
    q.enqueue(1);
    const put = q.enqueueAsync(2);
    setImmediate(() => q.tryDequeue());
    await put;
    assert.equal(q.tryDequeue(), 2);
    const ac = new AbortController();
    const aborted = q.dequeue({ signal: ac.signal });
    setImmediate(() => ac.abort('stop'));
    await assert.rejects(aborted, (e) => e instanceof AbortError && e.cause === 'stop');
    await assert.rejects(q.dequeue({ timeout: 5 }), (e) => e instanceof TimeoutError);
    q.enqueue(3);
    await assert.rejects(q.enqueueAsync(4, { timeout: 0 }), TimeoutError);
    assert.equal(q.tryDequeue(), 3, 'nothing was added by the failed enqueueAsync');
    assert.equal(q.tryDequeue(), undefined);
    await assert.rejects(q.dequeue({ signal: AbortSignal.abort() }), AbortError);
    q.enqueueMany([1, 2, 3].slice(0, 1));
    assert.deepEqual(await q.dequeueMany(5), [1]);
  });

  it('close(): enqueues fail, consumers drain what is left, then every waiter and loop ends', async () => {
    const q = new SharedQueue({ capacity: 10 });
    q.enqueueMany(['a', 'b']);
    const waiters = [q.dequeue(), q.dequeue(), q.dequeue(), q.dequeue()];
    const loop = (async () => {
      const seen = [];
      for await (const x of q) seen.push(x);
      return seen;
    })();
    const workers = [startJob('dequeueUntilClosed', { queue: q }), startJob('dequeueUntilClosed', { queue: q })];
    for (const w of workers) assert.equal(await w.nextMessage(), 'waiting');
    q.close();
    assert.equal(q.closed, true);
    const settled = await Promise.allSettled(waiters);
    const got = settled.filter((s) => s.status === 'fulfilled').map((s) => s.value);
    assert.deepEqual(got.sort(), ['a', 'b']);
    for (const s of settled.filter((s) => s.status === 'rejected')) assert.ok(s.reason instanceof QueueClosedError, String(s.reason));
    assert.deepEqual(await loop, []);
    for (const w of workers) assert.equal(await w.result, 'closed');
    assert.throws(() => q.enqueue('c'), (e) => e instanceof QueueClosedError && e.code === 'ERR_RINGPOOL_QUEUE_CLOSED');
    await assert.rejects(q.dequeue(), QueueClosedError);
    assert.deepEqual(await q.dequeueMany(3), []);
    q.close(); // idempotent
  });

  // Capacities of 1,024 and more: streaming sides nap (shared-queue.ts kNapMs) on an empty
  // or full queue instead of polling.
  for (const [producers, consumers, capacity, mixed] of [[1, 1, 1], [3, 2, 2], [2, 3, 64], [4, 4, 16], [3, 3, 8, true], [1, 1, 1024], [2, 2, 4096], [2, 2, 1024, true]]) {
    it(`${producers} producers x ${consumers} consumers, capacity ${capacity}${mixed ? ', records in slots and blocks' : ''}: no loss, no duplicate, per-producer order`, async () => {
      const q = new SharedQueue({ capacity });
      const n = Math.floor(4000 / producers);
      const cons = Array.from({ length: consumers }, () => startJob('consume', { queue: q }));
      await Promise.all(Array.from({ length: producers }, (_, id) => runJob('produce', { queue: q, id, n, mixed })));
      q.close();
      const seenBy = await Promise.all(cons.map((c) => c.result));
      const count = new Map();
      for (const seen of seenBy) {
        const last = new Map();
        for (const [p, i] of seen) {
          assert.ok(i > (last.get(p) ?? -1), `producer ${p}: ${i} after ${last.get(p)}`);
          last.set(p, i);
          const id = `${p}:${i}`;
          count.set(id, (count.get(id) ?? 0) + 1);
        }
      }
      assert.equal(count.size, producers * n, 'nothing lost');
      for (const [id, c] of count) assert.equal(c, 1, `${id} seen ${c} times`);
      assert.equal(q.size, 0);
    });
  }

  it('ping-pong with another thread: each wait is answered by a lone item, and gets it', async () => {
    // Capacity 4,096: a polling side first waits for a run of 32 items (#waitLoop), which a
    // ping-pong never makes; every round must still end with its one item.
    const ping = new SharedQueue({ capacity: 4096 });
    const pong = new SharedQueue({ capacity: 4096 });
    const echo = startJob('echo', { from: ping, to: pong });
    for (let i = 0; i < 3000; i++) {
      ping.enqueue({ i });
      assert.deepEqual(await pong.dequeue(), { i });
      assert.equal(pong.size, 0);
    }
    ping.close();
    assert.equal(await echo.result, 3000);
  });

  it('a streaming consumer whose producer pauses still gets the next item; so does a streaming producer waiting for room', async () => {
    // Runs of thousands of items make both sides nap when the queue runs empty (full); a nap
    // that finds nothing must fall through to a wait that the next item (place) ends.
    const q = new SharedQueue({ capacity: 1024 });
    const ctl = new SharedQueue({ capacity: 4 });
    const producer = startJob('produceInRounds', { queue: q, ctl, rounds: 4, n: 5000 });
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 5000; i++) assert.deepEqual(await q.dequeue(), { round, i });
      assert.equal(q.size, 0);
      ctl.enqueue(round); // the producer waits for this before its next round
    }
    assert.equal(await producer.result, 20000);
  });

  it('travels through workerData and from(handle)', async () => {
    const q = new SharedQueue({ capacity: 8 });
    const same = SharedQueue.from(q.handle);
    same.enqueue('via handle');
    assert.equal(q.tryDequeue(), 'via handle');
    assert.equal(await runJob('produce', { queue: q, id: 7, n: 3 }), 3);
    assert.deepEqual([q.tryDequeue(), q.tryDequeue(), q.tryDequeue()], [{ p: 7, i: 0 }, { p: 7, i: 1 }, { p: 7, i: 2 }]);
  });

  it('records in slots (JS fast path) and in blocks (C core) interleave in order, through every read path', async () => {
    for (const opts of [{ capacity: 64 }, { capacity: 4096, maxBytes: 512 * 1024 } /* narrow slots: all native */]) {
      const q = new SharedQueue(opts);
      const item = (i) => (i % 3 === 0 ? { i, big: 'b'.repeat(40 + (i % 50)) } : { i, s: 'x'.repeat(i % 40) });
      for (let round = 0; round < 50; round++) {
        for (let i = 0; i < 20; i++) q.enqueue(item(i));
        q.enqueueMany([item(20), item(21), item(22)]);
        assert.equal(q.size, 23);
        assert.deepEqual(q.peek(), item(0));
        for (let i = 0; i < 10; i++) assert.deepEqual(q.tryDequeue(), item(i));
        assert.deepEqual(await q.dequeueMany(5), [10, 11, 12, 13, 14].map(item));
        for (let i = 15; i < 23; i++) assert.deepEqual(await q.dequeue(), item(i));
        assert.equal(q.tryDequeue(), undefined);
        assert.equal(q.size, 0);
      }
      q.close();
      assert.equal(q.closed, true);
      assert.throws(() => q.tryEnqueue(1), QueueClosedError);
    }
  });

  it('a value whose encoding is exactly at the slot limit and one byte past it', () => {
    const q = new SharedQueue({ capacity: 4 });
    // Ascii8 string: tag + length byte + n bytes; 54 chars = 56 bytes (in the slot), 55 = 57.
    const a = 'a'.repeat(54);
    const b = 'b'.repeat(55);
    q.enqueue(a);
    q.enqueue(b);
    assert.equal(q.tryDequeue(), a);
    assert.equal(q.tryDequeue(), b);
  });

  it('grows its storage up to maxBytes, then ERR_RINGPOOL_FULL', () => {
    const q = new SharedQueue({ capacity: 10000, maxBytes: 256 * 1024 });
    let n = 0;
    let error;
    try {
      for (; n < 10000; n++) q.enqueue('z'.repeat(1000));
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof RingpoolRangeError && error.code === 'ERR_RINGPOOL_FULL', String(error));
    assert.ok(n > 100 && n < 256, `${n} items`);
    assert.equal(q.size, n, 'the failed enqueue added nothing');
    q.tryDequeue();
    q.enqueue('z'.repeat(1000)); // the freed block serves the next record of its size
    throwsCode(() => q.enqueue('h'.repeat(300 * 1024)), RingpoolRangeError, 'ERR_RINGPOOL_TOO_LARGE');
  });

  it('rejects bad input', async () => {
    throwsCode(() => new SharedQueue(), RingpoolTypeError, 'ERR_RINGPOOL_INVALID_ARG_TYPE');
    throwsCode(() => new SharedQueue({}), RingpoolTypeError, 'ERR_RINGPOOL_INVALID_ARG_TYPE');
    throwsCode(() => new SharedQueue({ capacity: 0 }), RingpoolRangeError, 'ERR_RINGPOOL_OUT_OF_RANGE');
    throwsCode(() => new SharedQueue({ capacity: 1.5 }), RingpoolRangeError, 'ERR_RINGPOOL_OUT_OF_RANGE');
    throwsCode(() => new SharedQueue({ capacity: 2 ** 25 }), RingpoolRangeError, 'ERR_RINGPOOL_OUT_OF_RANGE');
    throwsCode(() => new SharedQueue({ capacity: 4, maxBytes: 'x' }), RingpoolTypeError, 'ERR_RINGPOOL_INVALID_ARG_TYPE');
    const q = new SharedQueue({ capacity: 4 });
    assert.throws(() => q.enqueue(() => {}), (e) => e.code === 'ERR_RINGPOOL_DATA_CLONE');
    assert.throws(() => q.enqueueMany([1, Symbol('x')]), (e) => e.code === 'ERR_RINGPOOL_DATA_CLONE');
    assert.equal(q.size, 0);
    throwsCode(() => q.enqueueMany(5), RingpoolTypeError, 'ERR_RINGPOOL_INVALID_ARG_TYPE');
    await assert.rejects(q.dequeue({ signal: 'no' }), (e) => e.code === 'ERR_RINGPOOL_INVALID_ARG_TYPE');
    await assert.rejects(q.dequeue({ timeout: 'no' }), (e) => e.code === 'ERR_RINGPOOL_INVALID_ARG_TYPE');
    await assert.rejects(q.dequeueMany(0), (e) => e.code === 'ERR_RINGPOOL_OUT_OF_RANGE');
    throwsCode(() => SharedQueue.from(new SharedArrayBuffer(16)), RingpoolTypeError, 'ERR_RINGPOOL_BAD_LAYOUT');
    throwsCode(() => SharedQueue.from(new rp.SharedMap().handle), RingpoolTypeError, 'ERR_RINGPOOL_BAD_LAYOUT');
  });
});
