'use strict';
/*
 * runScenariosInWorkers(names, n): starts n workers at once, each running every named
 * scenario of test/fixtures/scenarios.js in order, and resolves with one array of results
 * per worker: [{ name, ok, ms, error? }]. A worker whose scenarios all passed must then exit
 * by itself with code 0 (if a leaked handle keeps it alive, the mocha hook waiting for it
 * times out); a worker with a failed scenario ends itself after reporting.
 */
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const kEntry = path.join(__dirname, '..', 'fixtures', 'scenario-worker.js');

function runOne(names, id) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(kEntry, { workerData: { names } });
    let results;
    worker.on('message', (m) => {
      results = m;
    });
    worker.on('error', (err) => reject(new Error(`scenario worker ${id} crashed: ${err && err.stack}`)));
    worker.on('exit', (code) => {
      if (!results) reject(new Error(`scenario worker ${id} exited with code ${code} without reporting`));
      else if (code !== 0 && results.every((r) => r.ok)) reject(new Error(`scenario worker ${id} reported success but exited with code ${code}`));
      else resolve(results);
    });
  });
}

function runScenariosInWorkers(names, n) {
  return Promise.all(Array.from({ length: n }, (_, id) => runOne(names, id)));
}

/** Turns a failed result back into an Error that names the worker. */
function failure(result, workerId) {
  const e = result.error || {};
  const err = new Error(`[worker ${workerId}] ${e.name}: ${e.message}`);
  if (e.code !== undefined) err.code = e.code;
  err.stack = `${err.message}\n--- worker stack ---\n${e.stack}`;
  return err;
}

module.exports = { runScenariosInWorkers, failure };
