/**
 * Semaphore: a counter of permits shared by threads. acquire(k) takes k permits, waiting
 * until they are free; release(k) gives k back. Requests are served in FIFO order: a large
 * request at the head is not overtaken by smaller ones behind it, and a release wakes only
 * the requests its permits can satisfy. Permits have no owner (any thread may release), so
 * permits held by a thread that dies are not returned: release them in `finally`.
 *
 * Uncontended acquire and release never enter native code (one compareExchange each).
 */
import { RingpoolRangeError, TimeoutError } from '../errors';
import { native } from '../native';
import { assertInt, assertOptionsObject } from '../validate';
import {
  acquireAsync,
  assertCount,
  blocking,
  type Core,
  createCore,
  kGuardRelease,
  readBlockingOptions,
  readWaitOptions,
  SemaphorePermit,
  type SyncBlockingOptions,
  type SyncHandle,
  type SyncWaitOptions,
  AttachSlot,
} from './common';
import { Kind, kParam, kState, Op } from './native-sync';

export type SemaphoreHandle = SyncHandle<'Semaphore'>;

/** Options of `new Semaphore(permits, options)`. */
export interface SemaphoreOptions {
  /** Permits free at the start, from 0 to `permits` (default: `permits`). */
  readonly initial?: number;
}

/** Largest number of permits (RP_SEM_MAX). */
const kMaxPermits = 2 ** 28 - 1;
/** Low bits of the state word: W, P, H (src/sync.h "Semaphore"); permits are value / 8. */
const kFlags = 7;

const attach = new AttachSlot();

export class Semaphore {
  readonly #core: Core;
  /** The most permits there can be (`permits` at construction), read from the buffer. */
  readonly #max: number;

  /**
   * @param permits the maximum, an integer from 1 to 2^28 - 1; also the initial count unless
   *   `options.initial` says otherwise.
   */
  constructor(permits: number, options?: SemaphoreOptions) {
    this.#core = attach.core(this, Kind.Semaphore, () => {
      assertCount(permits, 'permits', kMaxPermits);
      let initial = permits;
      if (options !== undefined) {
        assertOptionsObject(options);
        const given = options.initial;
        if (given !== undefined) {
          assertInt(given, 'options.initial', 0, permits);
          initial = given;
        }
      }
      return createCore(this, Kind.Semaphore, permits, initial);
    });
    this.#max = native.syncLoad(this.#core.rec, kParam);
  }

  /** The same semaphore from `sem.handle` (or `sem.buffer`). @throws RingpoolTypeError ERR_RINGPOOL_BAD_LAYOUT */
  static from(handle: SemaphoreHandle | SharedArrayBuffer): Semaphore {
    return attach.run(handle, () => new Semaphore(0));
  }

  get handle(): SemaphoreHandle {
    return { kind: 'Semaphore', buffer: this.#core.buffer };
  }

  get buffer(): SharedArrayBuffer {
    return this.#core.buffer;
  }

  /** The maximum number of permits. */
  get max(): number {
    return this.#max;
  }

  /** Free permits right now (a snapshot). */
  get available(): number {
    return Atomics.load(this.#core.i32, kState) >>> 3;
  }

  /** Takes k permits if they are free and nobody is queued; returns a permit object or null. */
  tryAcquire(k = 1): SemaphorePermit | null {
    assertCount(k, 'k', this.#max);
    if (this.#fastAcquire(k)) return this.#permit(k);
    return native.syncTry(this.#core.rec, Op.Acquire, k) === 0 ? null : this.#permit(k);
  }

  /**
   * Resolves once k permits (default 1) are this caller's. `acquire(options)` is
   * `acquire(1, options)`. Rejects with AbortError / TimeoutError, leaving no waiter behind.
   */
  async acquire(k: number | SyncWaitOptions = 1, options?: SyncWaitOptions): Promise<SemaphorePermit> {
    if (typeof k === 'object' && k !== null && options === undefined) {
      options = k;
      k = 1;
    }
    assertCount(k, 'k', this.#max);
    const { signal, timeout } = readWaitOptions(options);
    if (!signal?.aborted && this.#fastAcquire(k)) return this.#permit(k);
    await acquireAsync(this.#core.rec, Op.Acquire, k, signal, timeout, 'Semaphore.acquire');
    return this.#permit(k);
  }

  /** Blocking acquire for workers (main-thread rule: see Mutex.lockSync). */
  acquireSync(k: number | SyncBlockingOptions = 1, options?: SyncBlockingOptions): SemaphorePermit {
    if (typeof k === 'object' && k !== null && options === undefined) {
      options = k;
      k = 1;
    }
    assertCount(k, 'k', this.#max);
    const timeout = readBlockingOptions(options, 'Semaphore.acquireSync');
    if (this.#fastAcquire(k)) return this.#permit(k);
    const count = k;
    const r = blocking('Semaphore.acquireSync', () => native.syncAcquireSync(this.#core.rec, Op.Acquire, count, timeout));
    if (r === 0) throw new TimeoutError(timeout, 'Semaphore.acquireSync');
    return this.#permit(k);
  }

  /**
   * Returns k permits (default 1) and hands them to queued requests in FIFO order.
   * @throws RingpoolRangeError ERR_RINGPOOL_OUT_OF_RANGE when that would exceed `max`
   *   (nothing is released then)
   */
  release(k = 1): void {
    assertCount(k, 'k', this.#max);
    const i32 = this.#core.i32;
    const v = Atomics.load(i32, kState);
    if ((v & kFlags) === 0 && (v >>> 3) + k <= this.#max && Atomics.compareExchange(i32, kState, v, v + k * 8) === v) return;
    if (native.syncRelease(this.#core.rec, Op.Acquire, k) === -2) {
      throw new RingpoolRangeError(
        'ERR_RINGPOOL_OUT_OF_RANGE',
        `Semaphore.release(${k}) would exceed the maximum of ${this.#max} permits (${this.available} free)`,
      );
    }
  }

  /** Uncontended acquire: nobody queued, enough permits (the first branch of sem_admit). */
  #fastAcquire(k: number): boolean {
    const i32 = this.#core.i32;
    const v = Atomics.load(i32, kState);
    return (v & kFlags) === 0 && v >>> 3 >= k && Atomics.compareExchange(i32, kState, v, v - k * 8) === v;
  }

  #permit(k: number): SemaphorePermit {
    return new SemaphorePermit(k, this);
  }

  /** @internal A permit's release. */
  [kGuardRelease](k: number): void {
    this.release(k);
  }
}
