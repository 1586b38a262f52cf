'use strict';
/**
 * Baseline for bench/cases/sync-locks.js: a mutex in plain JavaScript on one Int32Array cell,
 * Drepper's 0/1/2 protocol (0 free, 1 held, 2 held and someone may wait), with Atomics.wait
 * for blocking waits (workers) and Atomics.waitAsync for async ones. No fairness (a releasing
 * thread's wake-up races with newcomers), no owner tracking, no owner-died recovery: the
 * smallest correct mutex, i.e. the speed limit of the Atomics primitives themselves.
 */
class AtomicsMutex {
  /** @param {Int32Array} i32 a view over a SharedArrayBuffer; @param {number} index its cell */
  constructor(i32 = new Int32Array(new SharedArrayBuffer(4)), index = 0) {
    this.i32 = i32;
    this.index = index;
  }

  tryLock() {
    return Atomics.compareExchange(this.i32, this.index, 0, 1) === 0;
  }

  /** Blocks the thread (workers, or the main thread if you accept freezing it). */
  lockSync() {
    const { i32, index } = this;
    let c = Atomics.compareExchange(i32, index, 0, 1);
    if (c === 0) return;
    if (c !== 2) c = Atomics.exchange(i32, index, 2);
    while (c !== 0) {
      Atomics.wait(i32, index, 2);
      c = Atomics.exchange(i32, index, 2);
    }
  }

  /** Waits on the event loop. */
  async lock() {
    const { i32, index } = this;
    let c = Atomics.compareExchange(i32, index, 0, 1);
    if (c === 0) return;
    if (c !== 2) c = Atomics.exchange(i32, index, 2);
    while (c !== 0) {
      const r = Atomics.waitAsync(i32, index, 2);
      if (r.async) await r.value;
      c = Atomics.exchange(i32, index, 2);
    }
  }

  unlock() {
    const { i32, index } = this;
    if (Atomics.sub(i32, index, 1) !== 1) {
      Atomics.store(i32, index, 0);
      Atomics.notify(i32, index, 1);
    }
  }
}

module.exports = { AtomicsMutex };
