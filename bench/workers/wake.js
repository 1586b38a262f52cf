'use strict';
// Worker side of cases/wake-latency.js: per round, waits (plain Atomics.wait) until main has
// armed its async waiter and bumped ACK, then stamps the shared clock, stores SIG and notifies
// with the subject's mechanism (ringpool.notify or Atomics.notify).
const { workerData } = require('node:worker_threads');
const { serve, spinUs } = require('../harness');
const L = require('../cases/wake-latency').layout;

const { sab, mode, pkg, delayUs } = workerData;
const i32 = new Int32Array(sab, 0, L.INTS);
const stamp = new BigInt64Array(sab, L.STAMP_BYTE, 1);
const notify = mode === 'ringpool' ? require(pkg).notify : Atomics.notify;

serve({
  run({ rounds, ack }) {
    // `ack` is main's ACK value before this run; main may already have bumped it.
    for (let i = 0; i < rounds; i++) {
      while (Atomics.load(i32, L.ACK) === ack) {
        if (Atomics.load(i32, L.ABORT)) return { aborted: true, done: i };
        Atomics.wait(i32, L.ACK, ack, 1000);
      }
      ack = Atomics.load(i32, L.ACK);
      // Let main get back into its event loop so we measure an idle thread's wake-up.
      if (delayUs > 0) spinUs(delayUs);
      Atomics.store(stamp, 0, process.hrtime.bigint());
      Atomics.store(i32, L.SIG, ack);
      notify(i32, L.SIG, 1);
    }
    return { aborted: false, done: rounds };
  },
});
