'use strict';
/**
 * Shared benchmark helpers (plain CommonJS, no build step).
 *
 * Main-thread side:
 *   - statistics: median, percentile, rse, summarize
 *   - formatting: fmtNum, fmtValue, printTable
 *   - Context: what a case's run(ctx) receives; ctx.compare() measures a group of subjects
 *   - startWorker(): spawns a bench worker that speaks the tiny request/reply protocol below
 *   - withTimeout(), nowNs(), spinUs(), collectGarbage()
 * Worker side:
 *   - serve(handlers): answers { id, cmd, arg } requests from startWorker().request()
 *
 * Ratio convention: every metric declares `better: 'lower' | 'higher'`. The "ratio" column is a
 * speed-up against the best baseline of the same group for that metric, oriented so that > 1
 * always means "better than the baseline" (higher throughput or lower time).
 */

const path = require('node:path');
const { Worker, isMainThread, parentPort } = require('node:worker_threads');

const ROOT = path.resolve(__dirname, '..');

// ---------------------------------------------------------------- statistics

/** Sorted copy of a numeric array (ascending). */
function sorted(values) {
  return Float64Array.from(values).sort();
}

/** Nearest-rank percentile, p in [0, 100], of an ALREADY SORTED array. */
function percentileSorted(s, p) {
  if (s.length === 0) return NaN;
  if (p <= 0) return s[0];
  if (p >= 100) return s[s.length - 1];
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.max(0, rank - 1)];
}

/** Nearest-rank percentile of an unsorted array. */
function percentile(values, p) {
  return percentileSorted(sorted(values), p);
}

/** Median (mean of the two middle values for even lengths). */
function median(values) {
  const s = sorted(values);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function mean(values) {
  let t = 0;
  for (const v of values) t += v;
  return values.length ? t / values.length : NaN;
}

/** Relative standard error of the mean, as a fraction (0.02 = ±2 %). */
function rse(values) {
  const n = values.length;
  if (n < 2) return NaN;
  const m = mean(values);
  let ss = 0;
  for (const v of values) ss += (v - m) * (v - m);
  const sd = Math.sqrt(ss / (n - 1));
  return m === 0 ? NaN : sd / Math.sqrt(n) / Math.abs(m);
}

function summarize(samples) {
  const s = sorted(samples);
  return {
    n: s.length,
    median: median(s),
    mean: mean(s),
    rse: rse(s),
    min: s.length ? s[0] : NaN,
    max: s.length ? s[s.length - 1] : NaN,
  };
}

// ---------------------------------------------------------------- time & misc

/** Monotonic clock in nanoseconds as a Number (same clock in every thread of the process). */
function nowNs() {
  return Number(process.hrtime.bigint());
}

/** Busy-waits for `us` microseconds. */
function spinUs(us) {
  const end = process.hrtime.bigint() + BigInt(Math.round(us * 1000));
  while (process.hrtime.bigint() < end) { /* spin */ }
}

let gcFn = null;
try {
  // Expose gc() without a command-line flag so `npm run bench` can collect between samples.
  require('node:v8').setFlagsFromString('--expose-gc');
  gcFn = require('node:vm').runInNewContext('gc');
} catch { gcFn = null; }

/** Full GC if available; called between samples, never inside a measurement. */
function collectGarbage() {
  if (gcFn) gcFn();
}

/** Rejects with a clear message if `promise` does not settle within `ms`. */
function withTimeout(promise, ms, what) {
  let timer;
  const guard = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function errorMessage(err) {
  if (err && typeof err === 'object') {
    const code = err.code ? `${err.code}: ` : '';
    return `${code}${err.message ?? String(err)}`;
  }
  return String(err);
}

// ---------------------------------------------------------------- workers

/**
 * Starts a bench worker (a file under bench/workers/ that calls serve()). Returns a handle:
 *   request(cmd, arg, transferList?) -> Promise<result>   (rejects with the worker's error)
 *   stop()                         -> Promise<void>       (asks politely, then terminates)
 * workerData always carries `pkg`, the absolute path of the package root, so a worker can
 * require(workerData.pkg) for ringpool.
 */
async function startWorker(file, workerData = {}, options = {}) {
  const abs = path.isAbsolute(file) ? file : path.join(__dirname, 'workers', file);
  const worker = new Worker(abs, {
    ...options,
    workerData: { pkg: ROOT, ...workerData },
  });
  const pending = new Map();
  let nextId = 1;
  let exited = false;
  let fatal = null;
  const failAll = (err) => {
    fatal = err;
    for (const { reject } of pending.values()) reject(err);
    pending.clear();
  };
  worker.on('message', (msg) => {
    if (!msg || typeof msg.id !== 'number') return;
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else {
      const e = new Error(msg.error.message);
      e.code = msg.error.code;
      e.stack = msg.error.stack;
      p.reject(e);
    }
  });
  worker.on('error', (err) => failAll(err));
  const exitPromise = new Promise((resolve) => {
    worker.once('exit', (code) => {
      exited = true;
      if (pending.size) failAll(new Error(`bench worker ${path.basename(abs)} exited with code ${code}`));
      resolve(code);
    });
  });
  await new Promise((resolve, reject) => {
    worker.once('online', resolve);
    worker.once('error', reject);
  });

  function request(cmd, arg, transferList) {
    if (fatal) return Promise.reject(fatal);
    if (exited) return Promise.reject(new Error('bench worker has exited'));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, cmd, arg }, transferList);
    });
  }

  async function stop(graceMs = 2000) {
    if (exited) return;
    try { worker.postMessage({ id: 0, cmd: '__stop' }); } catch { /* already gone */ }
    const timer = setTimeout(() => { worker.terminate(); }, graceMs);
    await exitPromise;
    clearTimeout(timer);
  }

  return { worker, request, stop, exited: exitPromise };
}

/**
 * Worker side: answers requests from startWorker().request(cmd, arg). Handlers may be async and
 * may block (Atomics.wait) — the reply is posted when they return. `__stop` runs the optional
 * handlers.__stop(), then closes the port so the worker exits once nothing else keeps it alive.
 */
function serve(handlers) {
  if (isMainThread) throw new Error('serve() must be called in a worker');
  parentPort.on('message', async (msg) => {
    if (!msg || typeof msg.id !== 'number') return;
    if (msg.cmd === '__stop') {
      try { if (handlers.__stop) await handlers.__stop(); } finally { parentPort.close(); }
      return;
    }
    try {
      const fn = handlers[msg.cmd];
      if (typeof fn !== 'function') throw new Error(`unknown bench worker command: ${msg.cmd}`);
      const result = await fn(msg.arg);
      parentPort.postMessage({ id: msg.id, ok: true, result });
    } catch (err) {
      parentPort.postMessage({
        id: msg.id,
        ok: false,
        error: { message: errorMessage(err), code: err && err.code, stack: err && err.stack },
      });
    }
  });
}

// ---------------------------------------------------------------- formatting

function withCommas(intStr) {
  return intStr.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Compact human number: 1,234,567 / 123.4 / 12.34 / 0.123 */
function fmtNum(v) {
  if (v === undefined || v === null || Number.isNaN(v)) return '—';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
  const a = Math.abs(v);
  if (a >= 1000) return withCommas(Math.round(v).toFixed(0));
  if (a >= 100) return v.toFixed(1);
  if (a >= 10) return v.toFixed(2);
  if (a >= 1) return v.toFixed(3);
  if (a === 0) return '0';
  return v.toPrecision(3);
}

function fmtValue(v, unit) {
  return unit ? `${fmtNum(v)} ${unit}` : fmtNum(v);
}

function fmtPct(f) {
  if (f === undefined || Number.isNaN(f)) return '—';
  return `±${(f * 100).toFixed(f < 0.1 ? 1 : 0)}%`;
}

function fmtRatio(r) {
  if (r === undefined || r === null || Number.isNaN(r)) return '—';
  let txt = r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2);
  if (txt === '1.00' && r !== 1) txt = r.toFixed(3); // do not print 1.00× for a FAIL at 0.998
  return `${txt}×`;
}

/** Prints an aligned text table. columns: [{ key, title, align: 'left'|'right' }]. */
function printTable(title, columns, rows, out = console.log) {
  const cells = rows.map((r) => columns.map((c) => (r[c.key] === undefined ? '' : String(r[c.key]))));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((row) => row[i].length)));
  const line = (vals) =>
    vals.map((v, i) => (columns[i].align === 'right' ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd();
  if (title) out(`\n${title}`);
  out(line(columns.map((c) => c.title)));
  out(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of cells) out(line(row));
}

// ---------------------------------------------------------------- measurement context

/**
 * One Context per case. A case calls ctx.compare(group, subjects, options) once per comparison
 * group (e.g. one per message size). Subjects of a group are measured INTERLEAVED
 * (rep 1 of each subject, then rep 2 of each in reverse order, …) so slow drift on a shared
 * machine hits all of them alike.
 *
 * subject = {
 *   name: string,                  // row label; targets refer to it
 *   role: 'ringpool' | 'baseline', // ratio = speed-up against the best baseline of the group
 *   setup?: async () => state,     // not timed (spawn workers, allocate buffers)
 *   sample: async (state, { warmup, rep }) => ({ [metricKey]: number }),  // one repetition
 *   teardown?: async (state) => void,
 * }
 * options = {
 *   metrics: [{ key, label, unit, better: 'lower' | 'higher' }],
 *   reps?, warmup?, timeoutMs?   // defaults from the run (ctx.reps / ctx.warmup ≥ 1)
 * }
 * A subject that throws anywhere is recorded as errored with the message; the others go on.
 */
class Context {
  constructor({ caseName, quick, reps, repsOverride, warmup, ringpool, ringpoolError }) {
    this.caseName = caseName;
    this.quick = quick;
    /** Default repetitions per subject; a case may ask for more via compare(..., { reps }). */
    this.reps = reps;
    /** --reps from the command line wins over everything. */
    this.repsOverride = repsOverride;
    this.warmup = warmup;
    /** The loaded package, or null with --baselines-only. */
    this.ringpool = ringpool;
    this.ringpoolError = ringpoolError;
    this.root = ROOT;
    this.results = [];
  }

  /** Pick a value by mode: ctx.pick(fullValue, quickValue). */
  pick(full, quick) {
    return this.quick ? quick : full;
  }

  async compare(group, subjects, options) {
    const metrics = options.metrics;
    const reps = Math.max(5, this.repsOverride ?? options.reps ?? this.reps);
    const warmup = Math.max(1, options.warmup ?? this.warmup);
    const timeoutMs = options.timeoutMs ?? 120000;
    const active = [];
    const records = [];
    for (const s of subjects) {
      const rec = {
        case: this.caseName,
        group,
        subject: s.name,
        role: s.role || 'baseline',
        metrics: Object.fromEntries(
          metrics.map((m) => [m.key, { label: m.label, unit: m.unit, better: m.better, samples: [] }]),
        ),
        warmupSamples: [],
        error: null,
      };
      records.push(rec);
      if (rec.role === 'ringpool' && !this.ringpool) {
        rec.skipped = this.ringpoolError ? `ringpool not loaded: ${this.ringpoolError}` : 'ringpool not loaded';
        continue;
      }
      active.push({ s, rec, state: undefined, ok: true });
    }

    // setup
    for (const a of active) {
      try {
        if (a.s.setup) a.state = await withTimeout(Promise.resolve().then(() => a.s.setup()), timeoutMs, `${a.s.name}: setup`);
      } catch (err) {
        a.ok = false;
        a.rec.error = errorMessage(err);
        a.rec.errorStack = err && err.stack;
      }
    }

    const runOne = async (a, phase, rep) => {
      collectGarbage();
      try {
        const out = await withTimeout(
          Promise.resolve().then(() => a.s.sample(a.state, { warmup: phase === 'warmup', rep })),
          timeoutMs,
          `${a.s.name}: ${phase} ${rep + 1}`,
        );
        for (const m of metrics) {
          const v = out ? out[m.key] : undefined;
          if (typeof v !== 'number' || Number.isNaN(v)) throw new Error(`sample returned no number for metric "${m.key}"`);
        }
        if (phase === 'warmup') a.rec.warmupSamples.push(out);
        else for (const m of metrics) a.rec.metrics[m.key].samples.push(out[m.key]);
      } catch (err) {
        a.ok = false;
        a.rec.error = errorMessage(err);
        a.rec.errorStack = err && err.stack;
      }
    };

    // Interleave subjects and alternate their order (ABBA…) so neither always runs first.
    const order = (i) => (i % 2 ? [...active].reverse() : active);
    for (let w = 0; w < warmup; w++) for (const a of order(w)) if (a.ok) await runOne(a, 'warmup', w);
    for (let r = 0; r < reps; r++) for (const a of order(r)) if (a.ok) await runOne(a, 'rep', r);

    // teardown (always, also for errored subjects)
    for (const a of active) {
      try {
        if (a.s.teardown) await withTimeout(Promise.resolve().then(() => a.s.teardown(a.state)), 15000, `${a.s.name}: teardown`);
      } catch (err) {
        if (!a.rec.error) a.rec.error = `teardown: ${errorMessage(err)}`;
      }
    }

    for (const rec of records) {
      for (const m of Object.values(rec.metrics)) Object.assign(m, summarize(m.samples));
      this.results.push(rec);
    }
    computeRatios(records, metrics);
    return records;
  }
}

/** Speed-up of `value` over `ref` for a metric (> 1 = better). */
function speedup(value, ref, better) {
  if (!(value > 0) || !(ref > 0)) return NaN;
  return better === 'higher' ? value / ref : ref / value;
}

function computeRatios(records, metrics) {
  for (const m of metrics) {
    let best = null;
    for (const r of records) {
      if (r.role !== 'baseline' || r.error || r.skipped) continue;
      const v = r.metrics[m.key].median;
      if (!(v > 0)) continue;
      if (best === null || speedup(v, best, m.better) > 1) best = v;
    }
    for (const r of records) {
      const mm = r.metrics[m.key];
      mm.ratio = r.error || r.skipped || best === null ? NaN : speedup(mm.median, best, m.better);
    }
  }
}

/** Prints one table for a case: rows sorted by group, metric, then best first; errored last. */
function printCaseTable(caseMod, results) {
  const rows = [];
  const groupOrder = [];
  for (const r of results) if (!groupOrder.includes(r.group)) groupOrder.push(r.group);
  const entries = [];
  for (const r of results) {
    const keys = Object.keys(r.metrics);
    keys.forEach((k, ki) => entries.push({ r, k, ki }));
  }
  const rank = (e) => (e.r.error ? 2 : e.r.skipped ? 3 : 0);
  entries.sort((a, b) =>
    groupOrder.indexOf(a.r.group) - groupOrder.indexOf(b.r.group) ||
    a.ki - b.ki ||
    rank(a) - rank(b) ||
    (b.r.metrics[b.k].ratio || 0) - (a.r.metrics[a.k].ratio || 0),
  );
  let lastGroup = null;
  for (const { r, k } of entries) {
    const m = r.metrics[k];
    const row = {
      group: r.group === lastGroup ? '' : r.group,
      subject: r.subject,
      metric: m.label,
    };
    lastGroup = r.group;
    if (r.error) {
      row.median = 'errored';
      row.spread = r.error.length > 90 ? r.error.slice(0, 87) + '...' : r.error;
    } else if (r.skipped) {
      row.median = 'skipped';
    } else {
      row.median = fmtValue(m.median, m.unit);
      row.spread = fmtPct(m.rse);
      row.range = `${fmtNum(m.min)}–${fmtNum(m.max)}`;
      row.n = String(m.n);
      row.ratio = fmtRatio(m.ratio);
    }
    rows.push(row);
  }
  printTable(
    `== ${caseMod.name}: ${caseMod.description}`,
    [
      { key: 'group', title: 'group' },
      { key: 'subject', title: 'subject' },
      { key: 'metric', title: 'metric' },
      { key: 'median', title: 'median', align: 'right' },
      { key: 'spread', title: '± rse' },
      { key: 'range', title: 'min–max', align: 'right' },
      { key: 'n', title: 'n', align: 'right' },
      { key: 'ratio', title: 'vs baseline', align: 'right' },
    ],
    rows,
  );
}

/**
 * Evaluates declarative targets exported by cases:
 *   { id, label, group, metric, subject, baseline, need }   // PASS when speed-up ≥ need
 * Optional:
 *   pick: 'worst'     the reference is the WORST usable subject of `baseline` (default: best)
 *   baseline: null    absolute target: PASS when the subject's median itself is ≥ need
 *                     (better: 'higher') or ≤ need (better: 'lower')
 */
function evaluateTargets(targets, results) {
  return targets.map((t) => {
    const find = (name) => results.find((r) => r.group === t.group && r.subject === name);
    const a = find(t.subject);
    if (t.baseline === null || t.baseline === undefined) return evaluateAbsolute(t, a);
    // `baseline` may list several subjects: the best one that did not error is the reference.
    const names = Array.isArray(t.baseline) ? t.baseline : [t.baseline];
    const found = names.map(find).filter(Boolean);
    const usable = found.filter((r) => !r.error && !r.skipped && r.metrics[t.metric]);
    const better = a && a.metrics[t.metric] ? a.metrics[t.metric].better : 'lower';
    const worst = t.pick === 'worst';
    const b = usable.length
      ? usable.reduce((x, y) => {
        const yBetter = speedup(y.metrics[t.metric].median, x.metrics[t.metric].median, better) > 1;
        return yBetter !== worst ? y : x;
      })
      : found[0];
    const out = { ...t, status: 'n/a', value: NaN, base: NaN, speedup: NaN, note: '' };
    if (!a || !b) { out.note = 'not measured'; return out; }
    out.baselineUsed = b.subject;
    const why = [a, b].filter((r) => r.error || r.skipped).map((r) => `${r.subject}: ${r.error || r.skipped}`);
    if (why.length) { out.status = a.skipped ? 'SKIP' : 'FAIL'; out.note = why.join('; '); return out; }
    const ma = a.metrics[t.metric];
    const mb = b.metrics[t.metric];
    out.value = ma.median;
    out.base = mb.median;
    out.unit = ma.unit;
    out.speedup = speedup(ma.median, mb.median, ma.better);
    out.status = out.speedup >= t.need ? 'PASS' : 'FAIL';
    return out;
  });
}

/** A target without a baseline: the subject's own median against `need`. */
function evaluateAbsolute(t, a) {
  const out = { ...t, status: 'n/a', value: NaN, base: NaN, speedup: NaN, note: '' };
  if (!a) { out.note = 'not measured'; return out; }
  if (a.error || a.skipped) { out.status = a.skipped ? 'SKIP' : 'FAIL'; out.note = `${a.subject}: ${a.error || a.skipped}`; return out; }
  const ma = a.metrics[t.metric];
  if (!ma) { out.note = `no metric ${t.metric}`; return out; }
  out.value = ma.median;
  out.unit = ma.unit;
  out.better = ma.better;
  out.status = (ma.better === 'lower' ? ma.median <= t.need : ma.median >= t.need) ? 'PASS' : 'FAIL';
  return out;
}

function printTargets(evaluated) {
  printTable(
    '== targets (medians of ≥5 reps; "speed-up" > 1 means ringpool is better)',
    [
      { key: 'id', title: 'id' },
      { key: 'label', title: 'target' },
      { key: 'value', title: 'ringpool', align: 'right' },
      { key: 'base', title: 'baseline', align: 'right' },
      { key: 'ref', title: 'baseline subject' },
      { key: 'speedup', title: 'speed-up', align: 'right' },
      { key: 'need', title: 'need', align: 'right' },
      { key: 'status', title: 'result' },
    ],
    evaluated.map((t) => ({
      id: t.id,
      label: t.label,
      value: Number.isNaN(t.value) ? '' : fmtValue(t.value, t.unit),
      base: Number.isNaN(t.base) ? '' : fmtValue(t.base, t.unit),
      ref: t.baseline == null
        ? '(absolute)'
        : (t.baselineUsed ? `${t.baselineUsed}${t.pick === 'worst' ? ' (slowest)' : ''}` : '') ||
          (Array.isArray(t.baseline) ? t.baseline.join(' | ') : t.baseline),
      speedup: fmtRatio(t.speedup),
      need: t.baseline == null ? `${t.better === 'lower' ? '≤' : '≥'} ${fmtValue(t.need, t.unit)}` : `≥ ${fmtRatio(t.need)}`,
      status: t.note ? `${t.status} (${t.note.length > 70 ? t.note.slice(0, 67) + '...' : t.note})` : t.status,
    })),
  );
}

module.exports = {
  ROOT,
  // stats
  sorted, percentile, percentileSorted, median, mean, rse, summarize, speedup,
  // time & misc
  nowNs, spinUs, sleep, withTimeout, collectGarbage, errorMessage,
  // workers
  startWorker, serve,
  // formatting & reporting
  fmtNum, fmtValue, fmtPct, fmtRatio, printTable, printCaseTable, evaluateTargets, printTargets,
  Context,
};
