'use strict';
/**
 * SharedMap get and set throughput, on 1 thread (main) and on 2 worker threads at once (ops/s
 * summed), against
 *   - the `sharedmap` npm package (a SharedArrayBuffer map in plain JS; string values only),
 *     shown as errored "not installed" when it is missing (npm i -D sharedmap);
 *   - a plain Map owned by one worker that the others reach by postMessage request/response
 *     (one request in flight per client thread, as a synchronous-looking API would do).
 * Same data for everyone: 1,000 string keys ('key-<i>') and 48-character string values.
 */
const { MessageChannel } = require('node:worker_threads');
const h = require('../harness');

const KEYS = 1000;
const keys = Array.from({ length: KEYS }, (_, i) => `key-${i}`);
const values = keys.map((k, i) => `value-${i}-`.padEnd(48, 'x'));

function loadPeer() {
  let Peer;
  try {
    Peer = require('sharedmap');
  } catch {
    throw new Error('not installed (npm i -D sharedmap)');
  }
  return Peer.default ?? Peer;
}

function fill(map) {
  for (let i = 0; i < KEYS; i++) map.set(keys[i], values[i]);
}

const result = (ops, ns) => ({ ops: ops / (ns / 1e9) });

/** Subjects for one operation (get | set) on `threads` threads. */
function subjects(ctx, op, threads, count) {
  const onMain = threads === 1;
  const loopMain = (map) => {
    const t0 = process.hrtime.bigint();
    if (op === 'get') {
      for (let i = 0; i < count; i++) if (map.get(keys[i % KEYS]) !== values[i % KEYS]) throw new Error('bad value');
    } else {
      for (let i = 0; i < count; i++) map.set(keys[i % KEYS], values[i % KEYS]);
    }
    return result(count, Number(process.hrtime.bigint() - t0));
  };
  const onWorkers = async (ws) => {
    const t0 = process.hrtime.bigint();
    const rs = await Promise.all(ws.map((w) => w.request(op, { count })));
    const ns = Number(process.hrtime.bigint() - t0);
    return result(rs.reduce((s, r) => s + r.ops, 0), ns);
  };
  const workers = (data, n = threads) => Promise.all(Array.from({ length: n }, () => h.startWorker('shared-map.js', { keys, values, ...data })));
  const stopAll = async (st) => Promise.all((st?.ws ?? []).map((w) => w.stop()));
  return [
    {
      name: 'ringpool SharedMap',
      role: 'ringpool',
      async setup() {
        const map = new ctx.ringpool.SharedMap({ maxBytes: 16 << 20 });
        fill(map);
        return { map, ws: onMain ? [] : await workers({ mode: 'ringpool', handle: map.handle }) };
      },
      sample: (st) => (onMain ? loopMain(st.map) : onWorkers(st.ws)),
      teardown: stopAll,
    },
    {
      name: 'sharedmap (npm)',
      role: 'baseline',
      async setup() {
        const Peer = loadPeer();
        const map = new Peer(KEYS * 2, 16, 64);
        fill(map);
        return { map, ws: onMain ? [] : await workers({ mode: 'sharedmap', peer: map }) };
      },
      sample: (st) => (onMain ? loopMain(st.map) : onWorkers(st.ws)),
      teardown: stopAll,
    },
    {
      name: 'Map owned by a worker (postMessage)',
      role: 'baseline',
      async setup() {
        const [owner] = await workers({ mode: 'owner' }, 1);
        const clients = [];
        const mainPorts = [];
        for (let i = 0; i < (onMain ? 1 : threads); i++) {
          const { port1, port2 } = new MessageChannel();
          await owner.request('attach', { port: port2 }, [port2]);
          if (onMain) mainPorts.push(port1);
          else clients.push(await h.startWorker('shared-map.js', { mode: 'client', keys, values, port: port1 }, { transferList: [port1] }));
        }
        return { owner, ws: [owner, ...clients], clients, port: mainPorts[0] };
      },
      async sample(st, { warmup }) {
        const n = warmup ? Math.min(count, 2000) : Math.min(count, 20000);
        if (!onMain) {
          const t0 = process.hrtime.bigint();
          const rs = await Promise.all(st.clients.map((w) => w.request(op, { count: n })));
          return result(rs.reduce((s, r) => s + r.ops, 0), Number(process.hrtime.bigint() - t0));
        }
        const port = st.port;
        let resolve;
        port.on('message', (m) => resolve(m));
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < n; i++) {
          const reply = new Promise((r) => (resolve = r));
          port.postMessage(op === 'get' ? { op, key: keys[i % KEYS] } : { op, key: keys[i % KEYS], value: values[i % KEYS] });
          const v = await reply;
          if (op === 'get' && v !== values[i % KEYS]) throw new Error('bad value');
        }
        const ns = Number(process.hrtime.bigint() - t0);
        port.removeAllListeners('message');
        return result(n, ns);
      },
      async teardown(st) {
        st?.port?.close();
        await stopAll(st);
      },
    },
  ];
}

module.exports = {
  name: 'shared-map',
  order: 60,
  description: 'SharedMap get/set ops/s on 1 and 2 threads vs the sharedmap package and a postMessage-owned Map',
  targets: [
    { id: 's1', label: 'SharedMap get, 1 thread: ≥ 3× sharedmap', group: 'get, 1 thread', metric: 'ops', subject: 'ringpool SharedMap', baseline: ['sharedmap (npm)'], need: 3 },
    { id: 's2', label: 'SharedMap get, 2 threads: ≥ 3× sharedmap', group: 'get, 2 threads', metric: 'ops', subject: 'ringpool SharedMap', baseline: ['sharedmap (npm)'], need: 3 },
    { id: 's3', label: 'SharedMap get, 1 thread: ≥ 20× postMessage-owned Map', group: 'get, 1 thread', metric: 'ops', subject: 'ringpool SharedMap', baseline: ['Map owned by a worker (postMessage)'], need: 20 },
    { id: 's4', label: 'SharedMap get, 2 threads: ≥ 20× postMessage-owned Map', group: 'get, 2 threads', metric: 'ops', subject: 'ringpool SharedMap', baseline: ['Map owned by a worker (postMessage)'], need: 20 },
  ],
  async run(ctx) {
    const count = ctx.pick(400000, 100000);
    for (const op of ['get', 'set']) {
      for (const threads of [1, 2]) {
        await ctx.compare(`${op}, ${threads} thread${threads > 1 ? 's' : ''}`, subjects(ctx, op, threads, count), {
          metrics: [{ key: 'ops', label: `${op} ops/s`, unit: 'op/s', better: 'higher' }],
        });
      }
    }
  },
};
