/**
 * Ring: a bounded, lock-free multi-producer multi-consumer queue of 32-bit unsigned
 * integers that lives in a SharedArrayBuffer, so any number of threads can push and pop
 * the same ring. The queue itself is native (src/ring.c); this class validates arguments,
 * turns outcomes into values and errors, and implements the async waits on top of
 * ringpool's waitAsync, following the sleeping protocol documented in src/ring.h.
 */
import { AbortError, RingpoolRangeError, RingpoolTypeError, TimeoutError } from './errors';
import { native, type RingLayout } from './native';
import {
  assertInt,
  assertOptionsObject,
  assertPowerOfTwo,
  assertSharedBuffer,
  assertSignal,
  normaliseTimeout,
} from './validate';
import { waitAsyncCancellable } from './wait';

/** Options of `new Ring(options)`. */
export interface RingOptions {
  /** Number of values the ring holds: a power of two from 1 to 2^24. */
  readonly capacity: number;
}

/** Options of `popAsync` / `pushAsync`. */
export interface RingWaitOptions {
  /** Aborting rejects the wait with an AbortError whose `cause` is the signal's reason. */
  readonly signal?: AbortSignal;
  /** Milliseconds; undefined or NaN wait forever, negative means 0. Rejects with TimeoutError. */
  readonly timeout?: number;
}

const kMaxCapacity = 2 ** 24;
const kMaxValue = 2 ** 32 - 1;
/** Key of the private constructor argument used by Ring.from; not reachable from outside. */
const kAttach = Symbol('kAttach');

interface Attach {
  readonly [kAttach]: { readonly buffer: SharedArrayBuffer; readonly i32: Int32Array; readonly capacity: number };
}

let layoutCache: RingLayout | undefined;
function layout(): RingLayout {
  layoutCache ??= native.ringLayout();
  return layoutCache;
}

function isAttach(options: object): options is Attach {
  return kAttach in options;
}

function assertValue(value: unknown): asserts value is number {
  assertInt(value, 'value', 0, kMaxValue);
}

function readWaitOptions(options: unknown): { signal: AbortSignal | undefined; timeout: number } {
  if (options === undefined) return { signal: undefined, timeout: Infinity };
  assertOptionsObject(options);
  const { signal, timeout } = options;
  assertSignal(signal, 'options.signal');
  return { signal, timeout: normaliseTimeout(timeout, 'options.timeout') };
}

/** A bounded MPMC queue of uint32 values in shared memory. */
export class Ring {
  /** The whole shared region: header, wait words and slots. */
  readonly #buffer: SharedArrayBuffer;
  /** Int32 view over the whole region; every native call takes it. */
  readonly #i32: Int32Array;
  /** Power of two, fixed at creation (read back from the header by Ring.from). */
  readonly #capacity: number;

  /**
   * Creates a ring in a new SharedArrayBuffer.
   * @throws RingpoolTypeError ERR_RINGPOOL_INVALID_ARG_TYPE when options or capacity have the wrong type
   * @throws RingpoolRangeError ERR_RINGPOOL_OUT_OF_RANGE when capacity is not a power of two in [1, 2^24]
   */
  constructor(options: RingOptions) {
    assertOptionsObject(options);
    if (isAttach(options)) {
      const a = options[kAttach];
      this.#buffer = a.buffer;
      this.#i32 = a.i32;
      this.#capacity = a.capacity;
      return;
    }
    const { capacity } = options;
    assertPowerOfTwo(capacity, 'capacity', 1, kMaxCapacity);
    const bytes = native.ringBytes(capacity);
    this.#buffer = new SharedArrayBuffer(bytes);
    this.#i32 = new Int32Array(this.#buffer);
    native.ringInit(this.#i32, capacity);
    this.#capacity = capacity;
  }

  /**
   * Attaches to a ring created elsewhere (e.g. `ring.buffer` received through workerData or
   * postMessage). Both objects then operate on the same queue.
   * @throws RingpoolTypeError ERR_RINGPOOL_NOT_SHARED when buffer is not a SharedArrayBuffer
   * @throws RingpoolTypeError ERR_RINGPOOL_BAD_LAYOUT when it does not hold a ring
   */
  static from(buffer: SharedArrayBuffer): Ring {
    assertSharedBuffer(buffer);
    const i32 = new Int32Array(buffer, 0, Math.floor(buffer.byteLength / 4));
    let capacity: number;
    try {
      capacity = native.ringCheck(i32);
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ERR_RINGPOOL_BAD_LAYOUT') {
        throw new RingpoolTypeError(
          'ERR_RINGPOOL_BAD_LAYOUT',
          'Ring.from: buffer does not hold a ringpool Ring (wrong magic, version or size)',
        );
      }
      throw err;
    }
    const attach: Attach = { [kAttach]: { buffer, i32, capacity } };
    return new Ring(attach as unknown as RingOptions);
  }

  /** The SharedArrayBuffer holding the ring; pass it to another thread and call Ring.from. */
  get buffer(): SharedArrayBuffer {
    return this.#buffer;
  }

  /** Maximum number of values the ring holds. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Number of values in the ring right now (a snapshot when other threads are active). */
  get size(): number {
    return native.ringSize(this.#i32);
  }

  /**
   * Appends `value` (an integer from 0 to 2^32 - 1).
   * @throws RingpoolRangeError ERR_RINGPOOL_FULL when the ring is full
   */
  push(value: number): void {
    assertValue(value);
    if (!native.ringPush(this.#i32, value)) {
      throw new RingpoolRangeError('ERR_RINGPOOL_FULL', `Ring is full (capacity ${this.#capacity})`);
    }
  }

  /** Appends `value` if there is room; returns false (and changes nothing) when full. */
  tryPush(value: number): boolean {
    assertValue(value);
    return native.ringPush(this.#i32, value);
  }

  /** Removes and returns the oldest value, or undefined when the ring is empty. */
  pop(): number | undefined {
    const v = native.ringPop(this.#i32);
    return v === -1 ? undefined : v;
  }

  /**
   * Blocks the calling thread until a value is available and returns it, or returns
   * undefined after `timeoutMs` (undefined or NaN: no limit; negative: 0). Meant for worker
   * threads: on the main thread it blocks the event loop. A worker being terminated leaves
   * the wait with an Error ERR_RINGPOOL_INTERRUPTED.
   */
  popWait(timeoutMs?: number): number | undefined {
    const v = native.ringPopWait(this.#i32, normaliseTimeout(timeoutMs, 'timeoutMs'));
    return v === -1 ? undefined : v;
  }

  /**
   * Blocks the calling thread until `value` fits, then appends it and returns true; returns
   * false after `timeoutMs`. Same timeout rules and thread caveats as popWait.
   */
  pushWait(value: number, timeoutMs?: number): boolean {
    assertValue(value);
    return native.ringPushWait(this.#i32, value, normaliseTimeout(timeoutMs, 'timeoutMs'));
  }

  /**
   * Resolves with the oldest value as soon as there is one, without blocking the thread.
   * Rejects with AbortError (cause: the signal's reason) when `signal` aborts, with
   * TimeoutError when `timeout` ms pass first, and with a RingpoolTypeError /
   * RingpoolRangeError for bad options.
   */
  async popAsync(options?: RingWaitOptions): Promise<number> {
    const { signal, timeout } = readWaitOptions(options);
    return this.#waitLoop(true, 0, signal, timeout);
  }

  /**
   * Resolves once `value` has been appended, waiting for room without blocking the thread.
   * Rejects like popAsync; on rejection the value was not appended.
   */
  async pushAsync(value: number, options?: RingWaitOptions): Promise<void> {
    assertValue(value);
    const { signal, timeout } = readWaitOptions(options);
    await this.#waitLoop(false, value, signal, timeout);
  }

  /**
   * The waiting side of the protocol in src/ring.h: register as a waiter, read the seq
   * word, try again (the native attempt runs the seq_cst fence before it reports a miss),
   * then wait for the seq word to move. The other side bumps it and notifies after each
   * successful operation whenever it sees a registered waiter.
   */
  async #waitLoop(pop: boolean, value: number, signal: AbortSignal | undefined, timeout: number): Promise<number> {
    const i32 = this.#i32;
    const l = layout();
    const waitersIndex = pop ? l.notEmptyWaiters : l.notFullWaiters;
    const seqIndex = pop ? l.notEmptySeq : l.notFullSeq;
    const attempt = pop ? (): number => native.ringPop(i32) : (): number => (native.ringPush(i32, value) ? 0 : -1);
    const deadline = timeout === Infinity ? Infinity : performance.now() + timeout;
    if (signal?.aborted) throw new AbortError(signal.reason);
    for (;;) {
      let r = attempt();
      if (r !== -1) return r;
      // Checked only after a miss: a wake-up we received is always followed by one attempt,
      // so a value it announced is never left behind while other waiters sleep.
      if (signal?.aborted) throw new AbortError(signal.reason);
      let outcome: 'ok' | 'not-equal' | 'timed-out' | 'aborted';
      Atomics.add(i32, waitersIndex, 1);
      try {
        const seq = Atomics.load(i32, seqIndex);
        r = attempt();
        if (r !== -1) return r;
        const left = deadline - performance.now();
        if (left <= 0) throw new TimeoutError(timeout);
        outcome = await waitAsyncCancellable(i32, seqIndex, seq, left, signal);
      } finally {
        Atomics.sub(i32, waitersIndex, 1);
      }
      if (outcome === 'aborted') throw new AbortError(signal?.reason);
      if (outcome === 'timed-out') {
        r = attempt();
        if (r !== -1) return r;
        throw new TimeoutError(timeout);
      }
      // 'ok' or 'not-equal': something changed; look again.
    }
  }
}
