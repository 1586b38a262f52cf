/**
 * Channel: a one-direction stream of byte records through a SharedArrayBuffer. Any number
 * of threads may send; one thread reads. Records keep their boundaries and arrive in the
 * order their senders reserved space (per sender: in send order). The native core
 * (src/channel.h) holds the algorithm; this class validates, encodes strings and runs the
 * asynchronous reader loop.
 */
import { AbortError, RingpoolRangeError, RingpoolTypeError, TimeoutError } from './errors';
import { native } from './native';
import { assertOptionsObject, assertSharedBuffer, assertSignal, describe, normaliseTimeout } from './validate';
import { waitAsyncCancellable } from './wait';

export interface ChannelOptions {
  /**
   * Data capacity in bytes: an integer from 1 to 2^30, rounded up to a power of two of at
   * least 64 (the ring needs a power of two). The buffer is this plus a 512-byte header.
   * Records up to `capacity / 2 - 8` bytes fit (see {@link Channel.maxRecordBytes}).
   * Default 65536.
   */
  readonly bytes?: number;
}

export interface ChannelReceiveAsyncOptions {
  /** Aborting rejects the pending receive with an AbortError whose `cause` is `signal.reason`. */
  readonly signal?: AbortSignal;
  /** Milliseconds; rejects with a TimeoutError when no record arrived in time. Default: no limit. */
  readonly timeout?: number;
}

const kDefaults = Object.freeze({ bytes: 65536 });
const kMinBytes = 64;
const kMaxBytes = 2 ** 30;
/** Smallest string scratch buffer; grows in powers of two up to maxRecordBytes. */
const kMinScratch = 256;
const kLayout = native.channelLayout();
const kEncoder = new TextEncoder();
const kDecoder = new TextDecoder();
const kNoBytes = new Uint8Array(0);

/** Set by Channel.from for exactly the one constructor call it makes (see the constructor). */
let adopting: { readonly i32: Int32Array; readonly capacity: number } | undefined;

function resolveBytes(options: unknown): number {
  if (options === undefined) return kDefaults.bytes;
  assertOptionsObject(options);
  const bytes = options.bytes ?? kDefaults.bytes;
  if (typeof bytes !== 'number') {
    throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `options.bytes must be a number, got ${describe(bytes)}`);
  }
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > kMaxBytes) {
    throw new RingpoolRangeError('ERR_RINGPOOL_OUT_OF_RANGE', `options.bytes must be an integer from 1 to ${kMaxBytes}, got ${bytes}`);
  }
  let capacity = kMinBytes;
  while (capacity < bytes) capacity *= 2;
  return capacity;
}

function tooLarge(bytes: number, max: number): RingpoolRangeError {
  return new RingpoolRangeError('ERR_RINGPOOL_TOO_LARGE', `record of ${bytes} bytes can never fit this channel (maxRecordBytes is ${max})`);
}

function errorCode(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
}

function nextScratchSize(need: number, max: number): number {
  let size = kMinScratch;
  while (size < need) size *= 2;
  return Math.min(size, max);
}

export class Channel {
  /** Int32 view over the whole buffer; every native call takes it. */
  readonly #i32: Int32Array;
  /** Data capacity in bytes: a power of two in [64, 2^30]. */
  readonly #capacity: number;
  /** capacity / 2 - 8: larger records can never fit. */
  readonly #maxRecord: number;
  /** UTF-8 encoding target for send(string); never longer than #maxRecord. */
  #encodeScratch: Uint8Array = kNoBytes;
  /** Decoding source for receiveString(); grows to the largest record read so far. */
  #decodeScratch: Uint8Array = kNoBytes;

  /**
   * Creates a channel in a new SharedArrayBuffer. Pass {@link Channel.buffer} to other threads
   * (postMessage, workerData) and attach there with {@link Channel.from}.
   * @throws RingpoolTypeError ERR_RINGPOOL_INVALID_ARG_TYPE for a non-object / non-number option.
   * @throws RingpoolRangeError ERR_RINGPOOL_OUT_OF_RANGE when `bytes` is not an integer in [1, 2^30].
   */
  constructor(options?: ChannelOptions) {
    const adopt = adopting;
    adopting = undefined;
    if (adopt !== undefined) {
      this.#i32 = adopt.i32;
      this.#capacity = adopt.capacity;
    } else {
      const capacity = resolveBytes(options);
      const i32 = new Int32Array(new SharedArrayBuffer(native.channelBytes(capacity)));
      native.channelInit(i32, capacity);
      this.#i32 = i32;
      this.#capacity = capacity;
    }
    this.#maxRecord = native.channelMaxRecord(this.#i32);
  }

  /**
   * Attaches to a channel created elsewhere (usually on another thread) from its buffer.
   * @throws RingpoolTypeError ERR_RINGPOOL_NOT_SHARED when `buffer` is not a SharedArrayBuffer.
   * @throws RingpoolTypeError ERR_RINGPOOL_BAD_LAYOUT when it does not hold a channel.
   */
  static from(buffer: SharedArrayBuffer): Channel {
    assertSharedBuffer(buffer);
    const badLayout = (): RingpoolTypeError =>
      new RingpoolTypeError('ERR_RINGPOOL_BAD_LAYOUT', `buffer does not hold a ringpool Channel (bad magic, version or size; ${buffer.byteLength} bytes)`);
    if (buffer.byteLength < kLayout.headerBytes) throw badLayout();
    const i32 = new Int32Array(buffer, 0, Math.floor(buffer.byteLength / 4));
    let capacity: number;
    try {
      capacity = native.channelCheck(i32);
    } catch (err) {
      if (errorCode(err) === 'ERR_RINGPOOL_BAD_LAYOUT') throw badLayout();
      throw err;
    }
    adopting = { i32, capacity };
    try {
      return new Channel();
    } finally {
      adopting = undefined;
    }
  }

  /** The SharedArrayBuffer holding the channel; hand it to other threads. */
  get buffer(): SharedArrayBuffer {
    return this.#i32.buffer as SharedArrayBuffer;
  }

  /** Data capacity in bytes (a power of two). */
  get capacity(): number {
    return this.#capacity;
  }

  /** Largest record, in bytes, that send() accepts: capacity / 2 - 8. */
  get maxRecordBytes(): number {
    return this.#maxRecord;
  }

  /**
   * Appends one record: the bytes of `data`, or a string as UTF-8. Returns false, changing
   * nothing, when there is no room right now (the reader has not caught up); retry later.
   * Strings are encoded into a reused scratch buffer: no buffer is allocated per send.
   * @throws RingpoolTypeError ERR_RINGPOOL_INVALID_ARG_TYPE unless `data` is a Uint8Array or a string.
   * @throws RingpoolRangeError ERR_RINGPOOL_TOO_LARGE when the record exceeds maxRecordBytes.
   */
  send(data: Uint8Array | string): boolean {
    if (typeof data === 'string') return this.#sendString(data);
    if (!(data instanceof Uint8Array)) {
      throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `data must be a Uint8Array or a string, got ${describe(data)}`);
    }
    if (data.byteLength > this.#maxRecord) throw tooLarge(data.byteLength, this.#maxRecord);
    return native.channelSend(this.#i32, data);
  }

  #sendString(s: string): boolean {
    const max = this.#maxRecord;
    // UTF-8 takes 1 to 3 bytes per UTF-16 code unit.
    if (s.length > max) throw tooLarge(s.length, max);
    const worst = s.length * 3;
    let scratch = this.#encodeScratch;
    if (scratch.length < worst && scratch.length < max) {
      scratch = this.#encodeScratch = new Uint8Array(nextScratchSize(worst, max));
    }
    // The scratch holds min(worst, max) bytes or more (never more than max), so a partial
    // encode means the UTF-8 form is longer than max.
    const { read, written } = kEncoder.encodeInto(s, scratch);
    if (read < s.length) throw tooLarge(Buffer.byteLength(s, 'utf8'), max);
    return native.channelSend(this.#i32, scratch.subarray(0, written));
  }

  /** Removes and returns the next record as a new Uint8Array, or undefined when there is none. */
  receive(): Uint8Array | undefined {
    return native.channelReceive(this.#i32);
  }

  /**
   * Copies the next record into `into` and removes it; returns its byte length, or -1 when
   * there is none. Allocates nothing.
   * @throws RingpoolTypeError ERR_RINGPOOL_INVALID_ARG_TYPE unless `into` is a Uint8Array.
   * @throws RingpoolRangeError ERR_RINGPOOL_TOO_LARGE when the record is longer than `into`;
   *   the record stays in the channel (use peekSize() to size the destination).
   */
  receiveInto(into: Uint8Array): number {
    if (!(into instanceof Uint8Array)) {
      throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `into must be a Uint8Array, got ${describe(into)}`);
    }
    try {
      return native.channelReceiveInto(this.#i32, into);
    } catch (err) {
      if (errorCode(err) === 'ERR_RINGPOOL_TOO_LARGE') {
        throw new RingpoolRangeError('ERR_RINGPOOL_TOO_LARGE', (err as Error).message);
      }
      throw err;
    }
  }

  /** Removes the next record and decodes it as UTF-8; undefined when there is none. */
  receiveString(): string | undefined {
    const size = native.channelPeekSize(this.#i32);
    if (size < 0) return undefined;
    if (this.#decodeScratch.length < size) this.#decodeScratch = new Uint8Array(nextScratchSize(size, this.#maxRecord));
    // This thread is the reader, so the record peeked above is the one received here.
    const n = native.channelReceiveInto(this.#i32, this.#decodeScratch);
    return kDecoder.decode(this.#decodeScratch.subarray(0, n));
  }

  /** Byte length of the next record without removing it, or -1 when there is none. */
  peekSize(): number {
    return native.channelPeekSize(this.#i32);
  }

  /**
   * Blocks the calling thread until a record arrives, then removes and returns it; returns
   * undefined when `timeoutMs` ran out first (undefined or NaN: no limit; negative: 0).
   * For worker threads: on the main thread it blocks the event loop. A worker that is
   * terminated while blocked here leaves with an ERR_RINGPOOL_INTERRUPTED error.
   */
  receiveWait(timeoutMs?: number): Uint8Array | undefined {
    return native.channelReceiveWait(this.#i32, normaliseTimeout(timeoutMs, 'timeoutMs'));
  }

  /**
   * Resolves with the next record, waiting without blocking the event loop.
   * Rejects with AbortError (cause: `signal.reason`) when `signal` aborts, and with
   * TimeoutError when `timeout` ms pass first. Several pending calls on one thread are
   * served in call order; only one thread may read a channel.
   */
  async receiveAsync(options?: ChannelReceiveAsyncOptions): Promise<Uint8Array> {
    let signal: AbortSignal | undefined;
    let timeout = Infinity;
    const opts: unknown = options;
    if (opts !== undefined) {
      assertOptionsObject(opts);
      const s = opts.signal;
      assertSignal(s, 'options.signal');
      signal = s;
      timeout = normaliseTimeout(opts.timeout, 'options.timeout');
    }
    if (signal?.aborted) throw new AbortError(signal.reason);
    const i32 = this.#i32;
    const first = native.channelReceive(i32);
    if (first !== undefined) return first;
    const deadline = performance.now() + timeout;
    // Reader side of SLEEPING in src/channel.h: count ourselves as a waiter, read dataSeq,
    // re-check (the native header load is seq_cst, which stands in for the reader's fence),
    // then wait for dataSeq to move. Writers that publish after our re-check see the count
    // and bump dataSeq + notify.
    for (;;) {
      let outcome: 'ok' | 'not-equal' | 'timed-out' | 'aborted';
      Atomics.add(i32, kLayout.readerWaiters, 1);
      try {
        const seq = Atomics.load(i32, kLayout.dataSeq);
        const record = native.channelReceive(i32);
        if (record !== undefined) return record;
        const left = deadline - performance.now();
        if (left <= 0) throw new TimeoutError(timeout);
        outcome = await waitAsyncCancellable(i32, kLayout.dataSeq, seq, left, signal);
      } finally {
        Atomics.sub(i32, kLayout.readerWaiters, 1);
      }
      if (outcome === 'aborted') throw new AbortError(signal?.reason);
      // 'ok', 'not-equal', 'timed-out': look again; the deadline check above decides.
    }
  }
}
