'use strict';
// Fault cases around cancellation and lifetime: aborting waits while another thread is
// producing, and dropping the last JS reference to a SharedArrayBuffer while waiters on it
// are pending (the waiter table keys on the address, so the memory must stay alive).
const assert = require('node:assert/strict');
const { rp, totalWaiters, untilBufferWaiters, sharedInt32 } = require('../helpers/ringpool');
const { startTask, runTask } = require('../helpers/workers');
const { tagged } = require('../fixtures/payload');

const { waitAsync, notify, Ring, Channel } = rp;

const collect = () => {
  if (typeof global.gc === 'function') global.gc();
};

describe('fault: abort while another thread produces', () => {
  it('aborted popAsync waiters take nothing; the others get every item exactly once', async () => {
    const r = new Ring({ capacity: 16 });
    const acs = Array.from({ length: 8 }, () => new AbortController());
    const ps = acs.map((ac) => r.popAsync({ signal: ac.signal }).then((v) => ['ok', v], (e) => ['err', e]));
    await untilBufferWaiters(r.buffer, 8);
    for (let k = 0; k < 8; k += 2) acs[k].abort(k);
    await untilBufferWaiters(r.buffer, 4);
    assert.equal(await runTask('ringProduce', { buffer: r.buffer, tag: 2, count: 6 }), 6);
    const out = await Promise.all(ps);
    for (let k = 0; k < 8; k += 2) {
      assert.equal(out[k][0], 'err');
      assert.ok(out[k][1] instanceof rp.AbortError);
      assert.equal(out[k][1].cause, k);
    }
    const got = out.filter((x, k) => k % 2 === 1).map((x) => x[1]);
    assert.ok(out.filter((x, k) => k % 2 === 1).every((x) => x[0] === 'ok'));
    const rest = [r.pop(), r.pop(), r.pop()];
    assert.equal(rest[2], undefined);
    assert.deepEqual([...got, rest[0], rest[1]].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5].map((s) => tagged(2, s)));
    assert.equal(totalWaiters(r.buffer), 0);
  });

  it('an aborted receiveAsync takes nothing; a record sent later by a worker is still there', async () => {
    const c = new Channel({ bytes: 256 });
    const ac = new AbortController();
    const p = c.receiveAsync({ signal: ac.signal });
    await untilBufferWaiters(c.buffer, 1);
    ac.abort(new Error('enough'));
    await assert.rejects(p, (e) => e instanceof rp.AbortError && e.code === 'ERR_RINGPOOL_ABORTED' && e.cause.message === 'enough');
    assert.equal(totalWaiters(c.buffer), 0);
    await runTask('channelSendList', { buffer: c.buffer, items: ['late'] });
    assert.equal(c.receiveString(), 'late');
  });

  it('abort after the item arrived resolves with the item (the wake-up wins)', async () => {
    const r = new Ring({ capacity: 2 });
    const ac = new AbortController();
    const p = r.popAsync({ signal: ac.signal });
    await untilBufferWaiters(r.buffer, 1);
    await runTask('ringProduce', { buffer: r.buffer, tag: 0, count: 1 });
    assert.equal(await p, tagged(0, 0));
    ac.abort();
    assert.equal(r.pop(), undefined);
  });
});

describe('fault: the last reference to a SharedArrayBuffer is dropped while waiting', () => {
  it('pending timed waiters on unreachable buffers still time out; nothing crashes', async () => {
    const make = () => {
      const ps = [];
      for (let k = 0; k < 200; k++) {
        const i32 = sharedInt32(2);
        const w = waitAsync(i32, k & 1, 0, 20 + (k % 5));
        assert.equal(w.async, true);
        ps.push(w.value);
      }
      return ps;
    };
    const ps = make();
    collect();
    const res = await Promise.all(ps);
    assert.ok(res.every((v) => v === 'timed-out'), JSON.stringify(res.filter((v) => v !== 'timed-out')));
    collect();
  });

  it('a worker holding the only other reference can still wake the main thread', async () => {
    const go = sharedInt32(1);
    const start = () => {
      const i32 = sharedInt32();
      const w = waitAsync(i32, 3, 0);
      const t = startTask('waitThenNotify', { go, i32, index: 3 });
      return { promise: w.value, result: t.result };
    };
    const { promise, result } = start();
    collect();
    Atomics.store(go, 0, 1);
    notify(go, 0);
    assert.equal(await result, 1);
    assert.equal(await promise, 'ok');
    collect();
  });

  it('a waiter whose Ring was dropped by the main thread is served by a worker', async () => {
    let p;
    const buffer = (() => {
      const r = new Ring({ capacity: 4 });
      p = r.popAsync();
      return r.buffer;
    })();
    collect();
    await untilBufferWaiters(buffer, 1);
    await runTask('ringProduce', { buffer, tag: 3, count: 1 });
    assert.equal(await p, tagged(3, 0));
    assert.equal(totalWaiters(buffer), 0);
  });
});
