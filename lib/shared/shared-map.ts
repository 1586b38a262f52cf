/**
 * SharedMap: a hash map in a growable SharedArrayBuffer that every thread can read and write
 * at once. Keys are strings or numbers; values are anything ringpool's codec encodes
 * (structured-clone values), stored as copies. The table lives in native code (src/map.c):
 * reads take no lock (per-stripe seqlocks), writes take one stripe lock for the length of a
 * native call, update() holds its key's stripe while the callback runs.
 *
 * Passing a SharedMap to a worker (exec argument, workerData, postMessage) gives the worker
 * the same map: instances carry `__ringpool__: 'SharedMap'` and their `handle`, and the pool
 * revives them; by hand, `SharedMap.from(map.handle)`.
 */
import { RingpoolTypeError } from '../errors';
import { registerReviver } from '../pool/revive';
import { assertOptionsObject, assertPowerOfTwo, describe } from '../validate';
import { fullError, tooLargeError } from './errors';
import { KeyBuffer, decodeKey, type SharedKey } from './keys';
import { mapLayout, native } from './native-shared';
import { assertRegion, createRegion, growRegion, maxBytesOf, readRegionOptions, type RegionOptions } from './region';
import { activeTx, runSync, type TxTarget } from './transaction';
import { decodeValue, encodeValue, noteLargeValue, readScratch } from './values';
import { Watcher, watchAll as watchAllImpl, type WatchEvent, type WatchOptions, type WatchSource } from './watch';

export interface SharedMapOptions extends RegionOptions {
  /** Number of writer locks (a power of two, 1 to 1024; default 64). More stripes, less contention. */
  readonly stripes?: number;
}

/** Memory use of a collection, in bytes. */
export interface SharedMemoryInfo {
  /** Held by live entries (and the bucket table). */
  readonly used: number;
  /** Current size of the SharedArrayBuffer. */
  readonly allocated: number;
  /** What it may grow to (maxBytes). */
  readonly max: number;
}

const kDefaultStripes = 64;
const kAttach = Symbol('kAttach');
interface Attach {
  readonly [kAttach]: SharedArrayBuffer;
}

/** The key buffer of this thread's hot paths (copied before any user code runs). */
const keyBuf = new KeyBuffer();
const meta = new Float64Array(2);

/**
 * The key buffer and read scratch the native side holds for mapGetBound (the common read
 * path: two arguments instead of five). Bound again whenever either one is replaced.
 */
let boundKey: Uint8Array | null = null;
let boundOut: Uint8Array | null = null;
function bindBuffers(out: Uint8Array): void {
  native.mapBind(keyBuf.bytes, out);
  boundKey = keyBuf.bytes;
  boundOut = out;
}

function isThenable(v: unknown): boolean {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

function pow2Floor(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

export class SharedMap<K extends SharedKey = SharedKey, V = unknown> implements Iterable<[K, V]>, TxTarget, WatchSource {
  /** Marks instances for the pool's reviver (see lib/pool/revive.ts). */
  readonly __ringpool__ = 'SharedMap' as const;
  /** The SharedArrayBuffer holding the map; SharedMap.from(handle) attaches to it elsewhere. */
  readonly handle: SharedArrayBuffer;
  /** Length-tracking view over the whole region (follows its growth). */
  readonly #i32: Int32Array;
  /**
   * Fixed-length view over the region as long as it was when last measured, for get(): the
   * glue measures a fixed view for much less than a length-tracking one (every get pays it).
   * Remade when the native side reports that the data reaches past it (#fixedView).
   */
  #fixed: Int32Array;

  /**
   * @throws RingpoolTypeError ERR_RINGPOOL_INVALID_ARG_TYPE for options of the wrong type
   * @throws RingpoolRangeError ERR_RINGPOOL_OUT_OF_RANGE for sizes or stripes out of range
   */
  constructor(options: SharedMapOptions = {}) {
    assertOptionsObject(options, 'SharedMap: options');
    if (kAttach in options) {
      this.handle = (options as unknown as Attach)[kAttach];
      this.#i32 = new Int32Array(this.handle);
      this.#fixed = this.#fixedView();
      return;
    }
    const stripes = options.stripes ?? kDefaultStripes;
    assertPowerOfTwo(stripes, 'SharedMap: options.stripes', 1, mapLayout.maxStripes);
    const minBytes = native.mapHeaderBytes(stripes, stripes) + 1024;
    const { maxBytes, initialBytes } = readRegionOptions(options as Record<string, unknown>, 'SharedMap', mapLayout.maxBytes, minBytes);
    let buckets = Math.max(stripes, pow2Floor(initialBytes / 128));
    while (buckets > stripes && native.mapHeaderBytes(stripes, buckets) > initialBytes / 2) buckets /= 2;
    this.handle = createRegion(initialBytes, maxBytes);
    this.#i32 = new Int32Array(this.handle);
    native.mapInit(this.#i32, stripes, buckets, maxBytes);
    this.#fixed = this.#fixedView();
  }

  /** A fixed-length view over the region as it is now. */
  #fixedView(): Int32Array {
    return new Int32Array(this.handle, 0, this.handle.byteLength >> 2);
  }

  /**
   * The map behind `handle` (a SharedMap's .handle received through workerData, postMessage,
   * or a task argument). Both objects then work on the same entries.
   * @throws RingpoolTypeError ERR_RINGPOOL_NOT_SHARED / ERR_RINGPOOL_BAD_LAYOUT
   */
  static from<K extends SharedKey = SharedKey, V = unknown>(handle: SharedArrayBuffer): SharedMap<K, V> {
    assertRegion(handle, 'SharedMap.from');
    try {
      native.mapCheck(new Int32Array(handle));
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ERR_RINGPOOL_BAD_LAYOUT') {
        throw new RingpoolTypeError('ERR_RINGPOOL_BAD_LAYOUT', 'SharedMap.from: the buffer does not hold a SharedMap');
      }
      throw err;
    }
    const attach: Attach = { [kAttach]: handle };
    return new SharedMap<K, V>(attach as unknown as SharedMapOptions);
  }

  /** Number of entries (a snapshot while other threads write). */
  get size(): number {
    return native.mapSize(this.#i32);
  }

  get memory(): SharedMemoryInfo {
    const [used] = native.mapMemory(this.#i32);
    return { used, allocated: this.handle.byteLength, max: maxBytesOf(this.handle) };
  }

  get(key: K): V | undefined {
    const tx = activeTx();
    if (tx !== undefined) return tx.get(this, key, 'SharedMap.get') as V | undefined;
    const klen = keyBuf.encode(key, 'SharedMap.get');
    const out = readScratch();
    if (keyBuf.bytes !== boundKey || out !== boundOut) bindBuffers(out);
    let n = native.mapGetBound(this.#fixed, klen);
    while (n === -3) {
      // The map grew (here or in another thread) past the fixed view: measure again.
      if (this.handle.byteLength <= this.#fixed.byteLength) {
        throw new RingpoolTypeError('ERR_RINGPOOL_BAD_LAYOUT', "SharedMap.get: an entry lies past the end of the map's memory (corrupt)");
      }
      this.#fixed = this.#fixedView();
      n = native.mapGetBound(this.#fixed, klen);
    }
    if (n >= 0) return decodeValue(out, 0, n) as V;
    if (n === -1) return undefined;
    // Longer than the scratch: a copy through the general call.
    const r = native.mapGet(this.#i32, keyBuf.bytes, klen, out);
    if (r === -1) return undefined;
    if (typeof r === 'number') return decodeValue(out, 0, r) as V;
    noteLargeValue(r.length);
    return decodeValue(r, 0, r.length) as V;
  }

  has(key: K): boolean {
    const tx = activeTx();
    if (tx !== undefined) return tx.has(this, key, 'SharedMap.has');
    const klen = keyBuf.encode(key, 'SharedMap.has');
    return native.mapGet(this.#i32, keyBuf.bytes, klen, kEmpty) !== -1;
  }

  /**
   * Stores a copy of value under key.
   * @throws DataCloneError when the value cannot be stored (a function, a SharedArrayBuffer, ...)
   * @throws RingpoolRangeError ERR_RINGPOOL_FULL when the map would grow past maxBytes
   */
  set(key: K, value: V): this {
    const tx = activeTx();
    if (tx !== undefined) {
      tx.set(this, key, value, 'SharedMap.set');
      return this;
    }
    let klen = keyBuf.encode(key, 'SharedMap.set'); // a bad key throws before the value's getters run
    const uses = keyBuf.uses;
    const bytes = encodeValue(value, 'SharedMap.set');
    // A getter of the value used keyBuf (another set, a get): encode the key again.
    if (keyBuf.uses !== uses) klen = keyBuf.encode(key, 'SharedMap.set');
    this.#store(keyBuf.bytes, klen, bytes, 'SharedMap.set');
    return this;
  }

  delete(key: K): boolean {
    const tx = activeTx();
    if (tx !== undefined) return tx.delete(this, key, 'SharedMap.delete');
    const klen = keyBuf.encode(key, 'SharedMap.delete');
    return native.mapDelete(this.#i32, keyBuf.bytes, klen);
  }

  clear(): void {
    if (activeTx() !== undefined) {
      for (const k of this.keys()) this.delete(k);
      return;
    }
    native.mapClear(this.#i32);
  }

  /**
   * Atomic read-modify-write: fn receives the current value (undefined when absent) and
   * returns the next one, which is stored. No other write to this key (or to keys sharing
   * its lock stripe) happens in between; fn runs exactly once, synchronously, and should be
   * short. Returns the stored value. If fn throws, nothing is stored. Don't write other keys
   * of the same map inside fn (two threads doing that in opposite orders deadlock, as with
   * any two locks); use transaction() for multi-key updates.
   */
  update(key: K, fn: (old: V | undefined) => V): V {
    if (typeof fn !== 'function') {
      throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `SharedMap.update: fn must be a function, got ${describe(fn)}`);
    }
    const tx = activeTx();
    if (tx !== undefined) {
      const next = fn(tx.get(this, key, 'SharedMap.update') as V | undefined);
      tx.set(this, key, next, 'SharedMap.update');
      return next;
    }
    const klen = keyBuf.encode(key, 'SharedMap.update');
    const kb = keyBuf.copy();
    const s = native.mapLock(this.#i32, kb, klen);
    try {
      const next = fn(this.txRead(kb).value as V | undefined);
      if (isThenable(next)) {
        throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', 'SharedMap.update: fn returned a promise; it must be synchronous (nothing was stored)');
      }
      this.#store(kb, klen, encodeValue(next, 'SharedMap.update'), 'SharedMap.update');
      return next;
    } finally {
      if (s >= 0) native.mapUnlock(this.#i32, s);
    }
  }

  /** Stores every [key, value] of entries as one atomic write (all or nothing). */
  setMany(entries: Iterable<readonly [K, V]>): this {
    if (entries === null || typeof (entries as { [Symbol.iterator]?: unknown })?.[Symbol.iterator] !== 'function') {
      throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `SharedMap.setMany: expected an iterable of [key, value] pairs, got ${describe(entries)}`);
    }
    const list = [...entries];
    for (const e of list) {
      if (!Array.isArray(e) || e.length < 2) {
        throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `SharedMap.setMany: every entry must be a [key, value] pair, got ${describe(e)}`);
      }
    }
    runSync(() => {
      for (const [k, v] of list) this.set(k, v);
    }, false, 'SharedMap.setMany');
    return this;
  }

  /** The values of keys, read as one consistent snapshot; absent keys are left out. */
  getMany(keys: Iterable<K>): Map<K, V> {
    if (keys === null || typeof (keys as { [Symbol.iterator]?: unknown })?.[Symbol.iterator] !== 'function') {
      throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `SharedMap.getMany: expected an iterable of keys, got ${describe(keys)}`);
    }
    const list = [...keys];
    return runSync(() => {
      const m = new Map<K, V>();
      for (const k of list) if (this.has(k)) m.set(k, this.get(k) as V);
      return m;
    }, true, 'SharedMap.getMany');
  }

  *entries(): IterableIterator<[K, V]> {
    for (const e of this.#scan(true)) yield [e[0] as K, e[1] as V];
  }

  *keys(): IterableIterator<K> {
    for (const e of this.#scan(false)) yield e[0] as K;
  }

  *values(): IterableIterator<V> {
    for (const e of this.#scan(true)) yield e[1] as V;
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  forEach(fn: (value: V, key: K, map: this) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }

  /**
   * Changes of one key, as an async iterator of { type, key, oldValue, newValue, version,
   * timestamp }. A slow consumer may see several changes merged into one event, but the last
   * event always matches the current value. Leaving the loop stops the watcher.
   */
  watch(key: K, options?: WatchOptions): AsyncIterableIterator<WatchEvent<K, V>> {
    const klen = keyBuf.encode(key, 'SharedMap.watch');
    return new Watcher<K, V>(this, key, keyBuf.copy().subarray(0, klen), options);
  }

  /** Changes of every key (same event shape and rules as watch()). */
  watchAll(options?: WatchOptions): AsyncIterableIterator<WatchEvent<K, V>> {
    return watchAllImpl<K, V>(this, options);
  }

  get [Symbol.toStringTag](): string {
    return 'SharedMap';
  }

  // ---- internals shared with transactions and watchers (not part of the public API) ----

  txView(): Int32Array {
    return this.#i32;
  }

  txRegion(): SharedArrayBuffer {
    return this.handle;
  }

  txKey(key: SharedKey, what: string): Uint8Array {
    const klen = keyBuf.encode(key, what);
    return keyBuf.bytes.slice(0, klen);
  }

  txRead(kb: Uint8Array): { found: boolean; value: unknown; version: number; ms: number } {
    const out = readScratch();
    const r = native.mapGet(this.#i32, kb, kb.length, out, meta);
    if (r === -1) return { found: false, value: undefined, version: 0, ms: 0 };
    const value = typeof r === 'number' ? decodeValue(out, 0, r) : decodeValue(r, 0, r.length);
    return { found: true, value, version: meta[0]!, ms: meta[1]! };
  }

  stripeOf(kb: Uint8Array): number {
    return native.mapStripeOf(this.#i32, kb, kb.length);
  }

  *scanAll(): Generator<[SharedKey, unknown, number]> {
    yield* this.#scan(true);
  }

  #store(kb: Uint8Array, klen: number, vb: Uint8Array, what: string): void {
    for (;;) {
      const r = native.mapSet(this.#i32, kb, klen, vb, vb.length);
      if (r === 0) return;
      if (r > 0) growRegion(this.handle, r, what);
      else if (r === -1) throw fullError(what, maxBytesOf(this.handle));
      else throw tooLargeError(what, maxBytesOf(this.handle));
    }
  }

  /** Batches of [key, value, version] in the native scan's order (map.h rp_map_scan). */
  *#scan(withValues: boolean): Generator<[SharedKey, unknown, number]> {
    const state = new Uint32Array(1);
    let out = new Uint8Array(16 * 1024);
    for (;;) {
      const used = native.mapScan(this.#i32, state, out, withValues);
      if (used < 0) {
        out = new Uint8Array(Math.ceil(-used / 4096) * 4096 * 2);
        continue;
      }
      const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
      for (let p = 0; p < used; ) {
        const klen = dv.getUint32(p, true);
        const vlen = dv.getUint32(p + 4, true);
        const version = dv.getUint32(p + 8, true) + dv.getUint32(p + 12, true) * 2 ** 32;
        const key = decodeKey(out, p + 16, klen);
        p += 16 + ((klen + 7) & ~7);
        let value: unknown;
        if (withValues) {
          value = decodeValue(out, p, vlen);
          p += (vlen + 7) & ~7;
        }
        yield [key, value, version];
      }
      if (state[0] === 0) return;
    }
  }
}

const kEmpty = new Uint8Array(0);

registerReviver('SharedMap', (plain) => SharedMap.from(plain.handle as SharedArrayBuffer));

/** Guards a value given where a SharedMap is expected. */
export function assertSharedMap(v: unknown, what: string): asserts v is SharedMap {
  if (!(v instanceof SharedMap)) {
    throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `${what}: expected a SharedMap, got ${describe(v)}`);
  }
}

