'use strict';
// Worker side of cases/notify-many.js: on 'fire', stamps the shared clock, stores CELL = 1 and
// wakes every waiter with the subject's mechanism; reports how many were woken and how long
// the notify call itself took.
const { workerData } = require('node:worker_threads');
const { serve } = require('../harness');
const L = require('../cases/notify-many').layout;

const { sab, mode, pkg } = workerData;
const i32 = new Int32Array(sab, 0, L.INTS);
const stamp = new BigInt64Array(sab, L.STAMP_BYTE, 1);
const notify = mode === 'ringpool' ? require(pkg).notify : Atomics.notify;

serve({
  fire() {
    const t0 = process.hrtime.bigint();
    Atomics.store(stamp, 0, t0);
    Atomics.store(i32, L.CELL, 1);
    const woken = notify(i32, L.CELL, Infinity);
    const t1 = process.hrtime.bigint();
    return { woken, notifyUs: Number(t1 - t0) / 1000 };
  },
});
