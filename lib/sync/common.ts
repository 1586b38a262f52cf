/**
 * What every sync object shares: option parsing, handles, the async acquire with
 * signal/timeout (no waiter is left behind), the blocking-call policy, and guards.
 */
import { isMainThread } from 'node:worker_threads';

import { AbortError, RingpoolRangeError, RingpoolTypeError, TimeoutError } from '../errors';
import { native } from '../native';
import { assertInt, assertOptionsObject, assertSignal, describe, normaliseTimeout } from '../validate';
import { nextWaitToken } from '../wait';
import { BlockingMainThreadError, NotOwnerError, WouldDeadlockError } from './errors';
import { Kind, kSyncBytes, Op, openRecord } from './native-sync';
import { kMarker } from '../pool/revive';

/** `Symbol.dispose` (Node >= 18.18 / 20.4), or the symbol Node's polyfill registers. */
export const kDispose: typeof Symbol.dispose = (Symbol.dispose ??
  Symbol.for('nodejs.dispose')) as typeof Symbol.dispose;

/** Options of the async acquires (lock, read, write, acquire, wait). */
export interface SyncWaitOptions {
  /** Aborting rejects with AbortError (cause: the signal's reason); the wait is withdrawn. */
  readonly signal?: AbortSignal;
  /** Milliseconds; undefined or NaN wait forever, negative means 0. Rejects with TimeoutError. */
  readonly timeout?: number;
}

/** Options of the blocking forms (lockSync, readSync, acquireSync, waitSync...). */
export interface SyncBlockingOptions {
  /** Milliseconds; undefined or NaN wait forever, negative means 0. Throws TimeoutError. */
  readonly timeout?: number;
  /** Blocking on the main thread freezes its event loop, so it throws unless this is true. */
  readonly allowMainThread?: boolean;
}

/** The structured-cloneable form of a sync object: pass it to a worker, then X.from(handle). */
export interface SyncHandle<K extends string = string> {
  readonly kind: K;
  readonly buffer: SharedArrayBuffer;
}

export const kNames: Record<Kind, string> = {
  [Kind.Mutex]: 'Mutex',
  [Kind.RwLock]: 'RwLock',
  [Kind.Semaphore]: 'Semaphore',
  [Kind.Barrier]: 'Barrier',
  [Kind.Latch]: 'Latch',
  [Kind.Condition]: 'Condition',
};

/** Shared state of one JS object: its buffer, a view, and this thread's record. */
export interface Core {
  readonly buffer: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly rec: number;
}

/** A fresh object of `kind` (param/initial as in src/sync.h rp_sync_init). */
export function createCore(owner: object, kind: Kind, param: number, initial: number): Core {
  const buffer = new SharedArrayBuffer(kSyncBytes);
  const i32 = new Int32Array(buffer);
  native.syncInit(i32, kind, param, initial);
  markTravel(owner, kind, buffer);
  return { buffer, i32, rec: openRecord(owner, i32, kind) };
}

/**
 * Lets the object travel as a pool task argument or result: structured clone keeps own
 * enumerable properties only, so the instance carries its kind marker and handle, and the
 * reviver registered below rebuilds it on arrival (lib/pool/revive.ts).
 */
function markTravel(owner: object, kind: Kind, buffer: SharedArrayBuffer): void {
  Object.defineProperty(owner, kMarker, { value: kNames[kind], enumerable: true });
  Object.defineProperty(owner, '__handle__', { value: { kind: kNames[kind], buffer }, enumerable: true });
}

/** Accepts `x.handle` or `x.buffer`; anything else is TypeError ERR_RINGPOOL_BAD_LAYOUT. */
function attachCore(owner: object, kind: Kind, handle: unknown): Core {
  const name = kNames[kind];
  let buffer: unknown = handle;
  if (!(handle instanceof SharedArrayBuffer)) {
    const h = handle as Partial<SyncHandle> | null;
    buffer = typeof h === 'object' && h !== null && h.kind === name ? h.buffer : undefined;
  }
  if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength !== kSyncBytes) {
    throw new RingpoolTypeError(
      'ERR_RINGPOOL_BAD_LAYOUT',
      `${name}.from expects a ${name}'s handle (or its buffer), got ${describe(handle)}`,
    );
  }
  const i32 = new Int32Array(buffer);
  try {
    const core = { buffer, i32, rec: openRecord(owner, i32, kind) };
    markTravel(owner, kind, buffer);
    return core;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_RINGPOOL_BAD_LAYOUT') {
      throw new RingpoolTypeError('ERR_RINGPOOL_BAD_LAYOUT', `${name}.from: the buffer does not hold a ringpool ${name}`);
    }
    throw err;
  }
}

export function readWaitOptions(options: unknown): { signal: AbortSignal | undefined; timeout: number } {
  if (options === undefined) return { signal: undefined, timeout: Infinity };
  assertOptionsObject(options);
  const { signal, timeout } = options;
  assertSignal(signal, 'options.signal');
  return { signal, timeout: normaliseTimeout(timeout, 'options.timeout') };
}

/** Returns the timeout; throws BlockingMainThreadError on the main thread unless allowed. */
export function readBlockingOptions(options: unknown, what: string): number {
  let timeout = Infinity;
  let allow: unknown = false;
  if (options !== undefined) {
    assertOptionsObject(options);
    timeout = normaliseTimeout(options.timeout, 'options.timeout');
    allow = options.allowMainThread ?? false;
    if (typeof allow !== 'boolean') {
      throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `options.allowMainThread must be a boolean, got ${describe(allow)}`);
    }
  }
  if (isMainThread && !allow) throw new BlockingMainThreadError(what);
  return timeout;
}

/** A count argument: an integer from 1 to max. */
export function assertCount(value: unknown, name: string, max: number): asserts value is number {
  assertInt(value, name, 1, max);
}

/** Longest delay setTimeout takes; longer timeouts are re-armed in steps. */
const kMaxTimerMs = 0x7fffffff;

function armTimer(ms: number, fire: () => void): () => void {
  let handle: NodeJS.Timeout;
  let left = ms;
  const step = (): void => {
    if (left > kMaxTimerMs) {
      left -= kMaxTimerMs;
      handle = setTimeout(step, kMaxTimerMs);
    } else {
      handle = setTimeout(fire, left);
    }
  };
  step();
  return () => clearTimeout(handle);
}

/**
 * Waits without blocking the thread for (op, k) on record `rec` and resolves with the result
 * bits. The signal and the timeout withdraw the waiter (native.syncCancel); a grant that won
 * the race is kept. Rejects with AbortError / TimeoutError otherwise.
 */
export async function acquireAsync(
  rec: number,
  op: Op,
  k: number,
  signal: AbortSignal | undefined,
  timeout: number,
  what: string,
): Promise<number> {
  if (signal?.aborted) throw new AbortError(signal.reason);
  const token = nextWaitToken();
  const pending = native.syncAcquire(rec, op, k, token);
  let r: number;
  if (timeout === Infinity && signal === undefined) {
    r = await pending;
  } else {
    let why: 'timeout' | 'abort' | undefined;
    const cancel = (reason: 'timeout' | 'abort'): void => {
      if (why !== undefined) return;
      why = reason;
      native.syncCancel(rec, token);
    };
    const onAbort = (): void => cancel('abort');
    const clear = timeout === 0 ? undefined : timeout === Infinity ? undefined : armTimer(timeout, () => cancel('timeout'));
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeout === 0) cancel('timeout');
    try {
      r = await pending;
    } finally {
      clear?.();
      signal?.removeEventListener('abort', onAbort);
    }
    if (r === 0) throw why === 'abort' ? new AbortError(signal?.reason) : new TimeoutError(timeout, what);
  }
  if (r < 0) throw new RingpoolRangeError('ERR_RINGPOOL_OUT_OF_RANGE', `${what}: request can never be satisfied`);
  return r;
}

/** Runs a native blocking call, turning its deadlock error into WouldDeadlockError. */
export function blocking<T>(what: string, call: () => T): T {
  try {
    return call();
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_RINGPOOL_WOULD_DEADLOCK') throw new WouldDeadlockError(what);
    throw err;
  }
}

/** @internal How a guard hands its release back to the object that made it. */
export const kGuardRelease = Symbol('kGuardRelease');

/** @internal */
export interface GuardOwner {
  /** Releases the acquisition `serial` (a number chosen by the owner); `strict` makes a stale
   * release (that acquisition is already over) throw instead of doing nothing. */
  [kGuardRelease](serial: number, strict: boolean): void;
}

/**
 * Proof of one acquisition. `unlock()` releases it (a second call throws NotOwnerError);
 * `[Symbol.dispose]()` releases it if it is still held, so `using g = mu.lockSync()` works
 * together with an early `g.unlock()` or `mu.unlock()`.
 */
export class LockGuard {
  /** The previous holder's thread died while holding the lock: the data it guards may be
   * half-updated. Reported to the first acquirer after the death only. */
  readonly ownerDied: boolean;
  /** The object that made this guard; undefined once released. */
  #owner: GuardOwner | undefined;
  readonly #serial: number;

  /** @internal */
  constructor(ownerDied: boolean, owner: GuardOwner, serial: number) {
    this.ownerDied = ownerDied;
    this.#owner = owner;
    this.#serial = serial;
  }

  /** True once this guard has been released. */
  get released(): boolean {
    return this.#owner === undefined;
  }

  /** Releases the lock. Throws NotOwnerError when this guard was already released. */
  unlock(): void {
    const owner = this.#owner;
    if (owner === undefined) throw new NotOwnerError('this lock guard was already released');
    this.#owner = undefined;
    owner[kGuardRelease](this.#serial, true);
  }

  /** Releases the lock unless already released; never throws for an earlier release. */
  [kDispose](): void {
    const owner = this.#owner;
    if (owner === undefined) return;
    this.#owner = undefined;
    owner[kGuardRelease](this.#serial, false);
  }
}

/** Proof of `permits` acquired from a Semaphore; release() gives them back. */
export class SemaphorePermit {
  readonly permits: number;
  #owner: GuardOwner | undefined;

  /** @internal */
  constructor(permits: number, owner: GuardOwner) {
    this.permits = permits;
    this.#owner = owner;
  }

  get released(): boolean {
    return this.#owner === undefined;
  }

  /** Returns the permits. Throws NotOwnerError when they were already returned. */
  release(): void {
    const owner = this.#owner;
    if (owner === undefined) throw new NotOwnerError('these semaphore permits were already released');
    this.#owner = undefined;
    owner[kGuardRelease](this.permits, true);
  }

  /** Returns the permits unless already returned. */
  [kDispose](): void {
    const owner = this.#owner;
    if (owner === undefined) return;
    this.#owner = undefined;
    owner[kGuardRelease](this.permits, false);
  }
}

/**
 * Hands a handle from `X.from()` to X's constructor, which has no hidden parameter for it:
 * `from` runs the constructor inside `run`, and the constructor's `attach.core()` uses the handle.
 */
export class AttachSlot {
  #set = false;
  #handle: unknown = undefined;

  run<T>(handle: unknown, make: () => T): T {
    this.#handle = handle;
    this.#set = true;
    try {
      return make();
    } finally {
      this.#set = false;
      this.#handle = undefined;
    }
  }

  /**
   * The core of a new instance: attached to the handle `X.from()` passed to run(), or else
   * made by `create` (which validates the constructor's arguments first).
   */
  core(owner: object, kind: Kind, create: () => Core): Core {
    if (!this.#set) return create();
    const handle = this.#handle;
    this.#set = false;
    this.#handle = undefined;
    return attachCore(owner, kind, handle);
  }
}
