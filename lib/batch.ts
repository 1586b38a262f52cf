/**
 * Batch and data-parallel APIs on top of the pool: execBatch, map, reduce, mapStream and
 * mapRegions. Items travel many per task ("chunks"): one record carries a chunk to a
 * worker, whose built-in runner (lib/pool/worker-entry.ts, batchRunner) applies the user's
 * function to each item and sends all results back in one record. A typed array over a
 * SharedArrayBuffer is never copied: workers get the buffer and an index range.
 */
import { performance } from 'node:perf_hooks';

import { RingpoolRangeError, RingpoolTypeError } from './errors';
import { CancellationError, TaskError } from './pool/errors';
import type { TaskPromise } from './pool/exec-promise';
import { kSubmit } from './pool/internal';
import type { AnyFn, Pool } from './pool/pool';
import { M_APPLY, M_EACH, M_REDUCE, M_REGION } from './pool/protocol';
import { assertSignal, describe } from './validate';

/** A promise with `.cancel()`: queued chunks are removed, running ones are aborted. */
export type BatchPromise<T> = Promise<T> & { cancel(reason?: unknown): void };

export interface BatchOptions {
  /** Most chunks of this call in flight at once. Default: no limit beyond the pool's. */
  concurrency?: number;
  /** execBatch only: reject at the first failure and cancel the rest. Default false. */
  failFast?: boolean;
  /** Called as results arrive with the number of items done so far and the total. */
  onProgress?: (completed: number, total: number) => void;
  /** Items per task. Default: enough chunks to keep every worker busy, at most 4096 items each. */
  chunkSize?: number;
  signal?: AbortSignal;
}

export interface BatchResult<T> {
  /** One entry per input, in order: the value, or the Error that item failed with. */
  results: (T | Error)[];
  /** The values of the items that succeeded, in input order. */
  successes: T[];
  failures: { index: number; error: Error }[];
  /** Wall time of the whole batch, ms. */
  duration: number;
}

export interface ReduceOptions<A> {
  chunkSize?: number;
  /** Merges two chunk accumulators on the main thread, in index order. Default: the reducer itself. */
  combine?: (a: A, b: A) => A;
  concurrency?: number;
  signal?: AbortSignal;
}

export interface MapStreamOptions {
  /** Items being processed at once. Default: highWaterMark. */
  concurrency?: number;
  /** Yield in input order (default) or as results complete. */
  ordered?: boolean;
  /** Most items read from the source and not yet taken by the consumer. Default 64. */
  highWaterMark?: number;
  signal?: AbortSignal;
}

/** What a mapRegions function receives. It may write in place in [start, end). */
export interface Region {
  index: number;
  buffer: SharedArrayBuffer;
  /** Byte range this region owns (offsets into `buffer`). */
  start: number;
  end: number;
  /** Byte range it may read: [start, end) widened by `overlap`, clamped to the input. */
  readStart: number;
  readEnd: number;
  /** Uint8Array over [readStart, readEnd). */
  bytes: Uint8Array;
}

export interface MapRegionsOptions {
  /** Number of equal regions (default: 2 per worker), or explicit byte ranges of the input. */
  regions?: number | readonly { start: number; end: number }[];
  /** Bytes of neighbouring data readable on each side. Default 0. */
  overlap?: number;
  /** Region boundaries fall on multiples of this (e.g. an image row). Default 1. */
  rowBytes?: number;
  /** Called on the main thread as each region completes. */
  onRegion?: (index: number, result: unknown) => void;
  /** Int32Array over a SharedArrayBuffer with one counter per region, bumped and notified
   * (ringpool notify) when the region completes; created if absent. */
  versions?: Int32Array;
  signal?: AbortSignal;
}

export interface MapRegionsResult<T> {
  results: T[];
  versions: Int32Array;
  regions: { start: number; end: number; readStart: number; readEnd: number }[];
  duration: number;
}

type Items = readonly unknown[] | ArrayLike<unknown>;
type ChunkResult = [unknown[], [number, unknown][] | null];

function typeError(msg: string): never {
  throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', msg);
}
function rangeError(msg: string): never {
  throw new RingpoolRangeError('ERR_RINGPOOL_OUT_OF_RANGE', msg);
}

function checkTargetArg(fn: unknown, where: string): asserts fn is string | AnyFn {
  if (typeof fn !== 'string' && typeof fn !== 'function') typeError(`${where} expects a method name or a function, got ${describe(fn)}`);
}

function optInt(o: Record<string, unknown>, name: string, min: number): number | undefined {
  const v = o[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number') typeError(`options.${name} must be a number, got ${describe(v)}`);
  if (!Number.isInteger(v) || v < min) rangeError(`options.${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

function optFn(o: Record<string, unknown>, name: string): ((...a: never[]) => unknown) | undefined {
  const v = o[name];
  if (v !== undefined && typeof v !== 'function') typeError(`options.${name} must be a function, got ${describe(v)}`);
  return v as ((...a: never[]) => unknown) | undefined;
}

function optObject(options: unknown, where: string): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') typeError(`${where} options must be an object, got ${describe(options)}`);
  const o = options as Record<string, unknown>;
  assertSignal(o.signal, 'options.signal');
  return o;
}

function isSharedView(v: unknown): v is ArrayBufferView & ArrayLike<unknown> {
  return ArrayBuffer.isView(v) && !(v instanceof DataView) && v.buffer instanceof SharedArrayBuffer;
}

/** Items as an indexable collection: arrays and typed arrays as they are, iterables copied. */
function toItems(items: unknown, where: string): Items {
  if (Array.isArray(items)) return items;
  if (ArrayBuffer.isView(items) && !(items instanceof DataView)) return items as unknown as ArrayLike<unknown>;
  if (items !== null && typeof items === 'object' && typeof (items as Iterable<unknown>)[Symbol.iterator] === 'function') {
    return Array.from(items as Iterable<unknown>);
  }
  typeError(`${where} expects an array, an iterable or a typed array of items, got ${describe(items)}`);
}

/** Default items per chunk: about four chunks per worker, within [1, 4096]. */
function defaultChunk(total: number, workers: number): number {
  return Math.max(1, Math.min(4096, Math.ceil(total / (workers * 4))));
}

/** Arguments of the chunk [start, start + count): shared typed arrays travel whole, by reference. */
function chunkArgs(items: Items, start: number, count: number): unknown[] {
  if (isSharedView(items)) return [items, start, count, start];
  if (Array.isArray(items)) return [items.slice(start, start + count), 0, count, start];
  return [(items as unknown as Uint8Array).subarray(start, start + count), 0, count, start];
}

function asError(v: unknown): Error {
  return v instanceof Error ? v : new TaskError(v);
}

function withCancel<T>(promise: Promise<T>, cancel: (reason: unknown) => void): BatchPromise<T> {
  const p = promise as BatchPromise<T>;
  p.cancel = cancel;
  return p;
}

/**
 * Runs `total` items as chunks: `args(start, count)` builds a chunk's arguments, `onChunk`
 * takes its result. Resolves when every chunk is done; rejects (after cancelling the rest)
 * on cancel, abort, or when onChunk / onFail throws.
 */
class ChunkRunner {
  readonly #pool: Pool;
  readonly #target: string | AnyFn;
  readonly #mode: number;
  readonly #total: number;
  readonly #chunk: number;
  readonly #limit: number;
  readonly #args: (start: number, count: number) => unknown[];
  readonly #onChunk: (start: number, count: number, value: unknown) => void;
  readonly #onFail: (start: number, count: number, err: Error) => void;
  readonly #inflight = new Set<TaskPromise<unknown>>();
  #next = 0;
  #finished = false;
  #resolve: () => void = () => {};
  #reject: (e: unknown) => void = () => {};

  constructor(
    pool: Pool,
    target: string | AnyFn,
    mode: number,
    total: number,
    chunk: number,
    concurrency: number,
    args: (start: number, count: number) => unknown[],
    onChunk: (start: number, count: number, value: unknown) => void,
    onFail: (start: number, count: number, err: Error) => void,
  ) {
    this.#pool = pool;
    this.#target = target;
    this.#mode = mode;
    this.#total = total;
    this.#chunk = chunk;
    this.#limit = concurrency;
    this.#args = args;
    this.#onChunk = onChunk;
    this.#onFail = onFail;
  }

  run(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      if (signal) {
        if (signal.aborted) return this.cancel(signal.reason);
        const onAbort = (): void => this.cancel(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        const clean = (): void => signal.removeEventListener('abort', onAbort);
        this.#resolve = () => {
          clean();
          resolve();
        };
        this.#reject = (e) => {
          clean();
          reject(e);
        };
      }
      this.#fill();
    });
  }

  cancel(reason: unknown): void {
    this.#fail(new CancellationError('Batch cancelled', reason));
  }

  #fail(err: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    for (const t of this.#inflight) t.cancel(err instanceof CancellationError ? err.cause : err);
    this.#inflight.clear();
    this.#reject(err);
  }

  #fill(): void {
    while (!this.#finished && this.#next < this.#total && this.#inflight.size < this.#limit) {
      const start = this.#next;
      const count = Math.min(this.#chunk, this.#total - start);
      this.#next += count;
      const t = this.#pool[kSubmit]<unknown>(this.#target, this.#args(start, count), this.#mode, undefined);
      this.#inflight.add(t);
      t.then(
        (v) => this.#settled(t, () => this.#onChunk(start, count, v)),
        (e: unknown) => this.#settled(t, () => this.#onFail(start, count, asError(e))),
      );
    }
    if (!this.#finished && this.#next >= this.#total && this.#inflight.size === 0) {
      this.#finished = true;
      this.#resolve();
    }
  }

  #settled(t: TaskPromise<unknown>, handle: () => void): void {
    if (this.#finished || !this.#inflight.delete(t)) return;
    try {
      handle();
    } catch (err) {
      this.#fail(err);
      return;
    }
    this.#fill();
  }
}

export function execBatch<T>(pool: Pool, method: unknown, paramsList: unknown, options?: unknown): BatchPromise<BatchResult<T>> {
  checkTargetArg(method, 'execBatch()');
  if (!Array.isArray(paramsList)) typeError(`execBatch() expects an array of parameter arrays, got ${describe(paramsList)}`);
  paramsList.forEach((p, i) => {
    if (!Array.isArray(p)) typeError(`execBatch(): paramsList[${i}] must be an array of parameters, got ${describe(p)}`);
  });
  const o = optObject(options, 'execBatch()');
  const chunk = optInt(o, 'chunkSize', 1) ?? defaultChunk(paramsList.length, pool.maxWorkers);
  const concurrency = optInt(o, 'concurrency', 1) ?? Infinity;
  const onProgress = optFn(o, 'onProgress') as BatchOptions['onProgress'];
  const failFast = o.failFast === undefined ? false : o.failFast;
  if (typeof failFast !== 'boolean') typeError(`options.failFast must be a boolean, got ${describe(failFast)}`);
  const total = paramsList.length;
  const results = new Array<T | Error>(total);
  const failed = new Uint8Array(total);
  let completed = 0;
  const started = performance.now();
  const fail = (index: number, error: Error): void => {
    results[index] = error;
    failed[index] = 1;
    if (failFast) throw error;
  };
  const progress = (n: number): void => {
    completed += n;
    onProgress?.(completed, total);
  };
  const runner = new ChunkRunner(
    pool, method, M_APPLY, total, chunk, concurrency,
    (start, count) => [paramsList.slice(start, start + count), 0, count, start],
    (start, count, value) => {
      const [vals, errs] = value as ChunkResult;
      for (let i = 0; i < count; i++) results[start + i] = vals[i] as T;
      if (errs) for (const [off, e] of errs) fail(start + off, asError(e));
      progress(count);
    },
    (start, count, err) => {
      for (let i = 0; i < count; i++) fail(start + i, err);
      progress(count);
    },
  );
  return withCancel(
    runner.run(o.signal as AbortSignal | undefined).then(() => {
        const successes: T[] = [];
        const failures: { index: number; error: Error }[] = [];
        for (let i = 0; i < total; i++) {
          if (failed[i]) failures.push({ index: i, error: results[i] as Error });
          else successes.push(results[i] as T);
        }
        return { results, successes, failures, duration: performance.now() - started };
      }),
    (reason) => runner.cancel(reason),
  );
}

/** Attaches the failing item's index to its error (non-enumerable, so it does not travel). */
function withIndex(err: Error, index: number): Error {
  Object.defineProperty(err, 'index', { value: index, configurable: true, writable: true, enumerable: false });
  return err;
}

export function map<R>(pool: Pool, items: unknown, fn: unknown, options?: unknown): BatchPromise<R[]> {
  checkTargetArg(fn, 'map()');
  const o = optObject(options, 'map()');
  const chunkOpt = optInt(o, 'chunkSize', 1);
  const concurrency = optInt(o, 'concurrency', 1) ?? Infinity;
  const onProgress = optFn(o, 'onProgress') as BatchOptions['onProgress'];
  const list = toItems(items, 'map()'); // last: an iterable is consumed only once the call is known to be valid
  const chunk = chunkOpt ?? defaultChunk(list.length, pool.maxWorkers);
  const total = list.length;
  const out = new Array<R>(total);
  let completed = 0;
  const runner = new ChunkRunner(
    pool, fn, M_EACH, total, chunk, concurrency,
    (start, count) => chunkArgs(list, start, count),
    (start, count, value) => {
      const [vals, errs] = value as ChunkResult;
      if (errs) {
        const [off, e] = errs.reduce((a, b) => (b[0] < a[0] ? b : a));
        throw withIndex(asError(e), start + off);
      }
      for (let i = 0; i < count; i++) out[start + i] = vals[i] as R;
      completed += count;
      onProgress?.(completed, total);
    },
    (start, _count, err) => {
      throw withIndex(err, start);
    },
  );
  return withCancel(runner.run(o.signal as AbortSignal | undefined).then(() => out), (reason) => runner.cancel(reason));
}

export function reduce<A>(pool: Pool, items: unknown, fn: unknown, initial: A, options?: unknown): BatchPromise<A> {
  checkTargetArg(fn, 'reduce()');
  const o = optObject(options, 'reduce()');
  const chunkOpt = optInt(o, 'chunkSize', 1);
  const concurrency = optInt(o, 'concurrency', 1) ?? Infinity;
  const combine = (optFn(o, 'combine') ?? (typeof fn === 'function' ? fn : undefined)) as ((a: A, b: A) => A) | undefined;
  if (!combine) typeError('reduce(): options.combine is required when the reducer is a method name (it runs on the main thread)');
  const list = toItems(items, 'reduce()'); // last: an iterable is consumed only once the call is known to be valid
  const chunk = chunkOpt ?? defaultChunk(list.length, pool.maxWorkers);
  const total = list.length;
  const accs = new Array<A>(Math.ceil(total / chunk));
  const runner = new ChunkRunner(
    pool, fn, M_REDUCE, total, chunk, concurrency,
    (start, count) => [...chunkArgs(list, start, count), initial],
    (start, _count, value) => {
      const [acc, err] = value as [A, [number, unknown] | null];
      if (err) throw withIndex(asError(err[1]), start + err[0]);
      accs[start / chunk] = acc;
    },
    (start, _count, err) => {
      throw withIndex(err, start);
    },
  );
  return withCancel(
    runner.run(o.signal as AbortSignal | undefined).then(() => {
        if (accs.length === 0) return initial;
        let acc = accs[0] as A;
        for (let k = 1; k < accs.length; k++) acc = combine(acc, accs[k] as A);
        return acc;
      }),
    (reason) => runner.cancel(reason),
  );
}

export function mapStream<R>(pool: Pool, source: unknown, fn: unknown, options?: unknown): AsyncGenerator<R, void, undefined> {
  const isAsync = source !== null && typeof source === 'object' && typeof (source as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
  const isSync = source !== null && typeof source === 'object' && typeof (source as Iterable<unknown>)[Symbol.iterator] === 'function';
  if (!isAsync && !isSync) typeError(`mapStream() expects an iterable or async iterable, got ${describe(source)}`);
  checkTargetArg(fn, 'mapStream()');
  const o = optObject(options, 'mapStream()');
  const hwm = optInt(o, 'highWaterMark', 1) ?? 64;
  const concurrency = Math.min(optInt(o, 'concurrency', 1) ?? hwm, hwm);
  const ordered = o.ordered === undefined ? true : o.ordered;
  if (typeof ordered !== 'boolean') typeError(`options.ordered must be a boolean, got ${describe(ordered)}`);
  const signal = o.signal as AbortSignal | undefined;
  return streamGenerator<R>(pool, source as AsyncIterable<unknown> | Iterable<unknown>, isAsync, fn, hwm, concurrency, ordered, signal);
}

interface StreamSlot {
  readonly index: number;
  readonly task: TaskPromise<unknown>;
  done: boolean;
  ok: boolean;
  value: unknown;
}

async function* streamGenerator<R>(
  pool: Pool,
  source: AsyncIterable<unknown> | Iterable<unknown>,
  isAsync: boolean,
  fn: string | AnyFn,
  hwm: number,
  concurrency: number,
  ordered: boolean,
  signal: AbortSignal | undefined,
): AsyncGenerator<R, void, undefined> {
  const it = isAsync ? (source as AsyncIterable<unknown>)[Symbol.asyncIterator]() : (source as Iterable<unknown>)[Symbol.iterator]();
  const slots: StreamSlot[] = []; // read and not yet yielded, in input order
  let read = 0;
  let exhausted = false;
  let wake: (() => void) | undefined;
  const settleOne = (s: StreamSlot, ok: boolean, value: unknown): void => {
    s.done = true;
    s.ok = ok;
    s.value = value;
    wake?.();
  };
  const onAbort = (): void => wake?.();
  signal?.addEventListener('abort', onAbort);
  try {
    for (;;) {
      if (signal?.aborted) throw new CancellationError('Stream cancelled', signal.reason);
      let running = 0;
      for (const s of slots) if (!s.done) running++;
      while (!exhausted && slots.length < hwm && running < concurrency) {
        const r = await it.next();
        if (r.done) {
          exhausted = true;
          break;
        }
        const index = read++;
        const task = pool[kSubmit]<unknown>(fn, [[r.value], 0, 1, index], M_EACH, undefined);
        const slot: StreamSlot = { index, task, done: false, ok: false, value: undefined };
        task.then(
          (v) => {
            const [vals, errs] = v as ChunkResult;
            if (errs) settleOne(slot, false, withIndex(asError(errs[0]![1]), index));
            else settleOne(slot, true, vals[0]);
          },
          (e: unknown) => settleOne(slot, false, withIndex(asError(e), index)),
        );
        slots.push(slot);
        running++;
      }
      if (slots.length === 0 && exhausted) return;
      const pick = ordered ? (slots[0]!.done ? 0 : -1) : slots.findIndex((s) => s.done);
      if (pick < 0) {
        await new Promise<void>((res) => (wake = res));
        wake = undefined;
        continue;
      }
      const [s] = slots.splice(pick, 1);
      if (!s!.ok) throw s!.value;
      yield s!.value as R;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    for (const s of slots) if (!s.done) s.task.cancel();
    if (!exhausted) await (it as AsyncIterator<unknown> | Iterator<unknown>).return?.();
  }
}

export function mapRegions<T>(pool: Pool, input: unknown, fn: unknown, options?: unknown): BatchPromise<MapRegionsResult<T>> {
  let buffer: SharedArrayBuffer;
  let base = 0;
  let length: number;
  if (input instanceof SharedArrayBuffer) {
    buffer = input;
    length = input.byteLength;
  } else if (ArrayBuffer.isView(input) && input.buffer instanceof SharedArrayBuffer) {
    buffer = input.buffer;
    base = input.byteOffset;
    length = input.byteLength;
  } else {
    throw new RingpoolTypeError('ERR_RINGPOOL_NOT_SHARED', `mapRegions() expects a SharedArrayBuffer or a view over one, got ${describe(input)}`);
  }
  checkTargetArg(fn, 'mapRegions()');
  const o = optObject(options, 'mapRegions()');
  const overlap = optInt(o, 'overlap', 0) ?? 0;
  const rowBytes = optInt(o, 'rowBytes', 1) ?? 1;
  const onRegion = optFn(o, 'onRegion') as MapRegionsOptions['onRegion'];
  let ranges: { start: number; end: number }[];
  const spec = o.regions;
  if (spec === undefined || typeof spec === 'number') {
    const n = optInt(o, 'regions', 1) ?? pool.maxWorkers * 2;
    const rows = Math.ceil(length / rowBytes);
    ranges = [];
    for (let k = 0; k < n; k++) {
      const start = Math.min(length, Math.round((rows * k) / n) * rowBytes);
      const end = Math.min(length, Math.round((rows * (k + 1)) / n) * rowBytes);
      ranges.push({ start, end });
    }
  } else if (Array.isArray(spec)) {
    ranges = spec.map((r: unknown, k) => {
      const rr = r as { start?: unknown; end?: unknown } | null;
      if (rr === null || typeof rr !== 'object' || typeof rr.start !== 'number' || typeof rr.end !== 'number') {
        typeError(`options.regions[${k}] must be { start, end } byte offsets, got ${describe(r)}`);
      }
      const { start, end } = rr as { start: number; end: number };
      if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > length) {
        rangeError(`options.regions[${k}] must satisfy 0 <= start <= end <= ${length}, got { start: ${start}, end: ${end} }`);
      }
      return { start, end };
    });
  } else {
    typeError(`options.regions must be a number or an array of { start, end }, got ${describe(spec)}`);
  }
  let versions = o.versions as Int32Array | undefined;
  if (versions === undefined) versions = new Int32Array(new SharedArrayBuffer(Math.max(1, ranges.length) * 4));
  else if (!(versions instanceof Int32Array) || !(versions.buffer instanceof SharedArrayBuffer)) {
    typeError(`options.versions must be an Int32Array over a SharedArrayBuffer, got ${describe(versions)}`);
  } else if (versions.length < ranges.length) {
    rangeError(`options.versions needs ${ranges.length} counters, it has ${versions.length}`);
  }
  const v = versions;
  const layout = ranges.map((r) => ({
    start: base + r.start,
    end: base + r.end,
    readStart: base + Math.max(0, r.start - overlap),
    readEnd: base + Math.min(length, r.end + overlap),
  }));
  const results = new Array<T>(ranges.length);
  const started = performance.now();
  const runner = new ChunkRunner(
    pool, fn, M_REGION, ranges.length, 1, Infinity,
    (k) => [{ index: k, buffer, ...layout[k]!, versions: v }],
    (k, _count, value) => {
      results[k] = value as T;
      onRegion?.(k, value);
    },
    (k, _count, err) => {
      throw withIndex(err, k);
    },
  );
  return withCancel(
    runner.run(o.signal as AbortSignal | undefined).then(() => ({ results, versions: v, regions: layout, duration: performance.now() - started })),
    (reason) => runner.cancel(reason),
  );
}
