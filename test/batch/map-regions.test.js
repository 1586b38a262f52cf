'use strict';
// mapRegions: one SharedArrayBuffer processed in place by regions, with overlap, rows,
// explicit ranges; version counters (1 per region, ringpool notify) seen by onRegion, by
// ringpool's waitAsync on the main thread and by another worker thread blocked in ringpool's
// wait; no copy of the data (the regions write in place and the caller sees it).
const assert = require('node:assert/strict');
const { Worker } = require('node:worker_threads');
const { rp, fixture, sharedPool, usePools, until, release, untilIdle, outcome, within, range, STARTED } = require('./support');

const { untilWaiters } = require('../helpers/ringpool');

const { pool, waitAsync } = rp;
const methods = fixture('batch-methods.js');

const HEADER = 16; // bytes in front of the data in every test buffer (control cells live there)

/**
 * 1-D blur of radius 2 (mean of the neighbours that exist), computed by region from the
 * input bytes (read through region.bytes, which must cover the overlap) into the output
 * half of the buffer. Buffer layout: [HEADER][input: n][output: n].
 */
function blurRegion(region) {
  const H = 16;
  const n = (region.buffer.byteLength - H) / 2;
  const out = new Uint8Array(region.buffer, H + n, n);
  const R = 2;
  for (let j = region.start; j < region.end; j++) {
    let sum = 0;
    let cnt = 0;
    for (let k = j - R; k <= j + R; k++) {
      if (k < H || k >= H + n) continue; // outside the input
      if (k < region.readStart || k >= region.readEnd) throw new Error(`byte ${k} is outside the readable range [${region.readStart}, ${region.readEnd})`);
      sum += region.bytes[k - region.readStart];
      cnt++;
    }
    out[j - H] = Math.round(sum / cnt);
  }
  return region.end - region.start;
}

function blurReference(input) {
  const n = input.length;
  const out = new Uint8Array(n);
  for (let j = 0; j < n; j++) {
    let sum = 0;
    let cnt = 0;
    for (let k = j - 2; k <= j + 2; k++) {
      if (k < 0 || k >= n) continue;
      sum += input[k];
      cnt++;
    }
    out[j] = Math.round(sum / cnt);
  }
  return out;
}

function blurBuffer(n) {
  const sab = new SharedArrayBuffer(HEADER + 2 * n);
  const input = new Uint8Array(sab, HEADER, n);
  for (let i = 0; i < n; i++) input[i] = (i * 131 + ((i * i) >> 3)) & 255;
  return { sab, input, output: new Uint8Array(sab, HEADER + n, n) };
}

function brightenReference(u8) {
  const out = Uint8Array.from(u8);
  for (let i = 0; i < out.length; i++) if ((i & 3) !== 3) out[i] = Math.min(255, out[i] + 10);
  return out;
}

describe('batch: mapRegions', () => {
  const common = sharedPool();
  const track = usePools();

  for (const regions of [1, 2, 3, 7, 64]) {
    it(`1-D blur with overlap 2 over ${regions} region(s) equals the single-threaded reference`, async () => {
      const p = common();
      const n = 1001;
      const { input, output } = blurBuffer(n);
      const r = await p.mapRegions(input, blurRegion, { regions, overlap: 2 });
      assert.deepEqual(output, blurReference(input));
      assert.equal(r.results.length, regions);
      assert.equal(r.results.reduce((a, b) => a + b, 0), n);
      assert.deepEqual(Array.from(r.versions), new Array(regions).fill(1));
      // layout: contiguous, covering the view, read ranges widened by the overlap and clamped
      assert.equal(r.regions[0].start, HEADER);
      assert.equal(r.regions[regions - 1].end, HEADER + n);
      for (let k = 0; k < regions; k++) {
        const g = r.regions[k];
        if (k > 0) assert.equal(g.start, r.regions[k - 1].end);
        assert.equal(g.readStart, Math.max(HEADER, g.start - 2));
        assert.equal(g.readEnd, Math.min(HEADER + n, g.end + 2));
      }
      assert.equal(typeof r.duration, 'number');
    });
  }

  it('without overlap the readable range is the region itself', async () => {
    const p = common();
    const sab = new SharedArrayBuffer(64);
    const r = await p.mapRegions(sab, (g) => [g.readStart === g.start, g.readEnd === g.end, g.bytes.length === g.end - g.start, g.bytes.byteOffset === g.start], { regions: 4 });
    for (const x of r.results) assert.deepEqual(x, [true, true, true, true]);
  });

  it('region.bytes is a view over the same memory (in-place writes are seen by the caller: no copy)', async () => {
    const p = common();
    const sab = new SharedArrayBuffer(4096);
    const u8 = new Uint8Array(sab);
    for (let i = 0; i < u8.length; i++) u8[i] = i & 255;
    const r = await p.mapRegions(sab, (g) => {
      for (let i = g.start - g.readStart; i < g.end - g.readStart; i++) g.bytes[i] ^= 0xff;
      return g.buffer instanceof SharedArrayBuffer && g.buffer.byteLength === 4096;
    }, { regions: 5, overlap: 3 });
    assert.deepEqual(r.results, [true, true, true, true, true]);
    for (let i = 0; i < u8.length; i++) assert.equal(u8[i], (i & 255) ^ 0xff);
  });

  it('rowBytes: boundaries fall on rows (RGBA image), brightness in place equals the reference', async () => {
    const p = common();
    const w = 37;
    const h = 23;
    const rowBytes = w * 4;
    const sab = new SharedArrayBuffer(rowBytes * h + 8);
    const img = new Uint8Array(sab, 8, rowBytes * h); // not at offset 0: offsets are into the buffer
    for (let i = 0; i < img.length; i++) img[i] = (i * 97) & 255;
    const expected = brightenReference(img);
    for (const regions of [1, 4, 5, 23, 30]) {
      img.set(Uint8Array.from({ length: img.length }, (_, i) => (i * 97) & 255));
      const r = await p.mapRegions(img, 'brighten', { regions, rowBytes });
      assert.deepEqual(img, expected, `regions ${regions}`);
      let covered = 0;
      for (const g of r.regions) {
        assert.equal((g.start - 8) % rowBytes, 0, `regions ${regions}: start ${g.start} not on a row`);
        assert.ok(g.end === 8 + img.length || (g.end - 8) % rowBytes === 0, `regions ${regions}: end ${g.end} not on a row`);
        covered += g.end - g.start;
      }
      assert.equal(covered, img.length);
    }
  });

  it('explicit regions: only those ranges are processed', async () => {
    const p = common();
    const sab = new SharedArrayBuffer(100);
    const u8 = new Uint8Array(sab);
    const r = await p.mapRegions(sab, (g) => {
      for (let i = g.start; i < g.end; i++) new Uint8Array(g.buffer)[i] = g.index + 1;
      return [g.start, g.end];
    }, { regions: [{ start: 10, end: 20 }, { start: 50, end: 55 }, { start: 90, end: 100 }] });
    assert.deepEqual(r.results, [[10, 20], [50, 55], [90, 100]]);
    for (let i = 0; i < 100; i++) {
      const want = i >= 10 && i < 20 ? 1 : i >= 50 && i < 55 ? 2 : i >= 90 ? 3 : 0;
      assert.equal(u8[i], want, `byte ${i}`);
    }
    assert.deepEqual(Array.from(r.versions), [1, 1, 1]);
  });

  it('async region functions; results in region order', async () => {
    const p = common();
    const { input, output } = blurBuffer(300);
    const r = await p.mapRegions(input, async (g) => {
      await null;
      const H = 16;
      const n = (g.buffer.byteLength - H) / 2;
      new Uint8Array(g.buffer, H + n, n).fill(g.index, g.start - H, g.end - H);
      return g.index * 2;
    }, { regions: 6 });
    assert.deepEqual(r.results, [0, 2, 4, 6, 8, 10]);
    assert.deepEqual(Array.from(r.versions), [1, 1, 1, 1, 1, 1]);
    for (let k = 0; k < 6; k++) assert.equal(output[r.regions[k].start - HEADER], k);
  });

  it('onRegion(index, result) runs once per region, after the region is complete and its counter bumped', async () => {
    const p = common();
    const n = 2000;
    const regions = 8;
    const { input, output } = blurBuffer(n);
    const ref = blurReference(input);
    const versions = new Int32Array(new SharedArrayBuffer(regions * 4));
    const seen = [];
    const problems = [];
    const r = await p.mapRegions(input, blurRegion, {
      regions,
      overlap: 2,
      versions,
      onRegion(index, result) {
        seen.push(index);
        const start = Math.round((n * index) / regions);
        const end = Math.round((n * (index + 1)) / regions);
        if (Atomics.load(versions, index) !== 1) problems.push(`region ${index}: counter ${versions[index]}`);
        if (result !== end - start) problems.push(`region ${index}: result ${result}`);
        for (let i = start; i < end; i++) {
          if (output[i] !== ref[i]) {
            problems.push(`region ${index}: byte ${i} not written yet`);
            break;
          }
        }
      },
    });
    assert.deepEqual(problems, []);
    assert.deepEqual([...seen].sort((a, b) => a - b), range(regions));
    assert.equal(r.results.reduce((a, b) => a + b, 0), n);
  });

  it('versions: a caller-provided counter array is bumped once per region per run', async () => {
    const p = common();
    const versions = new Int32Array(new SharedArrayBuffer(6 * 4));
    versions[5] = 42; // beyond the regions: untouched
    const sab = new SharedArrayBuffer(500);
    const a = await p.mapRegions(sab, (g) => g.index, { regions: 5, versions });
    assert.equal(a.versions, versions);
    assert.deepEqual(Array.from(versions), [1, 1, 1, 1, 1, 42]);
    await p.mapRegions(sab, (g) => g.index, { regions: 5, versions });
    assert.deepEqual(Array.from(versions), [2, 2, 2, 2, 2, 42]);
  });

  it("ringpool's waitAsync on the main thread wakes for each region as its counter is bumped", async () => {
    const p = common();
    const n = 4096;
    const sab = new SharedArrayBuffer(HEADER + n);
    const ctl = new Int32Array(sab, 0, 4);
    const versions = new Int32Array(new SharedArrayBuffer(4 * 4));
    // every region waits at the gate, so the waiters below are queued before any bump
    const run = p.mapRegions(new Uint8Array(sab, HEADER), (g) => {
      const c = new Int32Array(g.buffer, 0, 4);
      while (Atomics.load(c, 0) === 0) Atomics.wait(c, 0, 0);
      new Uint8Array(g.buffer).fill(7, g.start, g.end);
      return g.index;
    }, { regions: 4, versions });
    const waits = range(4).map((k) => waitAsync(versions, k, 0, 15000));
    for (const w of waits) assert.equal(w.async, true);
    release(ctl);
    assert.deepEqual(await Promise.all(waits.map((w) => w.value)), ['ok', 'ok', 'ok', 'ok']);
    await run;
    assert.deepEqual(Array.from(versions), [1, 1, 1, 1]);
  });

  it("another worker thread blocked in ringpool's wait on the counters sees every region finish, with its data", async () => {
    const p = common();
    const n = 8000;
    const { sab, input, output } = blurBuffer(n);
    const ctl = new Int32Array(sab, 0, 4);
    const regions = 4;
    const versions = new Int32Array(new SharedArrayBuffer(regions * 4));
    const report = new Int32Array(new SharedArrayBuffer((1 + 3 * regions) * 4));
    // Gate every region until the watcher is parked on counter 0, so its first wait really waits.
    const gatedBlur = (g) => {
      const c = new Int32Array(g.buffer, 0, 4);
      while (Atomics.load(c, 0) === 0) Atomics.wait(c, 0, 0);
      const H = 16;
      const n = (g.buffer.byteLength - H) / 2;
      const out = new Uint8Array(g.buffer, H + n, n);
      for (let j = g.start; j < g.end; j++) {
        let sum = 0;
        let cnt = 0;
        for (let k = j - 2; k <= j + 2; k++) {
          if (k < H || k >= H + n) continue;
          sum += g.bytes[k - g.readStart];
          cnt++;
        }
        out[j - H] = Math.round(sum / cnt);
      }
      return g.index;
    };
    // output ranges of the regions, as offsets into the buffer (the same split mapRegions makes)
    const bounds = range(regions).map((k) => ({ start: HEADER + n + Math.round((n * k) / regions), end: HEADER + n + Math.round((n * (k + 1)) / regions) }));
    const watcher = new Worker(fixture('version-watcher.js'), { workerData: { versions, regions: bounds, out: new Uint8Array(sab), report } });
    const exited = new Promise((resolve, reject) => {
      watcher.once('error', reject);
      watcher.once('exit', resolve);
    });
    try {
      await untilWaiters(versions, 0, 1);
      const run = p.mapRegions(input, gatedBlur, { regions, overlap: 2, versions });
      release(ctl);
      const r = await run;
      await until(report, 0, regions, 'the watcher to see every region');
      assert.equal(await exited, 0);
      const ref = blurReference(input);
      assert.deepEqual(output, ref);
      assert.equal(report[1], 1, "the watcher's first wait did not end with 'ok'");
      for (let k = 0; k < regions; k++) {
        assert.ok(report[1 + 3 * k] === 1 || report[1 + 3 * k] === 2, `region ${k}: wait ended with code ${report[1 + 3 * k]}`);
        assert.equal(report[2 + 3 * k], 1, `region ${k}: counter`);
        let sum = 0;
        for (let i = bounds[k].start; i < bounds[k].end; i++) sum += ref[i - HEADER - n];
        assert.equal(report[3 + 3 * k], sum, `region ${k}: the watcher read other bytes than the final output`);
        assert.equal(r.regions[k].start + n, bounds[k].start);
      }
    } finally {
      release(ctl);
      await watcher.terminate();
    }
  });

  it('onRegion(k) fires as region k finishes, while other regions of the same worker still run', async () => {
    // One worker gets both regions in one go. Region 0 finishes at once; region 1 waits until
    // the main thread has seen region 0 through onRegion. If the worker holds region 0's
    // result until region 1 is done, onRegion(0) never comes.
    const p = track(pool(methods, { minWorkers: 1, maxWorkers: 1 }));
    await p.exec('double', [1]);
    const sab = new SharedArrayBuffer(HEADER + 64);
    const ctl = new Int32Array(sab, 0, 4);
    const seen = [];
    const run = p.mapRegions(new Uint8Array(sab, HEADER), (g) => {
      const c = new Int32Array(g.buffer, 0, 4);
      if (g.index === 1) {
        Atomics.add(c, 1, 1);
        Atomics.notify(c, 1);
        while (Atomics.load(c, 0) === 0) Atomics.wait(c, 0, 0);
      }
      return g.index;
    }, {
      regions: 2,
      onRegion(k) {
        seen.push(k);
        if (k === 0) release(ctl);
      },
    });
    await until(ctl, STARTED, 1, 'region 1 to start');
    const r = await within(run, 5000, 'onRegion(0) did not fire while region 1 was still running', () => release(ctl));
    assert.deepEqual(r.results, [0, 1]);
    assert.deepEqual(seen, [0, 1]);
  });

  it('regions are spread over the workers: 2 regions on 2 workers run at the same time', async () => {
    // Each region waits at a barrier until both regions have started: that can only end if
    // the two regions run on different workers at once. (Region tasks are tiny records; a
    // dispatch that fills the first worker up to its queue depth gives it both.)
    const p = track(pool(methods, { minWorkers: 2, maxWorkers: 2 }));
    await Promise.all([p.exec('double', [1]), p.exec('double', [2])]);
    const sab = new SharedArrayBuffer(HEADER + 64);
    const ctl = new Int32Array(sab, 0, 4);
    const run = p.mapRegions(new Uint8Array(sab, HEADER), (g) => {
      const c = new Int32Array(g.buffer, 0, 4);
      Atomics.add(c, 1, 1);
      Atomics.notify(c, 1);
      for (let v = Atomics.load(c, 1); v < 2; v = Atomics.load(c, 1)) Atomics.wait(c, 1, v);
      return g.index;
    }, { regions: 2 });
    const r = await within(run, 5000, 'the two regions never ran at the same time: both went to one worker', () => {
      Atomics.store(ctl, 1, 2);
      Atomics.notify(ctl, 1);
    });
    assert.deepEqual(r.results, [0, 1]);
  });

  it('a region that throws rejects with its error and index; its counter is not bumped', async () => {
    const p = common();
    const versions = new Int32Array(new SharedArrayBuffer(4 * 4));
    const o = await outcome(p.mapRegions(new SharedArrayBuffer(40), (g) => {
      if (g.index === 2) throw new RangeError('region two');
      return g.index;
    }, { regions: 4, versions }));
    assert.ok(o.error instanceof RangeError);
    assert.equal(o.error.message, 'region two');
    assert.equal(o.error.index, 2);
    await untilIdle(p);
    assert.equal(versions[2], 0);
  });

  it('zero-length input and regions beyond the rows: every region still reported', async () => {
    const p = common();
    const r = await p.mapRegions(new SharedArrayBuffer(0), (g) => g.end - g.start, { regions: 3 });
    assert.deepEqual(r.results, [0, 0, 0]);
    const r2 = await p.mapRegions(new SharedArrayBuffer(8), (g) => g.end - g.start, { regions: 4, rowBytes: 4 });
    assert.equal(r2.results.reduce((a, b) => a + b, 0), 8);
    const r3 = await p.mapRegions(new SharedArrayBuffer(8), (g) => g.index, { regions: [] });
    assert.deepEqual(r3.results, []);
  });

  it('the default region count gives every worker work', async () => {
    const p = common();
    const r = await p.mapRegions(new SharedArrayBuffer(1000), (g) => g.end - g.start);
    assert.ok(r.results.length >= p.maxWorkers);
    assert.equal(r.results.reduce((a, b) => a + b, 0), 1000);
  });
});
