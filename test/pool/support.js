'use strict';
/*
 * Shared pieces of the pool tests (test/pool/*.test.js).
 *
 *   rp              the package under test (test/helpers/root.js decides where it is)
 *   fixture(name)   absolute path of a worker script in test/pool/fixtures
 *   shared(n)       an Int32Array of n cells over a fresh SharedArrayBuffer
 *   until(i32, i, n)   resolves once i32[i] >= n. The worker side bumps the cell with
 *                   Atomics.add + Atomics.notify, so this sleeps in Atomics.waitAsync and
 *                   wakes on the store, never on a timer; the deadline only turns a hang
 *                   into a clear failure.
 *   release(i32, i) stores 1 and notifies: lets go of tasks held on that cell
 *   track(pool)     remembers a pool so that the afterEach hook registered by
 *                   usePools() force-terminates it even when the test failed midway
 *   outcome(p)      settles a promise into { ok, value } / { ok: false, error }
 *   runChild(src, ms)  runs `node -e src` (RINGPOOL_ROOT in its env names the package) and
 *                   resolves with { code, signal, stdout, stderr, ms }; a child still alive
 *                   after `ms` is killed and reported with timedOut: true
 *
 * Cell conventions used by the fixture methods (methods.js): a task that holds its
 * worker announces itself by bumping a "started" cell and then waits on a "release" cell.
 */
const path = require('node:path');
const root = require('../helpers/root');

const rp = require(root);

const kDeadlineMs = 15000;

function fixture(name) {
  return path.join(__dirname, 'fixtures', name);
}

function shared(n = 8) {
  return new Int32Array(new SharedArrayBuffer(n * 4));
}

async function until(i32, index, n, what = `cell ${index}`) {
  const deadline = Date.now() + kDeadlineMs;
  for (;;) {
    const v = Atomics.load(i32, index);
    if (v >= n) return v;
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`gave up waiting for ${what} to reach ${n} (it is ${v}); ${describeLivePools()}`);
    const r = Atomics.waitAsync(i32, index, v, left);
    if (r.async) await r.value;
  }
}

function release(i32, index) {
  Atomics.store(i32, index, 1);
  Atomics.notify(i32, index);
}

/** Pools of the running test (for diagnostics when a wait gives up). */
const live = new Set();

function describeLivePools() {
  if (live.size === 0) return 'no tracked pool';
  return [...live].map((p) => {
    const s = p.stats();
    return `pool: ${s.totalWorkers} workers (${s.busyWorkers} busy), ${s.pendingTasks} queued, ${s.activeTasks} active, ${s.completedTasks} completed, ${s.failedTasks} failed`;
  }).join('; ');
}

function usePools() {
  const pools = new Set();
  afterEach(async function () {
    const all = [...pools];
    pools.clear();
    for (const p of all) live.delete(p);
    await Promise.all(all.map((p) => p.terminate(true)));
  });
  return function track(p) {
    pools.add(p);
    live.add(p);
    return p;
  };
}

function outcome(p) {
  return p.then(
    (value) => ({ ok: true, value }),
    (error) => ({ ok: false, error }),
  );
}

/** Resolves with the first event `name` of `emitter` (its first argument). */
function once(emitter, name) {
  return new Promise((resolve) => emitter.once(name, resolve));
}

function runChild(src, ms) {
  const { spawn } = require('node:child_process');
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ['-e', src], {
      env: { ...process.env, RINGPOOL_ROOT: root, RINGPOOL_FIXTURES: path.join(__dirname, 'fixtures') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, ms);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0, timedOut });
    });
  });
}

module.exports = { rp, root, fixture, shared, until, release, usePools, outcome, once, runChild, kDeadlineMs };
