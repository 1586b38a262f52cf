/**
 * Mutex: mutual exclusion between threads (and between async tasks of one thread), in a
 * SharedArrayBuffer. Ownership belongs to a thread: any code on the holding thread may
 * unlock. Waiters are served in FIFO order by hand-off (src/sync.h). If the holding thread
 * dies (its worker exits or is terminated), the lock is released with an "owner died" mark
 * and the next acquirer's guard says `ownerDied: true`.
 *
 * Uncontended lock and unlock never enter native code: one Atomics.compareExchange each
 * (plus a store to this thread's holds table, the robust list that teardown reads).
 */
import { RingpoolTypeError, TimeoutError } from '../errors';
import { native } from '../native';
import { describe } from '../validate';
import {
  acquireAsync,
  blocking,
  type Core,
  createCore,
  kDispose,
  kGuardRelease,
  LockGuard,
  readBlockingOptions,
  readWaitOptions,
  type SyncBlockingOptions,
  type SyncHandle,
  type SyncWaitOptions,
  AttachSlot,
} from './common';
import { NotOwnerError } from './errors';
import { fastLock, fastUnlock, Kind, kDied, kThreadId, Op } from './native-sync';

export type MutexHandle = SyncHandle<'Mutex'>;

/** Carries the handle from Mutex.from() into the constructor. */
const attach = new AttachSlot();

/** @internal Used by Condition: unlock / relock without invalidating the caller's guard. */
export const kCondRelease = Symbol('kCondRelease');
export const kCondRecord = Symbol('kCondRecord');
export const kCondRestore = Symbol('kCondRestore');

export class Mutex {
  readonly #core: Core;
  /** Serial number of the last guard made by this object. */
  #serial = 0;
  /** Serial of the guard of the acquisition this thread holds now through this object, 0 if
   * none: a guard releases only its own acquisition, never a later one (e.g. after
   * mutex.unlock() and a new lock, possibly by another async task of this thread). */
  #current = 0;

  /** Creates an unlocked mutex in a new SharedArrayBuffer. */
  constructor() {
    this.#core = attach.core(this, Kind.Mutex, () => createCore(this, Kind.Mutex, 0, 0));
  }

  /**
   * The same mutex in this thread, from `mutex.handle` (or `mutex.buffer`) received through
   * workerData or postMessage.
   * @throws RingpoolTypeError ERR_RINGPOOL_BAD_LAYOUT for anything else
   */
  static from(handle: MutexHandle | SharedArrayBuffer): Mutex {
    return attach.run(handle, () => new Mutex());
  }

  /** Structured-cloneable `{ kind: 'Mutex', buffer }` for workerData / postMessage. */
  get handle(): MutexHandle {
    return { kind: 'Mutex', buffer: this.#core.buffer };
  }

  get buffer(): SharedArrayBuffer {
    return this.#core.buffer;
  }

  /** Whether some thread holds it right now (a snapshot). */
  get locked(): boolean {
    return native.syncHolder(this.#core.rec) !== 0;
  }

  /** Whether the calling thread holds it. */
  get heldByCurrentThread(): boolean {
    return native.syncHolder(this.#core.rec) === kThreadId;
  }

  /** Takes the mutex if it is free and nobody waits; returns a guard, or null. Never waits. */
  tryLock(): LockGuard | null {
    const { i32, rec } = this.#core;
    if (fastLock(i32, rec)) return this.#guard(false);
    const r = native.syncTry(rec, Op.Lock, 0);
    return r === 0 ? null : this.#guard((r & kDied) !== 0);
  }

  /**
   * Resolves with a guard once this thread holds the mutex. Waits on the event loop, never
   * blocks the thread. Rejects with AbortError / TimeoutError (and leaves no waiter behind).
   */
  async lock(options?: SyncWaitOptions): Promise<LockGuard> {
    const { i32, rec } = this.#core;
    if (options === undefined) {
      if (fastLock(i32, rec)) return this.#guard(false);
      return this.#guard((await acquireAsync(rec, Op.Lock, 0, undefined, Infinity, 'Mutex.lock') & kDied) !== 0);
    }
    const { signal, timeout } = readWaitOptions(options);
    if (!signal?.aborted && fastLock(i32, rec)) return this.#guard(false);
    const r = await acquireAsync(rec, Op.Lock, 0, signal, timeout, 'Mutex.lock');
    return this.#guard((r & kDied) !== 0);
  }

  /**
   * Blocks the thread until it holds the mutex; returns a guard (`using g = mu.lockSync()`).
   * For workers: on the main thread it throws BlockingMainThreadError unless
   * `{ allowMainThread: true }`. Throws TimeoutError after `timeout` ms, WouldDeadlockError
   * when this thread holds it already.
   */
  lockSync(options?: SyncBlockingOptions): LockGuard {
    const timeout = readBlockingOptions(options, 'Mutex.lockSync');
    const { i32, rec } = this.#core;
    if (fastLock(i32, rec)) return this.#guard(false);
    const r = blocking('Mutex.lockSync', () => native.syncAcquireSync(rec, Op.Lock, 0, timeout));
    if (r === 0) throw new TimeoutError(timeout, 'Mutex.lockSync');
    return this.#guard((r & kDied) !== 0);
  }

  /** Releases the mutex held by this thread. Throws NotOwnerError if this thread does not hold it. */
  unlock(): void {
    const { i32, rec } = this.#core;
    if (!fastUnlock(i32, rec) && native.syncRelease(rec, Op.Lock, 0) === -1) {
      throw new NotOwnerError('Mutex.unlock: this thread does not hold the mutex');
    }
    this.#current = 0;
  }

  /** Runs fn while holding the mutex and releases it afterwards, also when fn throws. */
  async withLock<T>(fn: (guard: LockGuard) => T | PromiseLike<T>, options?: SyncWaitOptions): Promise<T> {
    if (typeof fn !== 'function') {
      throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `fn must be a function, got ${describe(fn)}`);
    }
    const guard = await this.lock(options);
    try {
      return await fn(guard);
    } finally {
      guard[kDispose]();
    }
  }

  #guard(ownerDied: boolean): LockGuard {
    const serial = ++this.#serial;
    this.#current = serial;
    return new LockGuard(ownerDied, this, serial);
  }

  /** @internal A guard's release: only while its acquisition is the current one. */
  [kGuardRelease](serial: number, strict: boolean): void {
    if (serial !== this.#current) {
      if (strict) throw new NotOwnerError('this guard\'s lock was already released through Mutex.unlock()');
      return;
    }
    this.unlock();
  }

  /** @internal Condition: releases, and returns what kCondRestore needs to make the caller's
   * guard current again after re-locking; -1 when this thread does not hold it. */
  [kCondRelease](): number {
    const { i32, rec } = this.#core;
    if (!fastUnlock(i32, rec) && native.syncRelease(rec, Op.Lock, 0) === -1) return -1;
    const current = this.#current;
    this.#current = 0;
    return current;
  }

  /** @internal Condition: after re-locking, the guard of the wait's caller is current again. */
  [kCondRestore](serial: number): void {
    this.#current = serial;
  }

  /** @internal */
  get [kCondRecord](): number {
    return this.#core.rec;
  }
}
