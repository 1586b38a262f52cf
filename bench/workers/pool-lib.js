'use strict';
/**
 * Main-thread side shared by cases/pool-*.js (not a worker script; it lives here because
 * cases/ only holds cases). One adapter per library, each used with its idiomatic API and the
 * same worker count (2 threads, min = max = 2):
 *
 *   ringpool    pool(script, { minWorkers: 2, maxWorkers: 2 }) + exec(name, [arg])
 *   piscina     new Piscina({ filename, minThreads: 2, maxThreads: 2 }) + run(arg, { name })
 *   tinypool    new Tinypool({ filename, minThreads: 2, maxThreads: 2 }) + run(arg, { name })
 *   workerpool  workerpool.pool(script, { minWorkers: 2, maxWorkers: 2, workerType: 'thread' }) + exec
 *   bare        2 × new Worker + one postMessage per task and per reply, round-robin
 *
 * adapter = { kind, name, role, create() -> handle }   (create() is synchronous: it only
 *                                                      constructs the pool, nothing awaited)
 * handle  = { noop(), echo(x), fib(n), echoMove(ab), destroy() }   all return promises;
 *           echoMove transfers `ab` to the worker and back (each library's transfer mechanism).
 */
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const h = require('../harness');

const W = (f) => path.join(__dirname, f);
const THREADS = 2;

const KINDS = ['ringpool', 'piscina', 'tinypool', 'workerpool', 'bare'];
const PEERS = ['piscina', 'tinypool', 'workerpool'];
const LABEL = {
  ringpool: 'ringpool',
  piscina: 'piscina',
  tinypool: 'tinypool',
  workerpool: 'workerpool',
  bare: 'worker_threads (bare postMessage)',
};

// Constant run() options, hoisted so the peers do not pay an allocation per task.
const RUN = {
  noop: { name: 'noop' },
  echo: { name: 'echo' },
  fib: { name: 'fib' },
  echoMove: { name: 'echoMove' },
};

function ringpoolAdapter(ctx) {
  const { pool } = ctx.ringpool;
  const script = W('pool-ringpool.js');
  return {
    create() {
      const p = pool(script, { minWorkers: THREADS, maxWorkers: THREADS });
      return {
        pool: p,
        noop: () => p.exec('noop'),
        echo: (x) => p.exec('echo', [x]),
        fib: (n) => p.exec('fib', [n]),
        echoMove: (ab) => p.exec('echoMove', [ab], { transfer: [ab] }),
        destroy: () => p.terminate(),
      };
    },
  };
}

function piscinaAdapter() {
  const Piscina = require('piscina');
  const filename = W('pool-piscina.js');
  return {
    create() {
      const p = new Piscina({ filename, minThreads: THREADS, maxThreads: THREADS });
      return {
        pool: p,
        noop: () => p.run(undefined, RUN.noop),
        echo: (x) => p.run(x, RUN.echo),
        fib: (n) => p.run(n, RUN.fib),
        echoMove: (ab) => p.run(Piscina.move(ab), RUN.echoMove),
        destroy: () => p.destroy(),
      };
    },
  };
}

async function tinypoolAdapter() {
  const Tinypool = (await import('tinypool')).default; // ESM-only package
  const filename = W('pool-tinypool.js');
  return {
    create() {
      const p = new Tinypool({ filename, minThreads: THREADS, maxThreads: THREADS });
      return {
        pool: p,
        noop: () => p.run(undefined, RUN.noop),
        echo: (x) => p.run(x, RUN.echo),
        fib: (n) => p.run(n, RUN.fib),
        echoMove: (ab) => p.run(Tinypool.move(ab), RUN.echoMove),
        destroy: () => p.destroy(),
      };
    },
  };
}

function workerpoolAdapter() {
  const workerpool = require('workerpool');
  const script = W('pool-workerpool.js');
  return {
    create() {
      const p = workerpool.pool(script, { minWorkers: THREADS, maxWorkers: THREADS, workerType: 'thread' });
      return {
        pool: p,
        noop: () => p.exec('noop'),
        echo: (x) => p.exec('echo', [x]),
        fib: (n) => p.exec('fib', [n]),
        echoMove: (ab) => p.exec('echoMove', [ab], { transfer: [ab] }),
        destroy: () => p.terminate(),
      };
    },
  };
}

/** The floor: no queue, no scheduling beyond round-robin, no error model. */
function bareAdapter() {
  const file = W('pool-bare.js');
  return {
    create() {
      const pending = new Map();
      let nextId = 1;
      let rr = 0;
      let fatal = null;
      const fail = (err) => {
        fatal = fatal || err;
        for (const p of pending.values()) p.reject(fatal);
        pending.clear();
      };
      const onMessage = (m) => {
        const p = pending.get(m[0]);
        if (!p) return;
        pending.delete(m[0]);
        if (m.length > 2) p.reject(new Error(m[2]));
        else p.resolve(m[1]);
      };
      const workers = [];
      for (let i = 0; i < THREADS; i++) {
        const w = new Worker(file);
        w.on('message', onMessage);
        w.on('error', fail);
        w.on('exit', (code) => { if (pending.size) fail(new Error(`bare worker exited with code ${code}`)); });
        workers.push(w);
      }
      const call = (method, arg, transfer) => {
        if (fatal) return Promise.reject(fatal);
        const id = nextId++;
        const w = workers[rr];
        rr = (rr + 1) % THREADS;
        return new Promise((resolve, reject) => {
          pending.set(id, { resolve, reject });
          w.postMessage([id, method, arg], transfer);
        });
      };
      return {
        noop: () => call('noop'),
        echo: (x) => call('echo', x),
        fib: (n) => call('fib', n),
        echoMove: (ab) => call('echoMove', ab, [ab]),
        destroy: () => Promise.all(workers.map((w) => w.terminate())),
      };
    },
  };
}

/** Loads a library (not timed) and returns its adapter. */
async function loadAdapter(kind, ctx) {
  let a;
  if (kind === 'ringpool') a = ringpoolAdapter(ctx);
  else if (kind === 'piscina') a = piscinaAdapter();
  else if (kind === 'tinypool') a = await tinypoolAdapter();
  else if (kind === 'workerpool') a = workerpoolAdapter();
  else if (kind === 'bare') a = bareAdapter();
  else throw new Error(`unknown pool kind ${kind}`);
  return { kind, name: LABEL[kind], role: kind === 'ringpool' ? 'ringpool' : 'baseline', ...a };
}

/** Both workers up and every code path used once. */
async function prewarm(p) {
  await p.noop();
  await Promise.all(Array.from({ length: 256 }, () => p.noop()));
  const r = await Promise.all(Array.from({ length: 2 * THREADS }, (_, i) => p.echo(i)));
  if (r.some((v, i) => v !== i)) throw new Error(`pre-warm: bad echo ${JSON.stringify(r)}`);
}

/**
 * One harness subject per library.
 *   sample(handle, info, state) -> metrics        handle is the pool (pre-warmed in setup),
 *                                                 or, with prewarm: false, null (the sample
 *                                                 creates pools itself from state.adapter)
 *   init?(state) -> void                          extra per-subject state, not timed
 */
function poolSubjects(ctx, { sample, prewarm: warm = true, init, kinds = KINDS }) {
  return kinds.map((kind) => ({
    name: LABEL[kind],
    role: kind === 'ringpool' ? 'ringpool' : 'baseline',
    async setup() {
      const adapter = await loadAdapter(kind, ctx);
      const st = { adapter, p: null };
      try {
        if (warm) {
          st.p = adapter.create();
          await prewarm(st.p);
        }
        if (init) await init(st);
      } catch (err) {
        // The harness gets no state back from a failed setup: stop the pool here.
        if (st.p) await h.withTimeout(Promise.resolve(st.p.destroy()), 10000, 'destroy after failed setup').catch(() => {});
        throw err;
      }
      return st;
    },
    sample: (st, info) => sample(st.p, info, st),
    async teardown(st) {
      if (st && st.p) await st.p.destroy();
    },
  }));
}

/** Seconds since a process.hrtime.bigint() stamp. */
function since(t0) {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/**
 * Generic targets: ringpool no worse than the SLOWEST peer (piscina, tinypool, workerpool), one
 * per metric of a group. metrics: [{ key, label }].
 */
function worstPeerTargets(idPrefix, group, metrics) {
  return metrics.map((m, i) => ({
    id: `${idPrefix}${metrics.length > 1 ? String.fromCharCode(97 + i) : ''}`,
    label: `${group}: ${m.label} no worse than the slowest peer`,
    group,
    metric: m.key,
    subject: LABEL.ringpool,
    baseline: PEERS.map((k) => LABEL[k]),
    pick: 'worst',
    need: 1,
  }));
}

module.exports = { KINDS, PEERS, LABEL, THREADS, loadAdapter, prewarm, poolSubjects, since, worstPeerTargets, h };
