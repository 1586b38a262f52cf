'use strict';
/*
 * Shared pieces of the batch tests (test/batch/*.test.js): execBatch, map, reduce,
 * mapStream, mapRegions.
 *
 *   rp                 the package under test (test/helpers/root.js decides where it is)
 *   fixture(name)      absolute path of a file in test/batch/fixtures
 *   shared(n)          an Int32Array of n cells over a fresh SharedArrayBuffer
 *   until(i32, i, n)   resolves once i32[i] >= n. Worker-side code bumps the cell with
 *                      Atomics.add + Atomics.notify, so this sleeps in Atomics.waitAsync and
 *                      wakes on the store, never on a timer; the deadline only turns a hang
 *                      into a clear failure.
 *   release(i32, i)    stores 1 and Atomics.notify: lets go of items held on that cell
 *   untilIdle(pool)    resolves once stats().activeTasks and pendingTasks are both 0, waiting
 *                      on the pool's 'drain' event (never on a timer; same deadline rule)
 *   usePools()         returns track(pool): the pool is force-terminated after the test
 *   outcome(p)         settles a promise into { ok, value } / { ok: false, error }
 *   expectThrow(fn, Cls, code)   fn() throws synchronously an instance of Cls with that code
 *   expectReject(p, Cls, code)   the same for a rejection
 *   within(promise, ms, what, onGiveUp?)   the promise, or a rejection naming `what` if it has
 *                      not settled after ms: a guard for "this must happen while other items
 *                      are held at a gate" (then onGiveUp opens the gate so the test can end).
 *                      The timer never decides a pass, it only turns a hang into a failure.
 *   sharedPool(opts)   registers before/after hooks around one pool of batch-methods.js
 *                      (2 workers, started and warmed once) for tests that do not need a
 *                      fresh pool; returns a getter
 *
 * Cell conventions of the gated items (see gated() below and fixtures/batch-methods.js):
 *   ctl[GATE]    0 holds the gated items, 1 lets them go
 *   ctl[STARTED] bumped (and notified) when an item starts
 *   ctl[DONE]    bumped (and notified) when an item finishes
 * Functions sent to workers travel as source text (no closures), so the control cells reach
 * them inside the items / parameters: a view over a SharedArrayBuffer is shared, not copied.
 */
const assert = require('node:assert/strict');
const path = require('node:path');
// The package, the deadline and the waiting, tracking and sharing helpers are the pool
// suite's (same semantics).
const pool = require('../pool/support');

const { rp, root, shared, until, usePools, outcome, kDeadlineMs } = pool;

const GATE = 0;
const STARTED = 1;
const DONE = 2;

function fixture(name) {
  return path.join(__dirname, 'fixtures', name);
}

function release(i32, index = GATE) {
  pool.release(i32, index);
}

function isIdle(p) {
  const s = p.stats();
  return s.activeTasks === 0 && s.pendingTasks === 0;
}

/** Resolves once nothing is queued or running in the pool (the 'drain' event, or already idle). */
async function untilIdle(p) {
  const deadline = Date.now() + kDeadlineMs;
  while (!isIdle(p)) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`gave up waiting for the pool to drain: ${JSON.stringify({ ...p.stats(), runTime: undefined, waitTime: undefined })}`);
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        p.removeListener('drain', onDrain);
        reject(new Error(`gave up waiting for the pool's 'drain' event: ${JSON.stringify({ ...p.stats(), runTime: undefined, waitTime: undefined })}`));
      }, left);
      function onDrain() {
        clearTimeout(timer);
        resolve();
      }
      p.once('drain', onDrain);
    });
  }
}

function checkError(e, Cls, code) {
  assert.ok(e instanceof Cls, `expected a ${Cls.name}, got ${e && e.name}: ${e && e.message}`);
  assert.equal(e.code, code, e && e.message);
  return true;
}

function expectThrow(fn, Cls, code) {
  assert.throws(fn, (e) => checkError(e, Cls, code));
}

async function expectReject(p, Cls, code) {
  await assert.rejects(p, (e) => checkError(e, Cls, code));
}

function within(promise, ms, what, onGiveUp) {
  let timer;
  const guard = new Promise((_, reject) => {
    timer = setTimeout(() => {
      if (onGiveUp) onGiveUp();
      reject(new Error(`${what} (gave up after ${ms} ms)`));
    }, ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

function sharedPool(opts = {}) {
  let p;
  before(async function () {
    p = rp.pool(fixture('batch-methods.js'), { minWorkers: 2, maxWorkers: 2, ...opts });
    await Promise.all([p.exec('double', [1]), p.exec('double', [2])]);
  });
  after(async function () {
    if (p) await p.terminate(true);
  });
  return () => p;
}

/**
 * Item bodies run in the workers (plain functions: their source is what travels).
 *   gatedParams(ctl, i) announces itself on ctl[STARTED], blocks its thread until ctl[GATE]
 *   is non-zero, bumps ctl[DONE] and returns i * 10 (an execBatch method: params [ctl, i]).
 *   gatedItem({ ctl, i }) is the same for map / mapStream items.
 */
function gatedParams(ctl, i) {
  Atomics.add(ctl, 1, 1);
  Atomics.notify(ctl, 1);
  while (Atomics.load(ctl, 0) === 0) Atomics.wait(ctl, 0, 0);
  Atomics.add(ctl, 2, 1);
  Atomics.notify(ctl, 2);
  return i * 10;
}

function gatedItem(item) {
  const ctl = item.ctl;
  Atomics.add(ctl, 1, 1);
  Atomics.notify(ctl, 1);
  while (Atomics.load(ctl, 0) === 0) Atomics.wait(ctl, 0, 0);
  Atomics.add(ctl, 2, 1);
  Atomics.notify(ctl, 2);
  return item.i * 10;
}

/** [0, 1, ..., n - 1] */
function range(n) {
  return Array.from({ length: n }, (_, i) => i);
}

module.exports = {
  rp, root, fixture, shared, until, release, untilIdle, isIdle, usePools, outcome, expectThrow, expectReject, within, sharedPool,
  gatedParams, gatedItem, range, GATE, STARTED, DONE, kDeadlineMs,
};
