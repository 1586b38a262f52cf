/**
 * SharedArray: a growable array of values shared by every thread, built on a SharedMap whose
 * number keys 0 .. length - 1 hold the items, plus two private entries (the kind marker and
 * the length, under negative keys). Every operation that touches the length (push, pop,
 * splice, set past the end, clear) is a transaction (lib/shared/transaction.ts), so the
 * array is always a whole array to every reader; get(i) is one lock-free map read.
 */
import { RingpoolRangeError, RingpoolTypeError } from '../errors';
import { registerReviver } from '../pool/revive';
import { describe } from '../validate';
import { SharedMap, type SharedMapOptions, type SharedMemoryInfo } from './shared-map';
import { runSync } from './transaction';
import { type WatchEvent, type WatchOptions } from './watch';

/** Private entries of the backing map (user keys of arrays are >= 0). */
export const kKindKey = -1;
const kLengthKey = -2;

function assertIndex(i: unknown, what: string): asserts i is number {
  if (typeof i !== 'number') {
    throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `${what}: index must be a number, got ${describe(i)}`);
  }
  if (!Number.isSafeInteger(i) || i < 0) {
    throw new RingpoolRangeError('ERR_RINGPOOL_OUT_OF_RANGE', `${what}: index must be a non-negative integer, got ${i}`);
  }
}

/** Array.prototype.slice's handling of relative indices. */
function relative(i: number | undefined, len: number, dflt: number): number {
  if (i === undefined) return dflt;
  const n = Math.trunc(Number(i)) || 0;
  return n < 0 ? Math.max(len + n, 0) : Math.min(n, len);
}

/** Attaches a wrapper (SharedArray / SharedRecord) to an existing map of the right kind. */
export function openKind(handle: SharedArrayBuffer, kind: string, what: string): SharedMap {
  const map = SharedMap.from(handle);
  if (map.get(kKindKey) !== kind) {
    throw new RingpoolTypeError('ERR_RINGPOOL_BAD_LAYOUT', `${what}: the buffer does not hold a ${kind}`);
  }
  return map;
}

const kAttach = Symbol('kAttach');

export class SharedArray<T = unknown> implements Iterable<T> {
  /** Marks instances for the pool's reviver (see lib/pool/revive.ts). */
  readonly __ringpool__ = 'SharedArray' as const;
  /** The SharedArrayBuffer holding the array; SharedArray.from(handle) attaches to it elsewhere. */
  readonly handle: SharedArrayBuffer;
  readonly #map: SharedMap;

  /** Options as for SharedMap (maxBytes, initialBytes, stripes). */
  constructor(options: SharedMapOptions = {}) {
    const attached = (options as { [kAttach]?: SharedMap } | null)?.[kAttach];
    if (attached !== undefined) {
      this.#map = attached;
    } else {
      this.#map = new SharedMap(options);
      this.#map.setMany([[kKindKey, 'SharedArray'], [kLengthKey, 0]]);
    }
    this.handle = this.#map.handle;
  }

  static from<T = unknown>(handle: SharedArrayBuffer): SharedArray<T> {
    const map = openKind(handle, 'SharedArray', 'SharedArray.from');
    return new SharedArray<T>({ [kAttach]: map } as unknown as SharedMapOptions);
  }

  get length(): number {
    return (this.#map.get(kLengthKey) as number | undefined) ?? 0;
  }

  get memory(): SharedMemoryInfo {
    return this.#map.memory;
  }

  /** The item at i, or undefined past the end. */
  get(i: number): T | undefined {
    assertIndex(i, 'SharedArray.get');
    return this.#map.get(i) as T | undefined;
  }

  /** Sets item i; past the end the array grows (the gap holds undefined). */
  set(i: number, value: T): this {
    assertIndex(i, 'SharedArray.set');
    runSync(() => {
      const len = this.length;
      for (let j = len; j < i; j++) this.#map.set(j, undefined);
      this.#map.set(i, value);
      if (i >= len) this.#map.set(kLengthKey, i + 1);
    }, false, 'SharedArray.set');
    return this;
  }

  /** Appends the items (atomically, together); returns the new length. */
  push(...items: T[]): number {
    return runSync(() => {
      let len = this.length;
      for (const it of items) this.#map.set(len++, it);
      this.#map.set(kLengthKey, len);
      return len;
    }, false, 'SharedArray.push');
  }

  /** Removes and returns the last item (undefined when empty). */
  pop(): T | undefined {
    return runSync(() => {
      const len = this.length;
      if (len === 0) return undefined;
      const v = this.#map.get(len - 1) as T | undefined;
      this.#map.delete(len - 1);
      this.#map.set(kLengthKey, len - 1);
      return v;
    }, false, 'SharedArray.pop');
  }

  /** A consistent copy of items [start, end), with Array.prototype.slice's index rules. */
  slice(start?: number, end?: number): T[] {
    return runSync(() => {
      const len = this.length;
      const from = relative(start, len, 0);
      const to = relative(end, len, len);
      const out: T[] = [];
      for (let i = from; i < to; i++) out.push(this.#map.get(i) as T);
      return out;
    }, true, 'SharedArray.slice');
  }

  /** Array.prototype.splice, atomically: removes deleteCount items at start, inserts items; returns the removed ones. */
  splice(start: number, deleteCount?: number, ...items: T[]): T[] {
    return runSync(() => {
      const len = this.length;
      const from = relative(start, len, 0);
      const del = deleteCount === undefined ? len - from : Math.min(Math.max(Math.trunc(Number(deleteCount)) || 0, 0), len - from);
      const removed: T[] = [];
      for (let i = from; i < from + del; i++) removed.push(this.#map.get(i) as T);
      const tail: T[] = [];
      for (let i = from + del; i < len; i++) tail.push(this.#map.get(i) as T);
      const next = [...items, ...tail];
      for (let j = 0; j < next.length; j++) this.#map.set(from + j, next[j]);
      const newLen = from + next.length;
      for (let i = newLen; i < len; i++) this.#map.delete(i);
      this.#map.set(kLengthKey, newLen);
      return removed;
    }, false, 'SharedArray.splice');
  }

  /** Removes every item. */
  clear(): void {
    this.splice(0);
  }

  toArray(): T[] {
    return this.slice();
  }

  /** Iterates a consistent snapshot taken when iteration starts. */
  [Symbol.iterator](): IterableIterator<T> {
    return this.slice()[Symbol.iterator]();
  }

  /** Changes of item i (events as SharedMap.watch; key is the index). */
  watchIndex(i: number, options?: WatchOptions): AsyncIterableIterator<WatchEvent<number, T>> {
    assertIndex(i, 'SharedArray.watchIndex');
    return this.#map.watch(i, options) as unknown as AsyncIterableIterator<WatchEvent<number, T>>;
  }

  get [Symbol.toStringTag](): string {
    return 'SharedArray';
  }
}

registerReviver('SharedArray', (plain) => SharedArray.from(plain.handle as SharedArrayBuffer));
