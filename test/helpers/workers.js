'use strict';
/*
 * Runs one named task of test/fixtures/tasks.js in a fresh worker.
 *   startTask(name, data) -> { worker, result }
 *     result resolves with the task's value once the worker has reported AND exited with
 *     code 0 (so a worker that cannot exit by itself fails the test), and rejects with the
 *     task's error (name, message, code and stack carried over). It is pre-handled, so a test
 *     that terminates the worker on purpose does not leave an unhandled rejection behind.
 *   runTask(name, data) -> the same promise, for tasks that are expected to finish.
 * SharedArrayBuffers (and views over them) in `data` are shared, not copied.
 */
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const kEntry = path.join(__dirname, '..', 'fixtures', 'task-worker.js');

function revive(e) {
  const err = new Error(`[in worker] ${e.message}`);
  err.name = e.name;
  if (e.code !== undefined) err.code = e.code;
  if (e.stack) err.stack = `${err.name}: [in worker] ${e.message}\n--- worker stack ---\n${e.stack}`;
  return err;
}

function startTask(name, data = {}) {
  const worker = new Worker(kEntry, { workerData: { name, data } });
  const result = new Promise((resolve, reject) => {
    let report;
    worker.on('message', (m) => {
      report = m;
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (report === undefined) reject(new Error(`worker task '${name}' exited with code ${code} without reporting`));
      else if (!report.ok) reject(revive(report.error));
      else if (code !== 0) reject(new Error(`worker task '${name}' reported but exited with code ${code}`));
      else resolve(report.value);
    });
  });
  result.catch(() => {});
  return { worker, result };
}

function runTask(name, data) {
  return startTask(name, data).result;
}

module.exports = { startTask, runTask };
