'use strict';
// SlotAllocator stress: several workers (and the main thread) allocate, stamp, hold, check
// and free slots of one small arena at once, so the arena runs out often. A slot handed to
// two threads at once shows up as a broken stamp; a lost or duplicated free shows up in the
// final count.
const assert = require('node:assert/strict');
const { rp, untilWaiters, sharedInt32 } = require('../helpers/ringpool');
const { startTask } = require('../helpers/workers');
const tasks = require('../fixtures/tasks');

const { SlotAllocator, notify } = rp;

describe('stress: SlotAllocator', function () {
  this.timeout(60000);
  afterEach(() => {
    if (typeof global.gc === 'function') global.gc();
  });

  for (const [threads, slots, hold, rounds] of [[3, 4, 2, 30000], [4, 64, 8, 20000], [2, 1, 0, 20000]]) {
    it(`${threads} workers + the main thread churn ${slots} slot(s), holding up to ${hold + 1} each`, async () => {
      const s = new SlotAllocator({ slotSize: 24, slots });
      const gate = sharedInt32(1);
      const ws = Array.from({ length: threads }, (_, id) => startTask('slotsChurn', { buffer: s.buffer, id: id + 1, rounds, hold, gate }));
      await untilWaiters(gate, 0, threads);
      Atomics.store(gate, 0, 1);
      assert.equal(notify(gate, 0), threads);
      const mine = tasks.slotsChurn({ buffer: s.buffer, id: 0, rounds: rounds / 2, hold });
      const theirs = await Promise.all(ws.map((w) => w.result));
      assert.equal(s.available, slots, `slots leaked or freed twice (${JSON.stringify([mine, ...theirs])})`);
      const all = new Set();
      for (let k = 0; k < slots; k++) all.add(s.alloc());
      assert.equal(all.size, slots);
      assert.ok(!all.has(-1));
      assert.equal(s.alloc(), -1);
      // (no fairness is promised: a thread may be starved, so only the total is checked)
      const total = mine.allocs + theirs.reduce((n, t) => n + t.allocs, 0);
      assert.ok(total >= rounds / 10, `too little work happened: ${JSON.stringify([mine, ...theirs])}`);
    });
  }
});
