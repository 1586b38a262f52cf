'use strict';
// Bare worker_threads baseline (cases/pool-*.js): one postMessage per task, one per reply.
// Request [id, method, arg]; reply [id, result] or [id, undefined, errorMessage].
// echoMove posts the received ArrayBuffer back with a transfer list.
const { parentPort } = require('node:worker_threads');
const tasks = require('./pool-tasks');

parentPort.on('message', (m) => {
  const id = m[0];
  try {
    if (m[1] === 'echoMove') parentPort.postMessage([id, m[2]], [m[2]]);
    else parentPort.postMessage([id, tasks[m[1]](m[2])]);
  } catch (err) {
    parentPort.postMessage([id, undefined, String((err && err.message) || err)]);
  }
});
