'use strict';
// wait / notify races: waiters that time out while other threads notify them. A waiter
// leaves the table exactly once — woken or timed out, never both — so the number of 'ok'
// results must equal the sum of what every notify call returned, and nothing may be left
// queued at the end. Timeouts here are the thing under test.
const assert = require('node:assert/strict');
const { rp, waitCount, sharedInt32 } = require('../helpers/ringpool');
const { startTask } = require('../helpers/workers');

const { waitAsync, notify } = rp;

describe('stress: wait / notify against timeouts', function () {
  this.timeout(60000);
  afterEach(() => {
    if (typeof global.gc === 'function') global.gc();
  });

  it('async waiters with short timeouts vs two notifier workers: ok count == notify total', async function () {
    const i32 = sharedInt32(2);
    const stop = sharedInt32(1);
    const started = sharedInt32(1);
    const notifiers = [1, 3].map((count) => startTask('notifyUntilStopped', { i32, index: 0, count, stop, started }));
    for (let n = Atomics.load(started, 0); n < 2; n = Atomics.load(started, 0)) await waitAsync(started, 0, n).value;
    let ok = 0;
    let timedOut = 0;
    let mine = 0;
    for (let batch = 0; batch < 20; batch++) {
      const ps = [];
      for (let k = 0; k < 250; k++) {
        const r = waitAsync(i32, 0, 0, (k % 7) * 0.5 + 0.5);
        assert.equal(r.async, true);
        ps.push(r.value);
      }
      if (batch % 4 === 0) mine += notify(i32, 0, 10);
      for (const v of await Promise.all(ps)) {
        if (v === 'ok') ok++;
        else if (v === 'timed-out') timedOut++;
        else throw new Error(`unexpected result ${v}`);
      }
    }
    Atomics.store(stop, 0, 1);
    const totals = await Promise.all(notifiers.map((n) => n.result));
    const woken = mine + totals.reduce((n, t) => n + t.woken, 0);
    this.test.title += ` [${ok} ok, ${timedOut} timed out]`;
    assert.equal(ok + timedOut, 5000);
    assert.equal(ok, woken, `'ok' results ${ok} != waiters reported woken ${woken} (timed out ${timedOut})`);
    assert.equal(waitCount(i32, 0), 0);
  });

  it('blocking waiters with short timeouts in 3 workers vs a notifier worker: ok count == notify total', async function () {
    const i32 = sharedInt32(2);
    const stop = sharedInt32(1);
    const notifier = startTask('notifyUntilStopped', { i32, index: 1, count: 1, stop });
    const waiters = [1, 2, 3].map((seed) => startTask('waitManyTimed', { i32, index: 1, rounds: 1500, maxTimeoutMs: 2, seed }));
    const tallies = await Promise.all(waiters.map((w) => w.result));
    Atomics.store(stop, 0, 1);
    const { woken } = await notifier.result;
    const ok = tallies.reduce((n, t) => n + t.ok, 0);
    const timedOut = tallies.reduce((n, t) => n + t['timed-out'], 0);
    this.test.title += ` [${ok} ok, ${timedOut} timed out]`;
    assert.equal(ok + timedOut, 4500, JSON.stringify(tallies));
    assert.equal(ok, woken, `'ok' results ${ok} != waiters reported woken ${woken} (timed out ${timedOut})`);
    assert.equal(waitCount(i32, 1), 0);
  });
});
