'use strict';
/*
 * Worker side of cases/shared-queue.js: produces `count` items { i, tag } as fast as it can.
 *   'ringpool'  SharedQueue (workerData.handle): one by one with tryEnqueue (batch 1), or
 *               enqueueMany in batches of `batch` when they fit; enqueueAsync waits for room
 *   'port'      MessagePort (workerData.port): one postMessage per item, window-limited by
 *               the consumer's progress counter in workerData.ctl (like the queue's capacity)
 */
const { workerData } = require('node:worker_threads');
const { serve } = require('../harness');

const { mode } = workerData;
const queue = mode === 'ringpool' ? require(workerData.pkg).SharedQueue.from(workerData.handle) : null;
const port = mode === 'port' ? workerData.port : null;
const ctl = workerData.ctl ? new Int32Array(workerData.ctl) : null;

serve({
  async produce({ count, batch, window }) {
    if (mode === 'ringpool') {
      if (batch === 1) {
        for (let i = 0; i < count; i++) {
          const item = { i, tag: 'item' };
          if (!queue.tryEnqueue(item)) await queue.enqueueAsync(item);
        }
      } else {
        for (let i = 0; i < count; ) {
          const n = Math.min(batch, count - i);
          const items = new Array(n);
          for (let j = 0; j < n; j++) items[j] = { i: i + j, tag: 'item' };
          if (queue.capacity - queue.size >= n) {
            queue.enqueueMany(items); // cannot be full: this is the only producer
            i += n;
            continue;
          }
          // Not enough room for the whole batch: wait for room for its first item, then retry.
          await queue.enqueueAsync(items[0]);
          i += 1;
        }
      }
      return count;
    }
    for (let i = 0; i < count; i++) {
      if (window > 0) {
        while (i - Atomics.load(ctl, 0) >= window) Atomics.wait(ctl, 0, Atomics.load(ctl, 0), 50);
      }
      port.postMessage({ i, tag: 'item' });
    }
    return count;
  },
  __stop() {
    port?.close();
  },
});
