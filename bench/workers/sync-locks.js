'use strict';
// Worker side of cases/sync-locks.js: `run` waits at a start gate (plain Atomics), then does
// `pairs` lock/unlock pairs of the subject's mutex around a tiny critical section (a plain
// increment of a shared counter), and reports.
const { workerData } = require('node:worker_threads');
const { serve } = require('../harness');
const { AtomicsMutex } = require('../baselines/atomics-mutex');

const { pkg, impl, mode, handle, cell, ctl } = workerData;
const gate = new Int32Array(ctl);
const counter = new Int32Array(cell);
let mu;
if (impl === 'ringpool') mu = require(pkg).Mutex.from(handle);
else mu = new AtomicsMutex(new Int32Array(handle));

let sink = 0;
/** Work inside the critical section: `n` rounds of a cheap loop (0: just the increment). */
function work(n) {
  let x = 0;
  for (let i = 0; i < n; i++) x = (x + i) | 0;
  sink ^= x;
}

serve({
  async run({ pairs, round, cs = 0 }) {
    while (Atomics.load(gate, 0) < round) Atomics.wait(gate, 0, round - 1, 1000);
    if (impl === 'ringpool' && mode === 'sync') {
      for (let i = 0; i < pairs; i++) {
        const g = mu.lockSync();
        counter[0]++;
        work(cs);
        g.unlock();
      }
    } else if (mode === 'sync') {
      for (let i = 0; i < pairs; i++) {
        mu.lockSync();
        counter[0]++;
        work(cs);
        mu.unlock();
      }
    } else {
      for (let i = 0; i < pairs; i++) {
        await mu.lock();
        counter[0]++;
        work(cs);
        mu.unlock();
      }
    }
    return { pairs, sink };
  },
});
