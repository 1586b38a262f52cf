/**
 * transaction() / readTransaction(): optimistic, all-or-nothing units of work over any number
 * of shared maps (SharedMap, and SharedArray / SharedRecord, which are built on it).
 *
 * While the callback runs, every map read goes through the active Tx: it reads the live
 * value and remembers the entry's version; every write is buffered (encoded at once, so a
 * value that cannot be stored throws inside the callback and nothing is written). At the end
 * one native call (rp_map_commit) takes every stripe lock involved, checks that each version
 * read is still current, and applies all writes so they become visible together. If another
 * thread changed something that was read, nothing is written and the callback runs again,
 * up to maxRetries times. A callback that throws changes nothing. Callbacks must be
 * synchronous (all reads and writes happen before commit) and may run more than once.
 */
import { RingpoolError, RingpoolRangeError, RingpoolTypeError, TimeoutError } from '../errors';
import { assertOptionsObject, describe, normaliseTimeout } from '../validate';
import { TransactionConflictError, fullError, tooLargeError } from './errors';
import { type SharedKey } from './keys';
import { native } from './native-shared';
import { growRegion, maxBytesOf } from './region';
import { encodeValueCopy } from './values';

/** What a map exposes to transactions (implemented by SharedMap). */
export interface TxTarget {
  /** Length-tracking view over the map's region. */
  txView(): Int32Array;
  txRegion(): SharedArrayBuffer;
  /** Encoded key bytes (a private copy). */
  txKey(key: SharedKey, what: string): Uint8Array;
  /** Live read: present?, decoded value, entry version (0 when absent). */
  txRead(keyBytes: Uint8Array): { found: boolean; value: unknown; version: number };
}

interface Entry {
  readonly keyBytes: Uint8Array;
  read: boolean;
  version: number;
  readFound: boolean;
  readValue: unknown;
  /** 0 none, 1 set, 2 delete */
  write: 0 | 1 | 2;
  value: unknown;
  valueBytes: Uint8Array | undefined;
}

const kReadOp = 0;
const kSetOp = 1;
const kDeleteOp = 2;

export class Tx {
  readonly readOnly: boolean;
  /** Every key touched, per map; insertion order. */
  readonly #maps = new Map<TxTarget, Map<SharedKey, Entry>>();

  constructor(readOnly: boolean) {
    this.readOnly = readOnly;
  }

  #entry(map: TxTarget, key: SharedKey, what: string): Entry {
    let keys = this.#maps.get(map);
    if (keys === undefined) {
      keys = new Map();
      this.#maps.set(map, keys);
    }
    const k = key === 0 ? 0 : key;
    let e = keys.get(k);
    if (e === undefined) {
      e = { keyBytes: map.txKey(k, what), read: false, version: 0, readFound: false, readValue: undefined, write: 0, value: undefined, valueBytes: undefined };
      keys.set(k, e);
    }
    return e;
  }

  #ensureRead(map: TxTarget, e: Entry): void {
    if (e.read) return;
    const r = map.txRead(e.keyBytes);
    e.read = true;
    e.version = r.version;
    e.readFound = r.found;
    e.readValue = r.value;
  }

  get(map: TxTarget, key: SharedKey, what: string): unknown {
    const e = this.#entry(map, key, what);
    if (e.write === 1) return e.value;
    if (e.write === 2) return undefined;
    this.#ensureRead(map, e);
    return e.readValue;
  }

  has(map: TxTarget, key: SharedKey, what: string): boolean {
    const e = this.#entry(map, key, what);
    if (e.write !== 0) return e.write === 1;
    this.#ensureRead(map, e);
    return e.readFound;
  }

  set(map: TxTarget, key: SharedKey, value: unknown, what: string): void {
    this.#writable(what);
    const bytes = encodeValueCopy(value, what);
    const e = this.#entry(map, key, what);
    e.write = 1;
    e.value = value;
    e.valueBytes = bytes;
  }

  delete(map: TxTarget, key: SharedKey, what: string): boolean {
    this.#writable(what);
    const existed = this.has(map, key, what);
    const e = this.#entry(map, key, what);
    e.write = 2;
    e.value = undefined;
    e.valueBytes = undefined;
    return existed;
  }

  #writable(what: string): void {
    if (this.readOnly) {
      throw new RingpoolError('ERR_RINGPOOL_INVALID_STATE', `${what}: writes are not allowed inside readTransaction()`);
    }
  }

  /**
   * Validates the reads and applies the writes, all or nothing. true when committed (or
   * nothing to do), false on a conflict. Throws ERR_RINGPOOL_FULL / _TOO_LARGE (nothing
   * written).
   */
  commit(): boolean {
    const views: Int32Array[] = [];
    const regions: SharedArrayBuffer[] = [];
    let count = 0;
    let bytes = 0;
    for (const [map, keys] of this.#maps) {
      views.push(map.txView());
      regions.push(map.txRegion());
      for (const e of keys.values()) {
        const kl = (e.keyBytes.length + 7) & ~7;
        if (e.read) {
          count++;
          bytes += 24 + kl;
        }
        if (e.write !== 0) {
          count++;
          bytes += 24 + kl + ((e.valueBytes?.length ?? 0) + 7 & ~7);
        }
      }
    }
    if (count === 0) return true;
    const buf = new Uint8Array(bytes);
    const dv = new DataView(buf.buffer);
    let p = 0;
    let vi = 0;
    const put = (view: number, kind: number, e: Entry, val: Uint8Array | undefined): void => {
      dv.setUint32(p, view, true);
      dv.setUint32(p + 4, kind, true);
      dv.setUint32(p + 8, e.keyBytes.length, true);
      dv.setUint32(p + 12, val?.length ?? 0, true);
      dv.setFloat64(p + 16, kind === kReadOp ? e.version : 0, true);
      p += 24;
      buf.set(e.keyBytes, p);
      p += (e.keyBytes.length + 7) & ~7;
      if (val !== undefined) {
        buf.set(val, p);
        p += (val.length + 7) & ~7;
      }
    };
    for (const keys of this.#maps.values()) {
      for (const e of keys.values()) {
        if (e.read) put(vi, kReadOp, e, undefined);
        if (e.write === 1) put(vi, kSetOp, e, e.valueBytes);
        else if (e.write === 2) put(vi, kDeleteOp, e, undefined);
      }
      vi++;
    }
    const res = new Float64Array(2);
    for (;;) {
      const r = native.mapCommit(views, buf, count, res);
      if (r === 0) return true;
      if (r === 1) return false;
      const region = regions[res[0]!]!;
      if (r === 2) {
        growRegion(region, res[1]!, 'transaction');
        continue;
      }
      if (r === 3) throw fullError('transaction', maxBytesOf(region));
      throw tooLargeError('transaction', maxBytesOf(regions[0]!));
    }
  }
}

let active: Tx | undefined;

/** The transaction the calling code runs in, if any. */
export function activeTx(): Tx | undefined {
  return active;
}

/** For collections that cannot take part (SharedQueue): throws inside a transaction. */
export function assertNoTx(what: string): void {
  if (active !== undefined) {
    throw new RingpoolError('ERR_RINGPOOL_INVALID_STATE', `${what} cannot run inside a transaction (it could not be undone)`);
  }
}

function isThenable(v: unknown): boolean {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

function attempt<T>(fn: () => T, readOnly: boolean, what: string): { ok: boolean; result: T } {
  const tx = new Tx(readOnly);
  active = tx;
  let result: T;
  try {
    result = fn();
  } finally {
    active = undefined;
  }
  if (isThenable(result)) {
    (result as unknown as Promise<unknown>).then(undefined, () => {});
    throw new RingpoolTypeError(
      'ERR_RINGPOOL_INVALID_ARG_TYPE',
      `${what}: the callback returned a promise; transaction callbacks must be synchronous (nothing was committed)`,
    );
  }
  return { ok: tx.commit(), result };
}

/**
 * Runs fn as a transaction, synchronously (used by SharedArray / SharedRecord operations).
 * Inside an active transaction fn simply joins it.
 */
export function runSync<T>(fn: () => T, readOnly: boolean, what: string, maxRetries = 10_000): T {
  if (active !== undefined) {
    if (!readOnly && active.readOnly) {
      throw new RingpoolError('ERR_RINGPOOL_INVALID_STATE', `${what}: writes are not allowed inside readTransaction()`);
    }
    return fn();
  }
  for (let n = 1; ; n++) {
    const { ok, result } = attempt(fn, readOnly, what);
    if (ok) return result;
    if (n > maxRetries) throw new TransactionConflictError(n);
  }
}

export interface TransactionOptions {
  /** Further attempts after a conflict (default 100). */
  readonly maxRetries?: number;
  /** Milliseconds for all attempts together; then the promise rejects with TimeoutError. */
  readonly timeout?: number;
}

const kDefaultRetries = 100;

function readOptions(options: unknown, what: string): { maxRetries: number; timeout: number } {
  if (options === undefined) return { maxRetries: kDefaultRetries, timeout: Infinity };
  assertOptionsObject(options, `${what}: options`);
  const { maxRetries = kDefaultRetries, timeout } = options;
  if (typeof maxRetries !== 'number') {
    throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `${what}: options.maxRetries must be a number, got ${describe(maxRetries)}`);
  }
  if (!(maxRetries >= 0) || !(Number.isInteger(maxRetries) || maxRetries === Infinity)) {
    throw new RingpoolRangeError('ERR_RINGPOOL_OUT_OF_RANGE', `${what}: options.maxRetries must be a non-negative integer or Infinity, got ${maxRetries}`);
  }
  return { maxRetries, timeout: normaliseTimeout(timeout, `${what}: options.timeout`) };
}

async function run<T>(fn: () => T, options: unknown, readOnly: boolean, what: string): Promise<T> {
  if (typeof fn !== 'function') {
    throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `${what}: expected a function, got ${describe(fn)}`);
  }
  const { maxRetries, timeout } = readOptions(options, what);
  if (active !== undefined) return runSync(fn, readOnly, what); // nested: joins the outer one
  const deadline = timeout === Infinity ? Infinity : performance.now() + timeout;
  for (let n = 1; ; n++) {
    const { ok, result } = attempt(fn, readOnly, what);
    if (ok) return result;
    if (n > maxRetries) throw new TransactionConflictError(n);
    if (performance.now() >= deadline) throw new TimeoutError(timeout, what);
    // Give the event loop (and this thread's other work) a turn between attempts.
    if (n % 4 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * Runs fn with every read and write of shared maps (SharedMap, SharedArray, SharedRecord,
 * any number of them) as one atomic unit: all writes become visible together, or none does.
 * Resolves with fn's result; rejects with fn's error (nothing written), with
 * TransactionConflictError after maxRetries conflicting attempts, or TimeoutError.
 */
export function transaction<T>(fn: () => T, options?: TransactionOptions): Promise<T> {
  return run(fn, options, false, 'transaction');
}

/** Like transaction(), for reads only: everything fn reads is one consistent snapshot. */
export function readTransaction<T>(fn: () => T, options?: TransactionOptions): Promise<T> {
  return run(fn, options, true, 'readTransaction');
}
