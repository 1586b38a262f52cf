'use strict';
// Bare worker_threads worker for the copying baseline of cases/batch-regions.js: receives a
// region's bytes (a copy the main thread made and transferred), brightens them, and transfers
// them back: [id, Uint8Array] -> [id, Uint8Array].
const { parentPort } = require('node:worker_threads');
const { brighten } = require('./batch-tasks');

parentPort.on('message', (m) => {
  const bytes = m[1];
  brighten(bytes, 0, bytes.length);
  parentPort.postMessage([m[0], bytes], [bytes.buffer]);
});
