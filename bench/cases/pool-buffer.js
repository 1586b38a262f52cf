'use strict';
/**
 * 1 MiB ArrayBuffer echo, many tasks in flight (submitted at once, Promise.all), 2 threads each,
 * pre-warmed. Two groups:
 *   copied       the buffer is a plain argument and a plain result (structured clone / codec
 *                copy both ways); the same pre-built, distinct inputs are shared by all subjects
 *   transferred  transfer list both ways, each library's own mechanism:
 *                ringpool   exec('echoMove', [ab], { transfer: [ab] }), worker returns new Transfer(ab, [ab])
 *                piscina    run(Piscina.move(ab)), worker returns Piscina.move(ab)
 *                tinypool   run(Tinypool.move(ab)), worker returns Tinypool.move(ab)
 *                workerpool exec('echoMove', [ab], { transfer: [ab] }), worker returns new workerpool.Transfer(ab, [ab])
 *                bare       postMessage(msg, [ab]) both ways
 *              the returned buffers are sent again in the next repetition; every input must
 *              be detached once its task resolved (proves it was moved, not copied).
 * Every result is checked: an ArrayBuffer of 1 MiB carrying its task's index at both ends.
 * MB/s counts the payload once per task (n × 1 MiB / s), not both directions.
 */
const { poolSubjects, since, worstPeerTargets } = require('../workers/pool-lib');

const SIZE = 1 << 20;
const COPY = '1 MiB echo, copied';
const MOVE = '1 MiB echo, transferred';

function stamped(i) {
  const ab = new ArrayBuffer(SIZE);
  const v = new Uint32Array(ab);
  v[0] = i;
  v[v.length - 1] = ~i >>> 0;
  return ab;
}

function check(r, i) {
  if (!(r instanceof ArrayBuffer)) throw new Error(`task ${i}: result is ${Object.prototype.toString.call(r)}, not an ArrayBuffer`);
  if (r.byteLength !== SIZE) throw new Error(`task ${i}: result has ${r.byteLength} bytes`);
  const v = new Uint32Array(r);
  if (v[0] !== i || v[v.length - 1] !== (~i >>> 0)) throw new Error(`task ${i}: result carries ${v[0]} / ${~v[v.length - 1]}`);
}

const result = (n, s) => ({ mbs: (n * SIZE) / s / 1e6 });

module.exports = {
  name: 'pool-buffer',
  order: 42,
  description: 'pool 1 MiB ArrayBuffer echo, copied and transferred, all tasks in flight (2 threads each)',
  targets: [
    ...worstPeerTargets('w4', COPY, [{ key: 'mbs', label: 'MB/s' }]),
    ...worstPeerTargets('w5', MOVE, [{ key: 'mbs', label: 'MB/s' }]),
  ],
  async run(ctx) {
    const n = ctx.pick(200, 50);
    const metrics = [{ key: 'mbs', label: `MB/s (${n} tasks in flight)`, unit: 'MB/s', better: 'higher' }];

    let inputs = Array.from({ length: n }, (_, i) => stamped(i));
    await ctx.compare(COPY, poolSubjects(ctx, {
      async sample(p) {
        const ps = new Array(n);
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < n; i++) ps[i] = p.echo(inputs[i]);
        const rs = await Promise.all(ps);
        const s = since(t0);
        for (let i = 0; i < n; i++) {
          check(rs[i], i);
          if (inputs[i].byteLength !== SIZE) throw new Error(`task ${i}: the input was detached, not copied`);
        }
        return result(n, s);
      },
    }), { metrics, timeoutMs: 60000 });
    inputs = null;

    await ctx.compare(MOVE, poolSubjects(ctx, {
      init(st) {
        st.bufs = Array.from({ length: n }, (_, i) => stamped(i));
      },
      async sample(p, info, st) {
        const bufs = st.bufs;
        const ps = new Array(n);
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < n; i++) ps[i] = p.echoMove(bufs[i]);
        const rs = await Promise.all(ps);
        const s = since(t0);
        for (let i = 0; i < n; i++) {
          if (bufs[i].byteLength !== 0) throw new Error(`task ${i}: the input is still attached (copied, not transferred)`);
          check(rs[i], i);
        }
        st.bufs = rs;
        return result(n, s);
      },
    }), { metrics, timeoutMs: 60000 });
  },
};
