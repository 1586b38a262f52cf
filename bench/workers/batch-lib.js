'use strict';
/**
 * Main-thread side shared by cases/batch-*.js (not a worker script; it lives here because
 * cases/ only holds cases). Every pool has 2 threads (min = max = 2) and is pre-warmed:
 *
 *   ringpool   pool(workers/batch-ringpool.js, { minWorkers: 2, maxWorkers: 2 }) + the batch APIs
 *   piscina    new Piscina({ filename, minThreads: 2, maxThreads: 2 }) + run(arg, { name })
 *   tinypool   new Tinypool({ filename, minThreads: 2, maxThreads: 2 }) + run(arg, { name })
 *
 * The peers have no batch API: they run one task per item, which is what a user of them
 * writes (Promise.all over run()).
 */
const path = require('node:path');

const THREADS = 2;
const W = (f) => path.join(__dirname, f);

async function ringpoolPool(ctx) {
  const p = ctx.ringpool.pool(W('batch-ringpool.js'), { minWorkers: THREADS, maxWorkers: THREADS });
  await Promise.all(Array.from({ length: 64 }, (_, i) => p.exec('double', [i])));
  await p.map(Array.from({ length: 20000 }, (_, i) => i), 'double');
  return p;
}

async function piscinaPool() {
  const Piscina = require('piscina');
  const p = new Piscina({ filename: W('batch-piscina.js'), minThreads: THREADS, maxThreads: THREADS });
  await Promise.all(Array.from({ length: 256 }, (_, i) => p.run(i, { name: 'double' })));
  return { run: (arg, opts) => p.run(arg, opts), destroy: () => p.destroy() };
}

async function tinypoolPool() {
  const Tinypool = (await import('tinypool')).default; // ESM-only package
  const p = new Tinypool({ filename: W('batch-tinypool.js'), minThreads: THREADS, maxThreads: THREADS });
  await Promise.all(Array.from({ length: 256 }, (_, i) => p.run(i, { name: 'double' })));
  return { run: (arg, opts) => p.run(arg, opts), destroy: () => p.destroy() };
}

/** Seconds since a process.hrtime.bigint() stamp. */
function since(t0) {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

module.exports = { THREADS, W, ringpoolPool, piscinaPool, tinypoolPool, since };
