/**
 * SharedQueue: a bounded multi-producer multi-consumer FIFO of values (anything ringpool's
 * codec encodes) in a growable SharedArrayBuffer, usable from every thread at once. The core
 * (src/squeue.c) is a lock-free ring of slots with an exact item budget; a record of up to
 * 56 bytes lives in its slot, a longer one in a block arena. This class encodes values, turns
 * outcomes into values and errors, and waits without blocking the event loop (squeue.h
 * SLEEPING on the queue's words, through ringpool's waitAsync). close() ends every
 * consumer's wait and iteration.
 *
 * Fast path: single items whose encoding fits in a slot are enqueued and dequeued here, with
 * Atomics on a fixed-length view of the ring (squeue.h "JS FAST PATH": the same protocol and
 * words as the C core, which handles everything else and interoperates with it). A fixed-
 * length view, unlike the length-tracking one the native calls take, keeps V8's fast element
 * access; the ring never moves or shrinks, so the view stays valid while the buffer grows.
 */
import { TimeoutError, AbortError, RingpoolTypeError } from '../errors';
import { QueueFullError } from '../pool/errors';
import { registerReviver } from '../pool/revive';
import { assertInt, assertOptionsObject, assertSignal, describe, normaliseTimeout } from '../validate';
import { waitAsyncCancellable } from '../wait';
import { QueueClosedError, fullError, tooLargeError } from './errors';
import { native, queueLayout } from './native-shared';
import { assertRegion, createRegion, growRegion, kDefaults, maxBytesOf, readRegionOptions, type RegionOptions } from './region';
import { assertNoTx } from './transaction';
import { decodeValue, encodeValue, encodeValues, noteLargeValue, readScratch } from './values';

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
/** #napAttempt: no nap was taken (blocking waits are not allowed in this thread). */
const kNoNap = Symbol('no nap');
const kOne = new Uint32Array(1);
/**
 * Polling before a waiter registers and sleeps: at most kSpinMs (about what waking a
 * sleeping thread costs), attempts spaced by gaps that double from kPollGapMs. Only while
 * that side of the queue is busy: a wait that slept is followed by polling only if what it
 * waited for came within kHotMs.
 */
const kSpinMs = 0.02;
const kHotMs = 0.1;
/** First and longest gap between two polling attempts (the gap doubles after each miss). */
const kPollGapMs = 0.0002;
const kPollGapMaxMs = 0.004;
/**
 * A polling side resumes when a run of kBatch items (places) is ready, or, failing that, at
 * the first one after kBatchWaitMs. Taking each item the moment it appears keeps the two
 * threads working on the same slot and counter lines, and every hand-over of a line between
 * cores costs more than the whole operation (hundreds of ns on some hosts); a run lets each
 * side go on through lines the other is done with.
 */
const kBatch = 32;
const kBatchWaitMs = 0.004;
/**
 * A side that has been streaming (kBatch or more items taken / added since its last wait)
 * and meets an empty (full) queue of at least kNapMinCapacity places naps first: one
 * Atomics.wait with a kNapMs timeout on a cell nobody notifies, which blocks this thread
 * without running it (the kernel's timer slack makes it about 0.1 ms), then one attempt.
 * Polling, even at spaced attempts, keeps the core busy, and on hosts whose cores share
 * execution units (SMT siblings, or vCPUs the hypervisor schedules together) that slows
 * the very thread being waited for; in a nap that thread runs alone, and the sides then
 * trade runs of hundreds of items instead of single ones. A smaller queue could not hold
 * what the other side does in a nap, so it polls as before.
 */
const kNapMs = 0.05;
const kNapMinCapacity = 1024;
/** The cell naps wait on (never notified), or null where Atomics.wait may not block (then naps are off). */
let napCell: Int32Array | null = new Int32Array(new SharedArrayBuffer(4));

/** Blocks this thread for about ms (see kNapMs); false where blocking waits are not allowed. */
function nap(ms: number): boolean {
  if (napCell === null) return false;
  try {
    Atomics.wait(napCell, 0, 0, ms);
    return true;
  } catch {
    napCell = null; // this thread may not block (Atomics.wait throws there)
    return false;
  }
}

/**
 * One side of a queue object, its consumers or its producers: the words it sleeps on, and
 * what it remembers between waits to choose how it waits next (#waitLoop).
 */
class Side {
  /** Poll before sleeping: the last wake-up came soon (kHotMs). */
  poll = true;
  /** Items taken (added) since this side's last wait began. */
  run = 0;
  /** The last wait was answered by a nap. */
  napAnswered = false;

  constructor(
    readonly consumer: boolean,
    readonly waiters: number,
    readonly seq: number,
    readonly what: string,
  ) {}
}

// Int32 indices of the queue's words (squeue.h LAYOUT), read once.
const kReserved = queueLayout.reserved;
const kReleased = queueLayout.released;
const kTail = queueLayout.tail;
const kHead = queueLayout.head;
const kClosed = queueLayout.closed;
const kNeSeq = queueLayout.notEmptySeq;
const kNeWaiters = queueLayout.notEmptyWaiters;
const kRoomSeq = queueLayout.roomSeq;
const kRoomWaiters = queueLayout.roomWaiters;
const kSlots = queueLayout.slots;
const kHeadInts = queueLayout.slotHead >> 2;
const kInfoRef = queueLayout.infoRef | 0;

// Outcomes of #putFast.
const kQueued = 0;
const kFull = 1;
const kSlow = 2;

/**
 * Int32 views of the encoder's buffer and of the read scratch (both start at offset 0 of
 * their own ArrayBuffer), remade when values.ts replaces those buffers. Whole-word copies
 * between them and the slots move a record in at most 14 steps.
 */
let encBuffer: ArrayBufferLike | null = null;
let enc32: Int32Array<ArrayBufferLike> = new Int32Array(0);
let scratchBytes: Uint8Array | null = null;
let scratch32: Int32Array<ArrayBufferLike> = new Int32Array(0);

/**
 * The last record view #putFast checked and its answer: the encoder hands out the same view
 * for records of one length, and reading `.buffer` costs a call into the runtime.
 */
let srcBytes: Uint8Array | null = null;
let srcWords: Int32Array<ArrayBufferLike> | null = null;

/**
 * bytes as whole words, or null when the fast path cannot copy them: bytes must start at
 * offset 0 of a buffer that extends to the next multiple of 4 after them.
 */
function wordsOf(bytes: Uint8Array): Int32Array<ArrayBufferLike> | null {
  if (bytes === srcBytes) return srcWords;
  const len = bytes.length;
  const b = bytes.buffer;
  let words: Int32Array<ArrayBufferLike> | null = null;
  if (bytes.byteOffset === 0 && b.byteLength >= ((len + 3) & ~3)) {
    if (b !== encBuffer) {
      encBuffer = b;
      enc32 = new Int32Array(b, 0, b.byteLength >> 2);
    }
    words = enc32;
  }
  srcBytes = bytes;
  srcWords = words;
  return words;
}

function scratchWords(out: Uint8Array): Int32Array {
  if (out !== scratchBytes) {
    scratchBytes = out;
    scratch32 = new Int32Array(out.buffer, out.byteOffset, out.byteLength >> 2);
  }
  return scratch32;
}

function corruptQueue(what: string): never {
  throw new RingpoolTypeError('ERR_RINGPOOL_BAD_LAYOUT', `${what}: the queue's memory is corrupt`);
}

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
  /** Length-tracking view over the whole region (native calls, waits, notifies). */
  readonly #i32: Int32Array;
  /** Fixed-length view over the header and the ring (the fast path). */
  #w!: Int32Array;
  readonly #capacity: number;
  /** The last value of the queue's released counter this object read (it only grows). */
  #released = 0;
  #ringCap = 0;
  #mask = 0;
  #slotInts = 0;
  /** Longest record kept in a slot; 0 when the slots are narrow (no fast path). */
  #inlineMax = 0;
  /** The run of items or places a polling side waits for (#waitLoop): kBatch, at most a quarter of the capacity. */
  #batch = 1;
  /** dequeue() and enqueueAsync() in this thread: how they wait (#waitLoop). */
  readonly #takers = new Side(true, kNeWaiters, kNeSeq, 'SharedQueue.dequeue');
  readonly #putters = new Side(false, kRoomWaiters, kRoomSeq, 'SharedQueue.enqueueAsync');

  /**
   * @throws RingpoolTypeError ERR_RINGPOOL_INVALID_ARG_TYPE, RingpoolRangeError ERR_RINGPOOL_OUT_OF_RANGE
   */
  constructor(options: SharedQueueOptions) {
    assertOptionsObject(options, 'SharedQueue: options');
    if (kAttach in options) {
      this.handle = (options as unknown as Attach)[kAttach];
      this.#i32 = new Int32Array(this.handle);
      this.#capacity = this.#attachRing();
      return;
    }
    const { capacity } = options;
    assertInt(capacity, 'SharedQueue: options.capacity', 1, queueLayout.maxCapacity);
    // The slot size (and so the header) depends on maxBytes; a bad maxBytes is reported by
    // readRegionOptions, so size the header with the default meanwhile.
    const mb = (options as { maxBytes?: unknown }).maxBytes;
    const forSlots = Number.isSafeInteger(mb) && (mb as number) > 0 && (mb as number) <= queueLayout.maxBytes ? (mb as number) : kDefaults.maxBytes;
    const minBytes = native.squeueHeaderBytes(capacity, forSlots) + 1024;
    const { maxBytes, initialBytes } = readRegionOptions(options as unknown as Record<string, unknown>, 'SharedQueue', queueLayout.maxBytes, minBytes);
    this.handle = createRegion(initialBytes, maxBytes);
    this.#i32 = new Int32Array(this.handle);
    native.squeueInit(this.#i32, capacity, maxBytes);
    this.#capacity = this.#attachRing();
  }

  /** Reads the geometry, makes the fast path's view; returns the capacity. */
  #attachRing(): number {
    const [capacity, , , ringCap, slotBytes, arenaOff] = native.squeueCheck(this.#i32);
    this.#w = new Int32Array(this.handle, 0, arenaOff >> 2);
    this.#ringCap = ringCap;
    this.#mask = ringCap - 1;
    this.#slotInts = slotBytes >> 2;
    this.#inlineMax = slotBytes - queueLayout.slotHead;
    this.#batch = Math.max(1, Math.min(kBatch, capacity >> 2));
    return capacity;
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

  /**
   * Places in use: items queued, plus any being added or taken at this moment (squeue.h
   * INVARIANTS, count). So `capacity - size` never overstates the room a lone producer has:
   * enqueueMany of that many items succeeds.
   */
  get size(): number {
    const w = this.#w;
    // released first: every release it counts belongs to a reservation the later load of
    // reserved counts too, so the difference is not negative.
    const rel = Atomics.load(w, kReleased);
    const n = (Atomics.load(w, kReserved) - rel) | 0;
    return n < 0 ? 0 : n > this.#capacity ? this.#capacity : n;
  }

  get isEmpty(): boolean {
    return this.size === 0;
  }

  get closed(): boolean {
    return Atomics.load(this.#w, kClosed) !== 0;
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
    const r = this.#putFast(bytes);
    if (r === kQueued) return;
    kOne[0] = bytes.length;
    if (r === kFull || !this.#put(bytes, kOne, 1, 'SharedQueue.enqueue')) throw new QueueFullError(this.#capacity);
  }

  /** Like enqueue, but returns false instead of throwing when the queue is full. */
  tryEnqueue(x: T): boolean {
    assertNoTx('SharedQueue.tryEnqueue');
    const bytes = encodeValue(x, 'SharedQueue.tryEnqueue');
    const r = this.#putFast(bytes);
    if (r !== kSlow) return r === kQueued;
    kOne[0] = bytes.length;
    return this.#put(bytes, kOne, 1, 'SharedQueue.tryEnqueue');
  }

  /** Appends all of xs, or none of them (QueueFullError when they do not all fit now). */
  enqueueMany(xs: Iterable<T>): void {
    assertNoTx('SharedQueue.enqueueMany');
    if (xs === null || typeof (xs as { [Symbol.iterator]?: unknown })?.[Symbol.iterator] !== 'function') {
      throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `SharedQueue.enqueueMany: expected an iterable, got ${describe(xs)}`);
    }
    const { bytes, lens, count } = encodeValues(xs, 'SharedQueue.enqueueMany');
    if (count === 0) return;
    if (!this.#put(bytes, lens, count, 'SharedQueue.enqueueMany')) throw new QueueFullError(this.#capacity);
  }

  /** Resolves once x is queued, waiting for room without blocking the thread. */
  async enqueueAsync(x: T, options?: QueueWaitOptions): Promise<void> {
    assertNoTx('SharedQueue.enqueueAsync');
    // A private copy (the encoder's bytes change with the next encode) whose buffer is
    // padded to whole words, as the fast path copies words.
    const enc = encodeValue(x, 'SharedQueue.enqueueAsync');
    const bytes = new Uint8Array(new ArrayBuffer((enc.length + 3) & ~3), 0, enc.length);
    bytes.set(enc);
    const lens = new Uint32Array([bytes.length]);
    const { signal, timeout } = readWaitOptions(options, 'SharedQueue.enqueueAsync');
    const attempt = (): unknown => {
      const r = this.#putFast(bytes);
      if (r !== kSlow) return r === kQueued ? true : kNone;
      return this.#put(bytes, lens, 1, 'SharedQueue.enqueueAsync') ? true : kNone;
    };
    await this.#waitLoop(this.#putters, attempt, signal, timeout);
  }

  /** Removes and returns the oldest item, or undefined when the queue is empty. */
  tryDequeue(): T | undefined {
    assertNoTx('SharedQueue.tryDequeue');
    const v = this.#inlineMax > 0 ? this.#takeFast() : this.#take();
    return v === kNone ? undefined : (v as T);
  }

  /**
   * Resolves with the oldest item as soon as there is one. Rejects with QueueClosedError when
   * the queue is closed and empty, AbortError, or TimeoutError.
   */
  async dequeue(options?: QueueWaitOptions): Promise<T> {
    assertNoTx('SharedQueue.dequeue');
    const { signal, timeout } = readWaitOptions(options, 'SharedQueue.dequeue');
    const attempt = this.#inlineMax > 0 ? () => this.#takeFast() : () => this.#take();
    return (await this.#waitLoop(this.#takers, attempt, signal, timeout)) as T;
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
      this.#takers.run += typeof r === 'number' ? count : count + 1;
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

  /**
   * One record by the fast path (squeue.h "JS FAST PATH", push side): kQueued, kFull, or
   * kSlow when the native path must do it (too long for a slot, closed: it reports that).
   */
  #putFast(bytes: Uint8Array): number {
    const len = bytes.length;
    const w = this.#w;
    if (len > this.#inlineMax) return kSlow;
    const src = wordsOf(bytes);
    if (src === null) return kSlow;
    // A plain read: close() happens-before an enqueue that must see it only through some
    // synchronising operation (an Atomics access, a message), which orders this read too;
    // an enqueue racing with close() may go either way. Seen closed: the native path reports it.
    if (w[kClosed] !== 0) return kSlow;
    // Reserve a place: count = reserved - released may not pass capacity (squeue.h
    // INVARIANTS). released only grows, so the cached value can only make the count look
    // too high; "full" is decided on fresh loads (reserved, then released).
    const cap = this.#capacity;
    let r = w[kReserved]!; // a guess (plain read); the CAS decides
    let rel = this.#released;
    for (;;) {
      const c = (r - rel) | 0;
      if (c < 0 || c >= cap) {
        const nr = Atomics.load(w, kReserved);
        const nrel = Atomics.load(w, kReleased);
        this.#released = nrel;
        if (nr === r && nrel === rel && c >= cap) return kFull; // fresh and full (SLEEPING)
        r = nr;
        rel = nrel;
        continue;
      }
      const seen = Atomics.compareExchange(w, kReserved, r, (r + 1) | 0);
      if (seen === r) break;
      r = seen;
    }
    // Claim a position: A1 (seq == 2 pos) then C1 (CAS tail).
    const mask = this.#mask;
    const slotInts = this.#slotInts;
    let pos = w[kTail]!; // a guess (plain read); A1 and the CAS decide
    let si = 0;
    for (;;) {
      si = kSlots + (pos & mask) * slotInts;
      const dif = (Atomics.load(w, si) - 2 * pos) | 0;
      if (dif === 0) {
        const seen = Atomics.compareExchange(w, kTail, pos, (pos + 1) | 0);
        if (seen === pos) break;
        pos = seen;
      } else {
        // < 0: the previous lap's consumer still holds the slot (it is between its claim and
        // its release, a few instructions); > 0: another producer claimed pos.
        const now = Atomics.load(w, kTail);
        if (dif > 0 && now === pos) corruptQueue('SharedQueue.enqueue');
        pos = now;
      }
    }
    // The slot is ours until the publishing store. No loop and no call into JS until then
    // (see squeue.h): info, then the record's words.
    w[si + 1] = len;
    const n = (len + 3) >> 2;
    const d = si + kHeadInts;
    if (n > 0) w[d] = src[0]!;
    if (n > 1) w[d + 1] = src[1]!;
    if (n > 2) w[d + 2] = src[2]!;
    if (n > 3) w[d + 3] = src[3]!;
    if (n > 4) w[d + 4] = src[4]!;
    if (n > 5) w[d + 5] = src[5]!;
    if (n > 6) w[d + 6] = src[6]!;
    if (n > 7) w[d + 7] = src[7]!;
    if (n > 8) w[d + 8] = src[8]!;
    if (n > 9) w[d + 9] = src[9]!;
    if (n > 10) w[d + 10] = src[10]!;
    if (n > 11) w[d + 11] = src[11]!;
    if (n > 12) w[d + 12] = src[12]!;
    if (n > 13) w[d + 13] = src[13]!;
    // R1: publish (seq_cst, which is also the fence F_p before the waiter check).
    Atomics.store(w, si, (2 * pos + 1) | 0);
    if (Atomics.load(w, kNeWaiters) !== 0) {
      Atomics.add(w, kNeSeq, 1);
      native.notify(this.#i32, kNeSeq, 1);
    }
    this.#putters.run++;
    return kQueued;
  }

  /**
   * The oldest item by the fast path (squeue.h "JS FAST PATH", pop side), or kNone when the
   * queue is empty. A record kept in a block is finished by the C core.
   */
  #takeFast(): unknown {
    const w = this.#w;
    const out = readScratch();
    const dst = scratchWords(out);
    const mask = this.#mask;
    const slotInts = this.#slotInts;
    // Claim: A2 (seq == 2 pos + 1) then C2 (CAS head). Every load is seq_cst, so an "empty"
    // answer has the fence F_c of the sleeping protocol built in.
    let pos = w[kHead]!; // a guess (plain read); A2 and the CAS decide
    let si = 0;
    for (;;) {
      si = kSlots + (pos & mask) * slotInts;
      const dif = (Atomics.load(w, si) - 2 * pos - 1) | 0;
      if (dif === 0) {
        const seen = Atomics.compareExchange(w, kHead, pos, (pos + 1) | 0);
        if (seen === pos) break;
        pos = seen;
      } else if (dif < 0) {
        return kNone;
      } else {
        const now = Atomics.load(w, kHead); // another consumer took pos
        if (now === pos) corruptQueue('SharedQueue.dequeue');
        pos = now;
      }
    }
    this.#takers.run++;
    // The slot is ours until the releasing store. No loop and no call into JS until then.
    const len = w[si + 1]!;
    if ((len & kInfoRef) !== 0 || len > this.#inlineMax) {
      // In a block (or corrupt): the C core copies it out and releases slot and place.
      const r = native.squeueFinish(this.#i32, pos >>> 0, out);
      if (typeof r === 'number') return decodeValue(out, 0, r);
      noteLargeValue(r.length);
      return decodeValue(r, 0, r.length);
    }
    const n = (len + 3) >> 2;
    const s = si + kHeadInts;
    if (n > 0) dst[0] = w[s]!;
    if (n > 1) dst[1] = w[s + 1]!;
    if (n > 2) dst[2] = w[s + 2]!;
    if (n > 3) dst[3] = w[s + 3]!;
    if (n > 4) dst[4] = w[s + 4]!;
    if (n > 5) dst[5] = w[s + 5]!;
    if (n > 6) dst[6] = w[s + 6]!;
    if (n > 7) dst[7] = w[s + 7]!;
    if (n > 8) dst[8] = w[s + 8]!;
    if (n > 9) dst[9] = w[s + 9]!;
    if (n > 10) dst[10] = w[s + 10]!;
    if (n > 11) dst[11] = w[s + 11]!;
    if (n > 12) dst[12] = w[s + 12]!;
    if (n > 13) dst[13] = w[s + 13]!;
    // R2: the slot is free for the next lap (seq_cst: also the fence of the chain rule).
    Atomics.store(w, si, (2 * (pos + this.#ringCap)) | 0);
    if (Atomics.load(w, kNeWaiters) !== 0) {
      // Chain rule: a consumer may sleep although the next position is ready.
      const h = Atomics.load(w, kHead);
      if (Atomics.load(w, kSlots + (h & mask) * slotInts) === ((2 * h + 1) | 0)) {
        Atomics.add(w, kNeSeq, 1);
        native.notify(this.#i32, kNeSeq, 1);
      }
    }
    // Give the place back; wake producers waiting for room.
    Atomics.add(w, kReleased, 1);
    if (Atomics.load(w, kRoomWaiters) !== 0) {
      Atomics.add(w, kRoomSeq, 1);
      native.notify(this.#i32, kRoomSeq, Infinity);
    }
    return decodeValue(out, 0, len);
  }

  /**
   * One nap, then one attempt, remembering whether the nap was answered (#streaming):
   * the attempt's result, or kNoNap where this thread may not block.
   */
  #napAttempt(side: Side, attempt: () => unknown): unknown {
    if (!nap(kNapMs)) return kNoNap;
    const r = attempt();
    side.napAnswered = r !== kNone;
    return r;
  }

  /** Whether this side of the queue (in this object) streams: see kNapMs. */
  #streaming(side: Side): boolean {
    return this.#capacity >= kNapMinCapacity && (side.run >= kBatch || side.napAnswered);
  }

  /**
   * Whether the record at position head + k - 1 is published (with one producer, so are the
   * ones before it; with several, a guess, which is all #waitLoop needs).
   */
  #itemsReady(k: number): boolean {
    const w = this.#w;
    const p = (Atomics.load(w, kHead) + k - 1) | 0;
    return Atomics.load(w, kSlots + (p & this.#mask) * this.#slotInts) === ((2 * p + 1) | 0);
  }

  /** Whether k more items fit now (fresh loads; refreshes the cached released counter). */
  #placesFree(k: number): boolean {
    const w = this.#w;
    const r = Atomics.load(w, kReserved);
    const rel = Atomics.load(w, kReleased);
    this.#released = rel;
    return this.#capacity - ((r - rel) | 0) >= k;
  }

  /** true when queued, false when there is no room for n more items now. */
  #put(bytes: Uint8Array, lens: Uint32Array, n: number, what: string): boolean {
    for (;;) {
      const r = native.squeueEnqueue(this.#i32, bytes, lens, n); // the C core: any size, many at once
      if (r === 0) {
        this.#putters.run += n;
        return true;
      }
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
    this.#takers.run++;
    if (typeof r === 'number') return decodeValue(out, 0, r);
    noteLargeValue(r.length);
    return decodeValue(r, 0, r.length);
  }

  /** ring.h SLEEPING on the queue's words (consumers: notEmpty; producers: room). */
  async #waitLoop(side: Side, attempt: () => unknown, signal: AbortSignal | undefined, timeout: number): Promise<unknown> {
    const i32 = this.#i32;
    const { consumer, waiters, seq: seqIndex, what } = side;
    const deadline = timeout === Infinity ? Infinity : performance.now() + timeout;
    if (signal?.aborted) throw new AbortError(signal.reason);
    // A streaming producer that finds the queue (nearly) full naps before it adds: adding
    // each place the consumer frees as it appears would keep both on the same lines.
    const preNapped = !consumer && this.#streaming(side) && !this.#placesFree(this.#batch);
    if (preNapped) {
      side.run = 0;
      const r = this.#napAttempt(side, attempt);
      if (r !== kNone && r !== kNoNap) return r;
    }
    let r = attempt();
    if (r !== kNone) return r;
    // A wait starts: the run of this side ends here. A side that streams (a run since its
    // last wait, or a nap answered that wait) naps once (see kNapMs) and is busy, whatever
    // its last sleep said.
    const streaming = this.#streaming(side);
    side.run = 0;
    let napped = preNapped || !streaming; // true once this call has napped, or need not
    for (;;) {
      const hot = streaming || side.poll;
      let napMissed = false;
      if (!napped) {
        napped = true;
        r = this.#napAttempt(side, attempt);
        if (r !== kNone && r !== kNoNap) return r;
        // Nothing after a nap means the other side has stopped: no polling then, sleep.
        napMissed = r === kNone;
      }
      // Poll briefly while the other side is busy (it is usually mid-operation): a wake-up
      // through the event loop costs 15-30 µs on both sides. Bounded by kSpinMs, so the
      // event loop stays responsive; skipped when the queue has been idle.
      if (hot && !napMissed) {
        // Attempts at growing gaps, waiting in between on the clock alone: every attempt
        // reads lines the other side writes (the slot at head, or the released counter),
        // and back-to-back attempts would make that side miss on each of its own writes.
        let now = performance.now();
        const until = now + kSpinMs;
        const anyFrom = now + kBatchWaitMs;
        const batch = this.#batch;
        let gap = kPollGapMs;
        while (now < until) {
          const next = now + gap;
          do now = performance.now();
          while (now < next);
          if (now >= anyFrom || (consumer ? this.#itemsReady(batch) : this.#placesFree(batch))) {
            r = attempt();
            if (r !== kNone) return r;
          }
          if (gap < kPollGapMaxMs) gap *= 2;
        }
      }
      if (consumer && this.closed) throw new QueueClosedError(what);
      if (signal?.aborted) throw new AbortError(signal.reason);
      let outcome: 'ok' | 'not-equal' | 'timed-out' | 'aborted';
      Atomics.add(i32, waiters, 1);
      // A wake-up by notify takes this registration off the count on the notifying thread
      // (waitAsync's countIndex): from then on other threads' operations stop notifying on
      // our behalf, instead of once per item until this thread's event loop runs us.
      let registered = true;
      let slept = 0;
      try {
        const seq = Atomics.load(i32, seqIndex);
        r = attempt();
        if (r !== kNone) return r;
        if (this.closed) {
          if (consumer) throw new QueueClosedError(what);
          r = attempt(); // throws QueueClosedError
        }
        slept = performance.now();
        const left = deadline - slept;
        if (left <= 0) throw new TimeoutError(timeout, what);
        outcome = await waitAsyncCancellable(i32, seqIndex, seq, left, signal, waiters);
        if (outcome === 'ok') registered = false;
      } finally {
        if (registered) Atomics.sub(i32, waiters, 1);
      }
      if (outcome === 'aborted') throw new AbortError(signal?.reason);
      // Busy when the wake-up came soon: then the next wait polls first.
      side.poll = outcome !== 'timed-out' && performance.now() - slept < kHotMs;
      r = attempt();
      if (r !== kNone) return r;
      if (outcome === 'timed-out') throw new TimeoutError(timeout, what);
    }
  }
}

registerReviver('SharedQueue', (plain) => SharedQueue.from(plain.handle as SharedArrayBuffer));
