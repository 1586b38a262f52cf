/**
 * SharedQueue: a bounded multi-producer multi-consumer FIFO of values (anything ringpool's
 * codec encodes) in a growable SharedArrayBuffer, usable from every thread at once. The core
 * (src/squeue.c) is a lock-free ring of records in a block arena with an exact item budget;
 * this class encodes values, turns outcomes into values and errors, and waits without
 * blocking the event loop (ring.h's SLEEPING protocol on the queue's words, through
 * ringpool's waitAsync). close() ends every consumer's wait and iteration.
 */
import { TimeoutError, AbortError, RingpoolTypeError } from '../errors';
import { QueueFullError } from '../pool/errors';
import { registerReviver } from '../pool/revive';
import { assertInt, assertOptionsObject, assertSignal, describe, normaliseTimeout } from '../validate';
import { waitAsyncCancellable } from '../wait';
import { QueueClosedError, fullError, tooLargeError } from './errors';
import { native, queueLayout } from './native-shared';
import { assertRegion, createRegion, growRegion, maxBytesOf, readRegionOptions, type RegionOptions } from './region';
import { assertNoTx } from './transaction';
import { decodeValue, encodeValue, noteLargeValue, readScratch } from './values';

export interface SharedQueueOptions extends RegionOptions {
  /** Most items the queue holds at once (an integer from 1 to 2^24). */
  readonly capacity: number;
}

export interface QueueWaitOptions {
  /** Aborting rejects with AbortError (cause: the signal's reason); nothing is taken or added. */
  readonly signal?: AbortSignal;
  /** Milliseconds; undefined or NaN wait forever, negative means 0. Rejects with TimeoutError. */
  readonly timeout?: number;
}

const kAttach = Symbol('kAttach');
interface Attach {
  readonly [kAttach]: SharedArrayBuffer;
}
const kNone = Symbol('none');
const kOne = new Uint32Array(1);
/** Attempts before a waiter registers and sleeps (each is one native call, ~0.3 µs). */
const kSpins = 64;

function readWaitOptions(options: unknown, what: string): { signal: AbortSignal | undefined; timeout: number } {
  if (options === undefined) return { signal: undefined, timeout: Infinity };
  assertOptionsObject(options, `${what}: options`);
  const { signal, timeout } = options;
  assertSignal(signal, `${what}: options.signal`);
  return { signal, timeout: normaliseTimeout(timeout, `${what}: options.timeout`) };
}

export class SharedQueue<T = unknown> implements AsyncIterable<T> {
  /** Marks instances for the pool's reviver (see lib/pool/revive.ts). */
  readonly __ringpool__ = 'SharedQueue' as const;
  /** The SharedArrayBuffer holding the queue; SharedQueue.from(handle) attaches to it elsewhere. */
  readonly handle: SharedArrayBuffer;
  readonly #i32: Int32Array;
  readonly #capacity: number;

  /**
   * @throws RingpoolTypeError ERR_RINGPOOL_INVALID_ARG_TYPE, RingpoolRangeError ERR_RINGPOOL_OUT_OF_RANGE
   */
  constructor(options: SharedQueueOptions) {
    assertOptionsObject(options, 'SharedQueue: options');
    if (kAttach in options) {
      this.handle = (options as unknown as Attach)[kAttach];
      this.#i32 = new Int32Array(this.handle);
      this.#capacity = native.squeueCheck(this.#i32)[0];
      return;
    }
    const { capacity } = options;
    assertInt(capacity, 'SharedQueue: options.capacity', 1, queueLayout.maxCapacity);
    const minBytes = native.squeueHeaderBytes(capacity) + 1024;
    const { maxBytes, initialBytes } = readRegionOptions(options as unknown as Record<string, unknown>, 'SharedQueue', queueLayout.maxBytes, minBytes);
    this.handle = createRegion(initialBytes, maxBytes);
    this.#i32 = new Int32Array(this.handle);
    native.squeueInit(this.#i32, capacity, maxBytes);
    this.#capacity = capacity;
  }

  /** The queue behind `handle` (received through workerData, postMessage or a task argument). */
  static from<T = unknown>(handle: SharedArrayBuffer): SharedQueue<T> {
    assertRegion(handle, 'SharedQueue.from');
    try {
      native.squeueCheck(new Int32Array(handle));
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ERR_RINGPOOL_BAD_LAYOUT') {
        throw new RingpoolTypeError('ERR_RINGPOOL_BAD_LAYOUT', 'SharedQueue.from: the buffer does not hold a SharedQueue');
      }
      throw err;
    }
    const attach: Attach = { [kAttach]: handle };
    return new SharedQueue<T>(attach as unknown as SharedQueueOptions);
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** Items in the queue now (a snapshot while other threads work). */
  get size(): number {
    return native.squeueSize(this.#i32);
  }

  get isEmpty(): boolean {
    return this.size === 0;
  }

  get closed(): boolean {
    return native.squeueClosed(this.#i32);
  }

  /**
   * Appends a copy of x.
   * @throws QueueFullError (ERR_RINGPOOL_QUEUE_FULL) when `capacity` items are queued
   * @throws QueueClosedError after close(); DataCloneError for values that cannot be stored;
   *   RingpoolRangeError ERR_RINGPOOL_FULL when the storage would grow past maxBytes
   */
  enqueue(x: T): void {
    assertNoTx('SharedQueue.enqueue');
    const bytes = encodeValue(x, 'SharedQueue.enqueue');
    kOne[0] = bytes.length;
    if (!this.#put(bytes, kOne, 1, 'SharedQueue.enqueue')) throw new QueueFullError(this.#capacity);
  }

  /** Like enqueue, but returns false instead of throwing when the queue is full. */
  tryEnqueue(x: T): boolean {
    assertNoTx('SharedQueue.tryEnqueue');
    const bytes = encodeValue(x, 'SharedQueue.tryEnqueue');
    kOne[0] = bytes.length;
    return this.#put(bytes, kOne, 1, 'SharedQueue.tryEnqueue');
  }

  /** Appends all of xs, or none of them (QueueFullError when they do not all fit now). */
  enqueueMany(xs: Iterable<T>): void {
    assertNoTx('SharedQueue.enqueueMany');
    if (xs === null || typeof (xs as { [Symbol.iterator]?: unknown })?.[Symbol.iterator] !== 'function') {
      throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `SharedQueue.enqueueMany: expected an iterable, got ${describe(xs)}`);
    }
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const x of xs) {
      const b = encodeValue(x, 'SharedQueue.enqueueMany').slice();
      parts.push(b);
      total += b.length;
    }
    if (parts.length === 0) return;
    const buf = new Uint8Array(total);
    const lens = new Uint32Array(parts.length);
    let p = 0;
    parts.forEach((b, i) => {
      buf.set(b, p);
      p += b.length;
      lens[i] = b.length;
    });
    if (!this.#put(buf, lens, parts.length, 'SharedQueue.enqueueMany')) throw new QueueFullError(this.#capacity);
  }

  /** Resolves once x is queued, waiting for room without blocking the thread. */
  async enqueueAsync(x: T, options?: QueueWaitOptions): Promise<void> {
    assertNoTx('SharedQueue.enqueueAsync');
    const bytes = encodeValue(x, 'SharedQueue.enqueueAsync').slice();
    const lens = new Uint32Array([bytes.length]);
    const { signal, timeout } = readWaitOptions(options, 'SharedQueue.enqueueAsync');
    await this.#waitLoop(false, () => (this.#put(bytes, lens, 1, 'SharedQueue.enqueueAsync') ? true : kNone), signal, timeout);
  }

  /** Removes and returns the oldest item, or undefined when the queue is empty. */
  tryDequeue(): T | undefined {
    assertNoTx('SharedQueue.tryDequeue');
    const v = this.#take();
    return v === kNone ? undefined : (v as T);
  }

  /**
   * Resolves with the oldest item as soon as there is one. Rejects with QueueClosedError when
   * the queue is closed and empty, AbortError, or TimeoutError.
   */
  async dequeue(options?: QueueWaitOptions): Promise<T> {
    assertNoTx('SharedQueue.dequeue');
    const { signal, timeout } = readWaitOptions(options, 'SharedQueue.dequeue');
    return (await this.#waitLoop(true, () => this.#take(), signal, timeout)) as T;
  }

  /** Waits for at least one item, then takes up to n; [] when the queue is closed and empty. */
  async dequeueMany(n: number, options?: QueueWaitOptions): Promise<T[]> {
    assertInt(n, 'SharedQueue.dequeueMany: n', 1, 2 ** 32);
    assertNoTx('SharedQueue.dequeueMany');
    const out = this.#takeMany(n);
    if (out.length > 0) return out;
    let first: T;
    try {
      first = await this.dequeue(options);
    } catch (err) {
      if (err instanceof QueueClosedError) return [];
      throw err;
    }
    return n === 1 ? [first] : [first, ...this.#takeMany(n - 1)];
  }

  /** Up to n items there now, in one native call (plus one per item too large for the scratch). */
  #takeMany(n: number): T[] {
    const items: T[] = [];
    while (items.length < n) {
      const out = readScratch();
      const r = native.squeueDequeueMany(this.#i32, out, n - items.length);
      const count = typeof r === 'number' ? r : r[0];
      const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
      for (let i = 0, p = 0; i < count; i++) {
        const len = dv.getUint32(p, true);
        items.push(decodeValue(out, p + 4, len) as T);
        p += 4 + ((len + 3) & ~3);
      }
      if (typeof r === 'number') break;
      noteLargeValue(r[1].length);
      items.push(decodeValue(r[1], 0, r[1].length) as T);
    }
    return items;
  }

  /** The oldest item without removing it (a snapshot: another consumer may take it). */
  peek(): T | undefined {
    const out = readScratch();
    const r = native.squeuePeek(this.#i32, out);
    if (r === -1) return undefined;
    return (typeof r === 'number' ? decodeValue(out, 0, r) : decodeValue(r, 0, r.length)) as T;
  }

  /** Removes every item there now; returns how many. */
  clear(): number {
    assertNoTx('SharedQueue.clear');
    return native.squeueClear(this.#i32);
  }

  /**
   * Closes the queue for every thread: enqueues fail with QueueClosedError, consumers take
   * what is left, then their dequeue() rejects with QueueClosedError and their for-await
   * loops end. Every waiting consumer and producer is woken. Idempotent.
   */
  close(): void {
    native.squeueClose(this.#i32);
  }

  /** Items until the queue is closed and drained. Several consumers may iterate at once. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) {
      let v: T;
      try {
        v = await this.dequeue();
      } catch (err) {
        if (err instanceof QueueClosedError) return;
        throw err;
      }
      yield v;
    }
  }

  get [Symbol.toStringTag](): string {
    return 'SharedQueue';
  }

  /** true when queued, false when there is no room for n more items now. */
  #put(bytes: Uint8Array, lens: Uint32Array, n: number, what: string): boolean {
    for (;;) {
      const r = native.squeueEnqueue(this.#i32, bytes, lens, n);
      if (r === 0) return true;
      if (r > 0) {
        growRegion(this.handle, r, what);
        continue;
      }
      if (r === -1) return false;
      if (r === -2) throw fullError(what, maxBytesOf(this.handle));
      if (r === -3) throw tooLargeError(what, maxBytesOf(this.handle));
      throw new QueueClosedError(what);
    }
  }

  #take(): unknown {
    const out = readScratch();
    const r = native.squeueDequeue(this.#i32, out);
    if (r === -1) return kNone;
    if (typeof r === 'number') return decodeValue(out, 0, r);
    noteLargeValue(r.length);
    return decodeValue(r, 0, r.length);
  }

  /** ring.h SLEEPING on the queue's words (consumers: notEmpty; producers: room). */
  async #waitLoop(consumer: boolean, attempt: () => unknown, signal: AbortSignal | undefined, timeout: number): Promise<unknown> {
    const i32 = this.#i32;
    const waiters = consumer ? queueLayout.notEmptyWaiters : queueLayout.roomWaiters;
    const seqIndex = consumer ? queueLayout.notEmptySeq : queueLayout.roomSeq;
    const what = consumer ? 'SharedQueue.dequeue' : 'SharedQueue.enqueueAsync';
    const deadline = timeout === Infinity ? Infinity : performance.now() + timeout;
    if (signal?.aborted) throw new AbortError(signal.reason);
    for (;;) {
      let r = attempt();
      if (r !== kNone) return r;
      // A short spin first: the other side is usually mid-operation, and a wake-up through
      // the event loop costs tens of microseconds.
      for (let spin = 0; spin < kSpins; spin++) {
        r = attempt();
        if (r !== kNone) return r;
      }
      if (consumer && this.closed) throw new QueueClosedError(what);
      if (signal?.aborted) throw new AbortError(signal.reason);
      let outcome: 'ok' | 'not-equal' | 'timed-out' | 'aborted';
      Atomics.add(i32, waiters, 1);
      try {
        const seq = Atomics.load(i32, seqIndex);
        r = attempt();
        if (r !== kNone) return r;
        if (this.closed) {
          if (consumer) throw new QueueClosedError(what);
          r = attempt(); // throws QueueClosedError
        }
        const left = deadline - performance.now();
        if (left <= 0) throw new TimeoutError(timeout, what);
        outcome = await waitAsyncCancellable(i32, seqIndex, seq, left, signal);
      } finally {
        Atomics.sub(i32, waiters, 1);
      }
      if (outcome === 'aborted') throw new AbortError(signal?.reason);
      if (outcome === 'timed-out') {
        r = attempt();
        if (r !== kNone) return r;
        throw new TimeoutError(timeout, what);
      }
    }
  }
}

registerReviver('SharedQueue', (plain) => SharedQueue.from(plain.handle as SharedArrayBuffer));
