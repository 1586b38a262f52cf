'use strict';
/*
 * Helpers of the shared-collection tests.
 *   rp                 the package under test
 *   runJob(job, data)  runs a named job of fixtures/jobs.js in a fresh worker; resolves with
 *                      its result once the worker reported and exited 0. Shared collections
 *                      in `data` travel as themselves (workerData revives them).
 *   startJob(job, data) the same, returning { worker, result, messages } for tests that talk
 *                      to the worker or terminate it.
 *   seeded(seed)       a small deterministic PRNG (mulberry32): () => [0, 1)
 *   testSeed()         RINGPOOL_TEST_SEED or a fresh one; tests print it.
 */
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const root = require('../helpers/root');

const rp = require(root);
const kEntry = path.join(__dirname, 'fixtures', 'job-worker.js');

function startJob(job, data = {}) {
  const worker = new Worker(kEntry, { workerData: { job, data, root } });
  const messages = [];
  const listeners = [];
  const result = new Promise((resolve, reject) => {
    let report;
    worker.on('message', (m) => {
      if (m && m.kind === 'report') report = m;
      else {
        messages.push(m);
        for (const l of listeners.splice(0)) l(m);
      }
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (report === undefined) reject(new Error(`job '${job}' exited with code ${code} without reporting`));
      else if (!report.ok) {
        const err = new Error(`[in worker ${job}] ${report.error.message}`);
        err.code = report.error.code;
        err.name = report.error.name;
        err.stack += `\n--- worker ---\n${report.error.stack}`;
        reject(err);
      } else if (code !== 0) reject(new Error(`job '${job}' reported but exited with code ${code}`));
      else resolve(report.value);
    });
  });
  result.catch(() => {});
  /** Resolves with the next message the worker posts (not the final report). */
  const nextMessage = () => (messages.length > 0 ? Promise.resolve(messages.shift()) : new Promise((r) => listeners.push(() => r(messages.shift()))));
  return { worker, result, nextMessage };
}

function runJob(job, data) {
  return startJob(job, data).result;
}

function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function testSeed() {
  const env = process.env.RINGPOOL_TEST_SEED;
  return env !== undefined ? Number(env) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
}

module.exports = { rp, root, startJob, runJob, seeded, testSeed };
