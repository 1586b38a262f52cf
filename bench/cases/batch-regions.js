'use strict';
/**
 * mapRegions: brightness +10 (saturating, alpha untouched) on a 1920×1080 RGBA frame
 * (8,294,400 bytes in a SharedArrayBuffer), ms per frame:
 *   ringpool   p.mapRegions(frame, 'brightenRegion', { rowBytes: 1920 × 4 }): 4 regions (the
 *              default, 2 per worker) processed in place, nothing copied
 *   copying    2 bare worker_threads; the frame is cut in the same 4 row ranges, each range
 *              copied out (slice), transferred to a worker, brightened there, transferred back
 *              and copied into the frame: the usual way without shared memory (the cheapest
 *              one, too: transfer instead of a structured-clone copy each way)
 *   single thread   the same brighten() over the frame on the main thread
 * Every frame starts from the same pixels (restored before the timed part) and the result is
 * checked against a reference frame computed once.
 */
const { Worker } = require('node:worker_threads');
const { ringpoolPool, W, since, THREADS } = require('../workers/batch-lib');
const { brighten } = require('../workers/batch-tasks');

const WIDTH = 1920;
const HEIGHT = 1080;
const ROW = WIDTH * 4;
const BYTES = ROW * HEIGHT;
const REGIONS = THREADS * 2;
const GROUP = 'brightness +10, 1920×1080 RGBA';
const LABEL = {
  ringpool: 'ringpool mapRegions (in place)',
  copy: 'worker_threads, regions copied + transferred',
  loop: 'single thread (loop)',
};

function makeFrames() {
  const original = new Uint8Array(BYTES);
  let x = 12345;
  for (let i = 0; i < BYTES; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    original[i] = x >>> 24;
  }
  const expected = Uint8Array.from(original);
  brighten(expected, 0, BYTES);
  const frame = new Uint8Array(new SharedArrayBuffer(BYTES));
  return { original, expected, frame };
}

/** Row ranges of the frame, the same split mapRegions makes by default. */
function rowRanges() {
  const out = [];
  for (let k = 0; k < REGIONS; k++) {
    out.push({ start: Math.round((HEIGHT * k) / REGIONS) * ROW, end: Math.round((HEIGHT * (k + 1)) / REGIONS) * ROW });
  }
  return out;
}

function checkFrame(frame, expected, who) {
  // compare as 32-bit words for speed; lengths are multiples of 4
  const a = new Uint32Array(frame.buffer, frame.byteOffset, BYTES / 4);
  const b = new Uint32Array(expected.buffer, expected.byteOffset, BYTES / 4);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) throw new Error(`${who}: pixel ${i} differs from the reference`);
}

function copyWorkers() {
  const workers = [];
  const pending = new Map();
  let nextId = 1;
  let fatal = null;
  for (let i = 0; i < THREADS; i++) {
    const w = new Worker(W('batch-copy.js'));
    w.on('message', (m) => {
      const p = pending.get(m[0]);
      pending.delete(m[0]);
      if (p) p.resolve(m[1]);
    });
    w.on('error', (err) => {
      fatal = err;
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    });
    workers.push(w);
  }
  const send = (k, bytes) => {
    if (fatal) return Promise.reject(fatal);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      workers[k % THREADS].postMessage([id, bytes], [bytes.buffer]);
    });
  };
  return { send, destroy: () => Promise.all(workers.map((w) => w.terminate())) };
}

module.exports = {
  name: 'batch-regions',
  order: 63,
  description: 'mapRegions: brightness on a 1920×1080 RGBA frame in place vs copying regions to workers',
  targets: [
    { id: 'b3', label: 'mapRegions ms/frame below the copying version', group: GROUP, metric: 'ms', subject: LABEL.ringpool, baseline: LABEL.copy, need: 1 },
  ],
  async run(ctx) {
    const frames = ctx.pick(10, 4); // frames per repetition
    let { original, expected, frame } = makeFrames();
    const ranges = rowRanges();
    /** Runs `frames` frames; the restore of the pixels before each one is not timed. */
    async function perFrame(who, once) {
      let total = 0;
      for (let f = 0; f < frames; f++) {
        frame.set(original);
        const t0 = process.hrtime.bigint();
        await once();
        total += since(t0);
        if (f === 0) checkFrame(frame, expected, who);
      }
      return { ms: (total * 1000) / frames, fps: frames / total };
    }
    await ctx.compare(GROUP, [
      {
        name: LABEL.ringpool,
        role: 'ringpool',
        async setup() {
          const p = await ringpoolPool(ctx);
          await p.mapRegions(frame, 'brightenRegion', { rowBytes: ROW }); // warm the path
          return p;
        },
        sample: (p) => perFrame(LABEL.ringpool, () => p.mapRegions(frame, 'brightenRegion', { rowBytes: ROW, regions: REGIONS })),
        teardown: (p) => p.terminate(),
      },
      {
        name: LABEL.copy,
        role: 'baseline',
        async setup() {
          const c = copyWorkers();
          await Promise.all([c.send(0, new Uint8Array(16)), c.send(1, new Uint8Array(16))]);
          return c;
        },
        sample: (c) => perFrame(LABEL.copy, async () => {
          const outs = await Promise.all(ranges.map((r, k) => c.send(k, frame.slice(r.start, r.end))));
          for (let k = 0; k < ranges.length; k++) frame.set(outs[k], ranges[k].start);
        }),
        teardown: (c) => c.destroy(),
      },
      {
        name: LABEL.loop,
        role: 'baseline',
        sample: () => perFrame(LABEL.loop, async () => brighten(frame, 0, BYTES)),
      },
    ], {
      metrics: [
        { key: 'ms', label: 'ms per frame', unit: 'ms', better: 'lower' },
        { key: 'fps', label: 'frames/s', unit: 'fps', better: 'higher' },
      ],
      reps: ctx.pick(9, 5),
      timeoutMs: 120000,
    });
    original = null;
    expected = null;
    frame = null;
  },
};
