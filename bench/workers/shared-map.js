'use strict';
/*
 * Worker side of cases/shared-map.js. One of three roles, by workerData.mode:
 *   'ringpool'  loops get/set on a ringpool SharedMap (workerData.handle)
 *   'sharedmap' loops get/set on the `sharedmap` package's map (workerData.peer, prototype restored)
 *   'owner'     owns a plain Map and answers { op, key, value } requests on the ports it is given
 *   'client'    loops get/set as request/response round trips to an owner over workerData.port
 * Every loop returns { ops, ns } and checks what it reads.
 */
const { workerData } = require('node:worker_threads');
const { serve } = require('../harness');

const { mode, keys, values } = workerData;
let map;
let port;
let pending = null;

if (mode === 'ringpool') {
  map = require(workerData.pkg).SharedMap.from(workerData.handle);
} else if (mode === 'sharedmap') {
  const Peer = require('sharedmap');
  const Ctor = Peer.default ?? Peer;
  map = workerData.peer;
  Object.setPrototypeOf(map, Ctor.prototype);
} else if (mode === 'owner') {
  map = new Map(keys.map((k, i) => [k, values[i]]));
} else if (mode === 'client') {
  port = workerData.port;
  port.on('message', (m) => {
    const p = pending;
    pending = null;
    p(m);
  });
}

function request(msg) {
  return new Promise((resolve) => {
    pending = resolve;
    port.postMessage(msg);
  });
}

serve({
  /** owner: answers requests on a port until the port closes. */
  attach({ port: p }) {
    p.on('message', (m) => {
      if (m.op === 'get') p.postMessage(map.get(m.key));
      else {
        map.set(m.key, m.value);
        p.postMessage(true);
      }
    });
    return true;
  },
  async get({ count }) {
    const n = keys.length;
    const t0 = process.hrtime.bigint();
    if (mode === 'client') {
      for (let i = 0; i < count; i++) {
        const v = await request({ op: 'get', key: keys[i % n] });
        if (v !== values[i % n]) throw new Error(`bad value for ${keys[i % n]}`);
      }
    } else {
      for (let i = 0; i < count; i++) {
        if (map.get(keys[i % n]) !== values[i % n]) throw new Error(`bad value for ${keys[i % n]}`);
      }
    }
    return { ops: count, ns: Number(process.hrtime.bigint() - t0) };
  },
  async set({ count }) {
    const n = keys.length;
    const t0 = process.hrtime.bigint();
    if (mode === 'client') {
      for (let i = 0; i < count; i++) await request({ op: 'set', key: keys[i % n], value: values[i % n] });
    } else {
      for (let i = 0; i < count; i++) map.set(keys[i % n], values[i % n]);
    }
    return { ops: count, ns: Number(process.hrtime.bigint() - t0) };
  },
  __stop() {
    port?.close();
  },
});
