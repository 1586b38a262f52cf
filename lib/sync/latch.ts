/**
 * Latch: a one-shot countdown. countDown() lowers the count; once it reaches zero every
 * wait() returns, and stays open for good.
 */
import { TimeoutError } from '../errors';
import { native } from '../native';
import { assertInt } from '../validate';
import {
  acquireAsync,
  assertCount,
  type Core,
  createCore,
  readBlockingOptions,
  readWaitOptions,
  type SyncBlockingOptions,
  type SyncHandle,
  type SyncWaitOptions,
  AttachSlot,
} from './common';
import { Kind, kState, Op } from './native-sync';

export type LatchHandle = SyncHandle<'Latch'>;

const kMaxCount = 0x7fffffff;

const attach = new AttachSlot();

export class Latch {
  readonly #core: Core;

  /** @param count arrivals until it opens: an integer from 0 (open at once) to 2^31 - 1 */
  constructor(count: number) {
    this.#core = attach.core(this, Kind.Latch, () => {
      assertInt(count, 'count', 0, kMaxCount);
      return createCore(this, Kind.Latch, count, 0);
    });
  }

  /** The same latch from `l.handle` (or `l.buffer`). @throws RingpoolTypeError ERR_RINGPOOL_BAD_LAYOUT */
  static from(handle: LatchHandle | SharedArrayBuffer): Latch {
    return attach.run(handle, () => new Latch(0));
  }

  get handle(): LatchHandle {
    return { kind: 'Latch', buffer: this.#core.buffer };
  }

  get buffer(): SharedArrayBuffer {
    return this.#core.buffer;
  }

  /** The remaining count (a snapshot). */
  get count(): number {
    return Atomics.load(this.#core.i32, kState);
  }

  /** Lowers the count by k (default 1, saturating at zero) and returns what is left. At zero,
   * every waiter is released. */
  countDown(k = 1): number {
    assertCount(k, 'k', kMaxCount);
    return native.syncCountDown(this.#core.rec, k);
  }

  /** Whether it is open (count zero). Never waits. */
  tryWait(): boolean {
    return this.count === 0;
  }

  /** Resolves once the count is zero. Rejects with AbortError / TimeoutError. */
  async wait(options?: SyncWaitOptions): Promise<void> {
    const { signal, timeout } = readWaitOptions(options);
    if (this.count === 0) return;
    await acquireAsync(this.#core.rec, Op.Latch, 0, signal, timeout, 'Latch.wait');
  }

  /** Blocking wait for workers (main-thread rule: see Mutex.lockSync). */
  waitSync(options?: SyncBlockingOptions): void {
    const timeout = readBlockingOptions(options, 'Latch.waitSync');
    if (this.count === 0) return;
    if (native.syncAcquireSync(this.#core.rec, Op.Latch, 0, timeout) === 0) throw new TimeoutError(timeout, 'Latch.waitSync');
  }
}
