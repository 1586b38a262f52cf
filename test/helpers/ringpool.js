'use strict';
/*
 * The package under test plus the internal diagnostic the tests synchronise on.
 *   rp            require(<root>) — the public CommonJS entry
 *   waitCount     how many ringpool waiters are queued on i32[index] (dist/wait.js, internal)
 *   totalWaiters  sum of waitCount over every int32 cell of a SharedArrayBuffer: "is anybody
 *                 (still) waiting on this structure", without knowing its layout
 *   untilWaiters  resolves once the waiters queued on a cell / a buffer reach n. It polls the
 *                 diagnostic between event-loop turns (setImmediate), never with timers; it
 *                 fails with a clear message after a generous deadline instead of hanging.
 */
const path = require('node:path');
const root = require('./root');

const rp = require(root);
const { waitCount } = require(path.join(root, 'dist', 'wait.js'));

function totalWaiters(buffer) {
  const i32 = new Int32Array(buffer, 0, Math.floor(buffer.byteLength / 4));
  let n = 0;
  for (let i = 0; i < i32.length; i++) n += waitCount(i32, i);
  return n;
}

const kDeadlineMs = 10000;

async function pollUntil(what, probe, n) {
  const start = Date.now();
  let seen = probe();
  while (seen !== n) {
    if (Date.now() - start > kDeadlineMs) {
      throw new Error(`gave up after ${kDeadlineMs} ms waiting for ${what} to reach ${n} (it is ${seen})`);
    }
    await new Promise((resolve) => setImmediate(resolve));
    seen = probe();
  }
}

/** until waitCount(i32, index) === n */
function untilWaiters(i32, index, n) {
  return pollUntil(`waitCount(i32, ${index})`, () => waitCount(i32, index), n);
}

/** until totalWaiters(buffer) === n */
function untilBufferWaiters(buffer, n) {
  return pollUntil('the number of waiters on the buffer', () => totalWaiters(buffer), n);
}

function sharedInt32(length = 4) {
  return new Int32Array(new SharedArrayBuffer(length * 4));
}

module.exports = { rp, root, waitCount, totalWaiters, untilWaiters, untilBufferWaiters, sharedInt32 };
