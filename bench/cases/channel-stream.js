'use strict';
/**
 * Byte messages from a worker to main. ringpool: Channel, main drains with receiveInto(scratch)
 * (no allocation) and, only when the channel is empty, awaits receiveAsync(). Baseline: a
 * MessagePort (MessageChannel) where the worker posts Uint8Array copies and main counts
 * 'message' events. Two baselines: "MessagePort" uses the same flow control as the channel
 * (see workers/stream.js) with a window of as many messages in flight as fit in the ringpool
 * channel; "MessagePort (unbounded)" posts without any. The ratio is against the faster one.
 * Plus a 64 B round trip: request channel → worker echo → response channel, vs port ping-pong.
 */
const { MessageChannel } = require('node:worker_threads');
const h = require('../harness');

const layout = Object.freeze({ CONSUMED: 0, WAITING: 1, ABORT: 2, INTS: 4 });
const MiB = 1 << 20;

function sizeLabel(size) {
  return size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
}

/** Messages of `size` that fit in `bytes` (record header + 8-byte alignment assumed). */
function capacityMsgs(bytes, size) {
  return Math.max(1, Math.floor(bytes / (Math.ceil(size / 8) * 8 + 8)));
}

function readSeq(u8) {
  return (u8[0] | (u8[1] << 8) | (u8[2] << 16) | (u8[3] << 24)) >>> 0;
}

function makeCtl() {
  const sab = new SharedArrayBuffer(layout.INTS * 4);
  return { sab, i32: new Int32Array(sab) };
}

/**
 * Main's side of flow control: publish progress and wake the producer if it sleeps. Main
 * clears WAITING itself, so a producer that is slow to wake costs one notify, not one per
 * publish; the producer sets WAITING again before every sleep (see workers/stream.js).
 */
function publish(ctl, n) {
  Atomics.store(ctl, layout.CONSUMED, n);
  if (Atomics.load(ctl, layout.WAITING) && Atomics.exchange(ctl, layout.WAITING, 0)) Atomics.notify(ctl, layout.CONSUMED, 1);
}

/** Publish progress every quarter of the channel's (or window's) capacity. */
function publishEvery(bytes, size) {
  return Math.max(1, capacityMsgs(bytes, size) >> 2);
}

function streamResult(count, size, t0, t1) {
  const s = Number(t1 - t0) / 1e9;
  return { msgs: count / s, mbs: (count * size) / s / 1e6 };
}

function ringpoolStream(ctx, size, bytes, count) {
  return {
    name: 'ringpool Channel (receiveInto)',
    role: 'ringpool',
    async setup() {
      const { Channel } = ctx.ringpool;
      const chan = new Channel({ bytes });
      const ctl = makeCtl();
      const w = await h.startWorker('stream.js', { mode: 'ringpool', chan: chan.buffer, ctl: ctl.sab });
      return { chan, ctl: ctl.i32, w, scratch: new Uint8Array(size), every: publishEvery(bytes, size) };
    },
    async sample(st) {
      const { chan, ctl, scratch, every } = st;
      const n = count; // warm-up uses the same count
      Atomics.store(ctl, layout.CONSUMED, 0);
      const t0 = process.hrtime.bigint();
      const producer = st.w.request('stream', { count: n, size });
      let failed = null;
      const failure = producer.then(() => new Promise(() => {}), (e) => { failed = e; throw e; });
      failure.catch(() => {});
      let i = 0;
      while (i < n) {
        const len = chan.receiveInto(scratch);
        if (len >= 0) {
          if (len !== size || readSeq(scratch) !== (i >>> 0)) throw new Error(`message ${i}: got ${len} B, seq ${readSeq(scratch)}`);
          i++;
          if (i % every === 0) publish(ctl, i);
          continue;
        }
        publish(ctl, i);
        if (failed) throw failed;
        // Empty: park until the next record arrives (allocates only on this slow path).
        const m = await Promise.race([chan.receiveAsync(), failure]).catch((e) => {
          chan.send(new Uint8Array(1)); // we may write too: settles our pending receiveAsync
          throw e;
        });
        if (m.length !== size || readSeq(m) !== (i >>> 0)) throw new Error(`message ${i}: got ${m.length} B, seq ${readSeq(m)}`);
        i++;
        if (i % every === 0) publish(ctl, i);
      }
      const t1 = process.hrtime.bigint();
      publish(ctl, i);
      await producer;
      return streamResult(n, size, t0, t1);
    },
    async teardown(st) {
      if (!st) return;
      Atomics.store(st.ctl, layout.ABORT, 1);
      Atomics.notify(st.ctl, layout.CONSUMED);
      await st.w.stop();
    },
  };
}

function portStream(ctx, size, bytes, count, window) {
  return {
    // window > 0: at most `window` unconsumed messages (as many as fit in the ringpool channel);
    // 0: no flow control at all — the port queues everything (often faster, unbounded memory).
    name: window > 0 ? 'MessagePort' : 'MessagePort (unbounded)',
    role: 'baseline',
    async setup() {
      const ctl = makeCtl();
      const { port1, port2 } = new MessageChannel();
      const w = await h.startWorker('stream.js', { mode: 'port', port: port2, ctl: ctl.sab }, { transferList: [port2] });
      const st = { port: port1, ctl: ctl.i32, w, on: null, every: publishEvery(bytes, size) };
      port1.on('message', (m) => st.on(m));
      return st;
    },
    async sample(st) {
      const { ctl, every } = st;
      const n = count; // warm-up uses the same count
      Atomics.store(ctl, layout.CONSUMED, 0);
      let i = 0;
      let t1;
      const done = new Promise((resolve, reject) => {
        st.on = (m) => {
          if (m.length !== size || readSeq(m) !== (i >>> 0)) {
            reject(new Error(`message ${i}: got ${m.length} B, seq ${readSeq(m)}`));
            return;
          }
          i++;
          if (i % every === 0) publish(ctl, i);
          if (i === n) {
            t1 = process.hrtime.bigint();
            resolve();
          }
        };
      });
      const t0 = process.hrtime.bigint();
      const producer = st.w.request('stream', { count: n, size, window });
      await Promise.race([done, producer.then(() => h.withTimeout(done, 30000, 'receiving'))]);
      publish(ctl, i);
      await producer;
      return streamResult(n, size, t0, t1);
    },
    async teardown(st) {
      if (!st) return;
      st.port.close();
      Atomics.store(st.ctl, layout.ABORT, 1);
      Atomics.notify(st.ctl, layout.CONSUMED);
      await st.w.stop();
    },
  };
}

function rtResult(lat, t0, t1) {
  const s = lat.sort();
  return { rtps: lat.length / (Number(t1 - t0) / 1e9), p50: h.percentileSorted(s, 50), p99: h.percentileSorted(s, 99) };
}

function ringpoolRoundTrip(ctx, rounds) {
  return {
    name: 'ringpool Channel pair',
    role: 'ringpool',
    async setup() {
      const { Channel } = ctx.ringpool;
      const req = new Channel({ bytes: 64 * 1024 });
      const resp = new Channel({ bytes: 64 * 1024 });
      const ctl = makeCtl();
      const w = await h.startWorker('stream.js', { mode: 'ringpool', req: req.buffer, resp: resp.buffer, ctl: ctl.sab });
      return { req, resp, ctl: ctl.i32, w };
    },
    async sample(st, { warmup }) {
      const { req, resp } = st;
      const n = warmup ? Math.max(100, rounds >> 2) : rounds;
      const msg = new Uint8Array(64).fill(42);
      const scratch = new Uint8Array(64);
      const lat = new Float64Array(n);
      const echo = st.w.request('echo');
      let failed = null;
      const failure = echo.then(() => new Promise(() => {}), (e) => { failed = e; throw e; });
      failure.catch(() => {});
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        const ts = process.hrtime.bigint();
        msg[0] = i & 255;
        if (!req.send(msg)) throw new Error(`request channel full in round ${i}`);
        let len = resp.receiveInto(scratch);
        let got = scratch;
        if (len < 0) {
          if (failed) throw failed;
          got = await Promise.race([resp.receiveAsync(), failure]).catch((e) => {
            resp.send(new Uint8Array(1)); // settles our own pending receiveAsync
            throw e;
          });
          len = got.length;
        }
        if (len !== 64 || got[0] !== (i & 255)) throw new Error(`round ${i}: bad echo (${len} B)`);
        lat[i] = Number(process.hrtime.bigint() - ts) / 1000;
      }
      const t1 = process.hrtime.bigint();
      req.send(new Uint8Array(1)); // stop record
      await echo;
      return rtResult(lat, t0, t1);
    },
    async teardown(st) {
      if (!st) return;
      Atomics.store(st.ctl, layout.ABORT, 1);
      await st.w.stop();
    },
  };
}

function portRoundTrip(ctx, rounds) {
  return {
    name: 'MessagePort ping-pong',
    role: 'baseline',
    async setup() {
      const ctl = makeCtl();
      const { port1, port2 } = new MessageChannel();
      const w = await h.startWorker('stream.js', { mode: 'port', port: port2, echo: true, ctl: ctl.sab }, { transferList: [port2] });
      const st = { port: port1, w, on: null };
      port1.on('message', (m) => st.on(m));
      return st;
    },
    async sample(st, { warmup }) {
      const { port } = st;
      const n = warmup ? Math.max(100, rounds >> 2) : rounds;
      const msg = new Uint8Array(64).fill(42);
      const lat = new Float64Array(n);
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        const ts = process.hrtime.bigint();
        msg[0] = i & 255;
        const reply = new Promise((resolve) => { st.on = resolve; });
        port.postMessage(msg);
        const got = await h.withTimeout(reply, 10000, `round ${i}`);
        if (got.length !== 64 || got[0] !== (i & 255)) throw new Error(`round ${i}: bad echo (${got.length} B)`);
        lat[i] = Number(process.hrtime.bigint() - ts) / 1000;
      }
      const t1 = process.hrtime.bigint();
      return rtResult(lat, t0, t1);
    },
    async teardown(st) {
      if (!st) return;
      st.port.close();
      await st.w.stop();
    },
  };
}

const STREAMS = [
  { size: 64, bytes: 1 * MiB, count: [400000, 100000] },
  { size: 1024, bytes: 1 * MiB, count: [400000, 100000] },
  { size: 64 * 1024, bytes: 4 * MiB, count: [10000, 2000] },
];

module.exports = {
  name: 'channel-stream',
  order: 30,
  description: 'worker → main byte messages: ringpool Channel vs MessagePort; 64 B round trip',
  layout,
  targets: [
    {
      id: 'c',
      label: 'Channel 1 KiB stream (receiveInto loop): msgs/s ≥ 5× MessagePort',
      group: 'stream 1 KiB',
      metric: 'msgs',
      subject: 'ringpool Channel (receiveInto)',
      baseline: ['MessagePort', 'MessagePort (unbounded)'], // the faster of the two
      need: 5,
    },
  ],
  async run(ctx) {
    for (const s of STREAMS) {
      const count = ctx.pick(...s.count);
      const window = capacityMsgs(s.bytes, s.size);
      await ctx.compare(
        `stream ${sizeLabel(s.size)}`,
        [
          ringpoolStream(ctx, s.size, s.bytes, count),
          portStream(ctx, s.size, s.bytes, count, window),
          portStream(ctx, s.size, s.bytes, count, 0),
        ],
        {
          metrics: [
            { key: 'msgs', label: `msgs/s (${count.toLocaleString('en-US')} msgs)`, unit: 'msg/s', better: 'higher' },
            { key: 'mbs', label: 'MB/s', unit: 'MB/s', better: 'higher' },
          ],
        },
      );
    }
    const rounds = ctx.pick(5000, 1000);
    await ctx.compare('round trip 64 B', [ringpoolRoundTrip(ctx, rounds), portRoundTrip(ctx, rounds)], {
      metrics: [
        { key: 'rtps', label: `round trips/s (${rounds.toLocaleString('en-US')})`, unit: 'rt/s', better: 'higher' },
        { key: 'p50', label: 'round trip p50', unit: 'µs', better: 'lower' },
        { key: 'p99', label: 'round trip p99', unit: 'µs', better: 'lower' },
      ],
    });
  },
};
