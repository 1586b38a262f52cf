/**
 * Condition: a condition variable for a Mutex, across threads. wait(mutex) releases the
 * mutex, waits for a notify, then takes the mutex again before it returns. Like every
 * condition variable it may return without a notify (spuriously): wait in a loop on your
 * predicate. A notify wakes waiters in FIFO order and is never lost for a waiter that released
 * the mutex before the notifier took it.
 */
import { RingpoolTypeError, TimeoutError } from '../errors';
import { native } from '../native';
import { describe } from '../validate';
import {
  acquireAsync,
  type Core,
  createCore,
  readBlockingOptions,
  readWaitOptions,
  type SyncBlockingOptions,
  type SyncHandle,
  type SyncWaitOptions,
  AttachSlot,
} from './common';
import { NotOwnerError } from './errors';
import { kCondRecord, kCondRelease, kCondRestore, Mutex } from './mutex';
import { Kind, kDied, kState, Op } from './native-sync';

export type ConditionHandle = SyncHandle<'Condition'>;

/** What a wait reports once the mutex is held again. */
export interface ConditionWaitResult {
  /** Re-taking the mutex found that its previous holder died holding it. */
  readonly ownerDied: boolean;
}

const attach = new AttachSlot();

function assertMutex(mutex: unknown, what: string): asserts mutex is Mutex {
  if (!(mutex instanceof Mutex)) {
    throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `${what}: mutex must be a Mutex, got ${describe(mutex)}`);
  }
}

export class Condition {
  readonly #core: Core;

  constructor() {
    this.#core = attach.core(this, Kind.Condition, () => createCore(this, Kind.Condition, 0, 0));
  }

  /** The same condition from `cv.handle` (or `cv.buffer`). @throws RingpoolTypeError ERR_RINGPOOL_BAD_LAYOUT */
  static from(handle: ConditionHandle | SharedArrayBuffer): Condition {
    return attach.run(handle, () => new Condition());
  }

  get handle(): ConditionHandle {
    return { kind: 'Condition', buffer: this.#core.buffer };
  }

  get buffer(): SharedArrayBuffer {
    return this.#core.buffer;
  }

  /**
   * Releases `mutex` (held by this thread), waits for a notify without blocking the thread,
   * and resolves once it holds `mutex` again. On abort or timeout it also takes `mutex` again
   * before rejecting (AbortError / TimeoutError). The caller's lock guard stays valid.
   * @throws NotOwnerError when this thread does not hold mutex (nothing waits then)
   */
  async wait(mutex: Mutex, options?: SyncWaitOptions): Promise<ConditionWaitResult> {
    assertMutex(mutex, 'Condition.wait');
    const { signal, timeout } = readWaitOptions(options);
    const rec = this.#core.rec;
    const seq = native.syncLoad(rec, kState) >>> 0; /* before the unlock: no notify is missed */
    const serial = mutex[kCondRelease]();
    if (serial === -1) throw new NotOwnerError('Condition.wait: this thread does not hold the mutex');
    let failure: unknown;
    try {
      await acquireAsync(rec, Op.Cond, seq, signal, timeout, 'Condition.wait');
    } catch (err) {
      failure = err;
    }
    const guard = await mutex.lock(); /* no signal, no timeout: it must be held on return */
    mutex[kCondRestore](serial); /* the caller's guard, not this one, owns the acquisition */
    if (failure !== undefined) throw failure;
    return { ownerDied: guard.ownerDied };
  }

  /** Blocking wait for workers (main-thread rule: see Mutex.lockSync); TimeoutError after
   * re-taking the mutex. */
  waitSync(mutex: Mutex, options?: SyncBlockingOptions): ConditionWaitResult {
    assertMutex(mutex, 'Condition.waitSync');
    const timeout = readBlockingOptions(options, 'Condition.waitSync');
    const r = native.syncCondWaitSync(this.#core.rec, mutex[kCondRecord], timeout);
    if (r === -1) throw new NotOwnerError('Condition.waitSync: this thread does not hold the mutex');
    if ((r & 1) === 0) throw new TimeoutError(timeout, 'Condition.waitSync');
    return { ownerDied: (r & kDied) !== 0 };
  }

  /** Wakes the longest-waiting waiter; returns how many were woken (0 or 1). */
  notifyOne(): number {
    return native.syncNotify(this.#core.rec, 1);
  }

  /** Wakes every waiter; returns how many were woken. */
  notifyAll(): number {
    return native.syncNotify(this.#core.rec, Infinity);
  }
}
