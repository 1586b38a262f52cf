/**
 * Watchers of shared maps: async iterators of change events, driven by the per-stripe and
 * per-map "cell" words that writers bump (and notify through ringpool's waiter table) while
 * somebody watches (src/map.h, notify_change). A watcher never trusts the wake-up itself: it
 * compares what it last reported with what is there now (entry versions), so several changes
 * between two looks merge into one event, and the last event always matches the current
 * state. The protocol is ring.h's SLEEPING one: register (watchers + 1), read the cell, look,
 * then wait for the cell to move.
 */
import { RingpoolTypeError } from '../errors';
import { assertOptionsObject, assertSignal, describe } from '../validate';
import { waitAsyncCancellable } from '../wait';
import { type SharedKey } from './keys';
import { mapLayout } from './native-shared';

export interface WatchEvent<K = SharedKey, V = unknown> {
  /** 'set' (added or replaced), 'delete', or 'clear' (the map was cleared). */
  readonly type: 'set' | 'delete' | 'clear';
  /** The key (undefined for a 'clear' event of watchAll()). */
  readonly key: K | undefined;
  readonly oldValue: V | undefined;
  readonly newValue: V | undefined;
  /** Grows with every change of the key's stripe: later events have larger versions. */
  readonly version: number;
  /** Wall-clock ms: when the value was written ('set'), or when the change was seen. */
  readonly timestamp: number;
}

export interface WatchOptions {
  /** Aborting ends the iteration (as if the loop was left). */
  readonly signal?: AbortSignal;
}

/** What a map exposes to its watchers (implemented by SharedMap). */
export interface WatchSource {
  txView(): Int32Array;
  txRead(kb: Uint8Array): { found: boolean; value: unknown; version: number; ms: number };
  stripeOf(kb: Uint8Array): number;
  scanAll(): Generator<[SharedKey, unknown, number]>;
}

function readSignal(options: unknown, what: string): AbortSignal | undefined {
  if (options === undefined) return undefined;
  assertOptionsObject(options, `${what}: options`);
  const { signal } = options;
  assertSignal(signal, `${what}: options.signal`);
  return signal;
}

const kDone: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** Common lifecycle: registration, serialised next() calls, return() and abort. */
abstract class WatcherBase<K, V> implements AsyncIterableIterator<WatchEvent<K, V>> {
  protected readonly i32: Int32Array;
  readonly #cell: number;
  readonly #watchers: number;
  readonly #ac = new AbortController();
  #done = false;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(i32: Int32Array, cell: number, watchers: number, signal: AbortSignal | undefined) {
    this.i32 = i32;
    this.#cell = cell;
    this.#watchers = watchers;
    Atomics.add(i32, watchers, 1);
    if (signal?.aborted) this.#stop();
    else signal?.addEventListener('abort', () => this.#stop(), { once: true });
  }

  /** The next event if something changed since the last look, else undefined. */
  protected abstract poll(): WatchEvent<K, V> | undefined;

  next(): Promise<IteratorResult<WatchEvent<K, V>>> {
    const p = this.#tail.then(() => this.#next());
    this.#tail = p.catch(() => {});
    return p;
  }

  async #next(): Promise<IteratorResult<WatchEvent<K, V>>> {
    for (;;) {
      if (this.#done) return kDone;
      const c = Atomics.load(this.i32, this.#cell);
      const e = this.poll();
      if (e !== undefined) return { done: false, value: e };
      const r = await waitAsyncCancellable(this.i32, this.#cell, c, Infinity, this.#ac.signal);
      if (r === 'aborted') return kDone;
    }
  }

  #stop(): void {
    if (this.#done) return;
    this.#done = true;
    Atomics.sub(this.i32, this.#watchers, 1);
    this.#ac.abort();
  }

  return(): Promise<IteratorResult<WatchEvent<K, V>>> {
    this.#stop();
    return Promise.resolve(kDone);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

function stripeBase(stripe: number): number {
  return mapLayout.stripes + stripe * mapLayout.stripeInts;
}

/** Changes of one key. */
export class Watcher<K, V> extends WatcherBase<K, V> {
  readonly #src: WatchSource;
  readonly #key: K;
  readonly #kb: Uint8Array;
  readonly #base: number;
  #last: { found: boolean; value: unknown; version: number };
  #epoch: number;

  constructor(src: WatchSource, key: K, kb: Uint8Array, options: unknown) {
    const signal = readSignal(options, 'watch');
    const i32 = src.txView();
    const base = stripeBase(src.stripeOf(kb));
    super(i32, base + mapLayout.stCell, base + mapLayout.stWatchers, signal);
    this.#src = src;
    this.#key = key;
    this.#kb = kb;
    this.#base = base;
    this.#epoch = Atomics.load(i32, mapLayout.clearEpoch);
    this.#last = src.txRead(kb);
  }

  protected poll(): WatchEvent<K, V> | undefined {
    const cur = this.#src.txRead(this.#kb);
    const last = this.#last;
    if (cur.found === last.found && cur.version === last.version) return undefined;
    const epoch = Atomics.load(this.i32, mapLayout.clearEpoch);
    const type = cur.found ? 'set' : epoch !== this.#epoch ? 'clear' : 'delete';
    const writes = (Atomics.load(this.i32, this.#base + 8) >>> 0) + (Atomics.load(this.i32, this.#base + 9) >>> 0) * 2 ** 32;
    this.#last = cur;
    this.#epoch = epoch;
    return {
      type,
      key: this.#key,
      oldValue: last.value as V | undefined,
      newValue: cur.value as V | undefined,
      version: cur.found ? cur.version : writes,
      timestamp: cur.found ? cur.ms : Date.now(),
    };
  }
}

/** Changes of every key: keeps a copy of the map and reports the differences. */
class AllWatcher<K, V> extends WatcherBase<K, V> {
  readonly #src: WatchSource;
  #snap: Map<SharedKey, { value: unknown; version: number }>;
  #sig: number[];
  #epoch: number;
  readonly #queue: WatchEvent<K, V>[] = [];

  constructor(src: WatchSource, signal: AbortSignal | undefined) {
    const i32 = src.txView();
    super(i32, mapLayout.allCell, mapLayout.allWatchers, signal);
    this.#src = src;
    this.#sig = this.#signature();
    this.#epoch = Atomics.load(i32, mapLayout.clearEpoch);
    this.#snap = this.#read();
  }

  #stripes(): number {
    // stripe count lives in the header (map.h block R): int index 2
    return this.i32[2]!;
  }

  /** Per-stripe write counters: unchanged means nothing to rescan. */
  #signature(): number[] {
    const n = this.#stripes();
    const sig = new Array<number>(n);
    for (let s = 0; s < n; s++) sig[s] = Atomics.load(this.i32, stripeBase(s) + 8);
    return sig;
  }

  #read(): Map<SharedKey, { value: unknown; version: number }> {
    const m = new Map<SharedKey, { value: unknown; version: number }>();
    for (const [k, value, version] of this.#src.scanAll()) m.set(k, { value, version });
    return m;
  }

  protected poll(): WatchEvent<K, V> | undefined {
    if (this.#queue.length > 0) return this.#queue.shift();
    const sig = this.#signature();
    if (sig.every((w, i) => w === this.#sig[i])) return undefined;
    this.#sig = sig;
    const now = this.#read();
    const epoch = Atomics.load(this.i32, mapLayout.clearEpoch);
    const cleared = epoch !== this.#epoch;
    this.#epoch = epoch;
    const ts = Date.now();
    if (cleared) this.#queue.push({ type: 'clear', key: undefined, oldValue: undefined, newValue: undefined, version: 0, timestamp: ts });
    for (const [k, old] of this.#snap) {
      if (now.has(k)) continue;
      if (!cleared) this.#queue.push({ type: 'delete', key: k as K, oldValue: old.value as V, newValue: undefined, version: old.version, timestamp: ts });
    }
    for (const [k, cur] of now) {
      const old = this.#snap.get(k);
      if (old !== undefined && old.version === cur.version) continue;
      const prev = cleared ? undefined : old?.value;
      this.#queue.push({ type: 'set', key: k as K, oldValue: prev as V | undefined, newValue: cur.value as V, version: cur.version, timestamp: ts });
    }
    this.#snap = now;
    return this.#queue.shift();
  }
}

export function watchAll<K, V>(src: WatchSource, options: unknown): AsyncIterableIterator<WatchEvent<K, V>> {
  return new AllWatcher<K, V>(src, readSignal(options, 'watchAll'));
}

export function assertWatchKey(key: unknown, what: string): void {
  if (typeof key !== 'string' && typeof key !== 'number') {
    throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `${what}: keys must be strings or numbers, got ${describe(key)}`);
  }
}
