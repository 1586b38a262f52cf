/**
 * wait / notify / waitAsync on an int32 cell of a SharedArrayBuffer, backed by ringpool's
 * native waiter table. Semantics follow Atomics.wait / Atomics.notify / Atomics.waitAsync,
 * with two differences: ringpool's notify wakes ringpool's waiters only (and Atomics.notify
 * wakes only Atomics waiters), and a blocked ringpool `wait` in a worker does not keep
 * `worker.terminate()` from completing.
 */
import { native } from './native';
import { assertIndex, assertInt32Value, assertSharedInt32, describe, normaliseTimeout } from './validate';
import { RingpoolTypeError } from './errors';

export type WaitAsyncResult =
  | { async: false; value: 'not-equal' | 'timed-out' }
  | { async: true; value: Promise<'ok' | 'timed-out'> };

/** Largest delay setTimeout accepts; longer timeouts are re-armed in steps. */
const kMaxTimerMs = 0x7fffffff;

/** Per-thread id of async waiters, so that a timeout can remove exactly its own waiter. */
let nextToken = 1;

/** Internal: a fresh token for native.waitAsync / native.waitCancel pairs made elsewhere. */
export function nextWaitToken(): number {
  return nextToken++;
}

function armTimer(ms: number, fire: () => void): { clear(): void } {
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
  return { clear: () => clearTimeout(handle) };
}

/**
 * Waits asynchronously until `i32[index]` is notified, like `Atomics.waitAsync`.
 * Returns `{ async: false, value: 'not-equal' }` when the cell does not hold `value`,
 * `{ async: false, value: 'timed-out' }` for a zero timeout, and otherwise
 * `{ async: true, value: promise }` where the promise settles with `'ok'` or `'timed-out'`.
 * `timeoutMs`: undefined or NaN wait forever, negative means 0, Infinity is allowed.
 */
export function waitAsync(i32: Int32Array, index: number, value: number, timeoutMs?: number): WaitAsyncResult {
  assertSharedInt32(i32);
  assertIndex(i32, index);
  assertInt32Value(value);
  const timeout = normaliseTimeout(timeoutMs);
  const v = value | 0;
  if (timeout === 0) {
    return { async: false, value: Atomics.load(i32, index) === v ? 'timed-out' : 'not-equal' };
  }
  const token = nextToken++;
  const r = native.waitAsync(i32, index, v, token);
  if (r === 'not-equal') return { async: false, value: 'not-equal' };
  if (timeout !== Infinity) {
    const timer = armTimer(timeout, () => native.waitCancel(i32, index, token));
    void r.then(() => timer.clear());
  }
  return { async: true, value: r };
}

/**
 * Like waitAsync, but always returns a promise, and an AbortSignal removes the waiter:
 * resolves 'aborted' when the signal fired first (the waiter is gone from the table).
 * Used by the structures' async receive/pop loops. countIndex: see NativeBinding.waitAsync
 * (only an 'ok' outcome has decremented that count).
 */
export function waitAsyncCancellable(
  i32: Int32Array,
  index: number,
  value: number,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  countIndex?: number,
): Promise<'ok' | 'not-equal' | 'timed-out' | 'aborted'> {
  if (signal?.aborted) return Promise.resolve('aborted');
  if (timeoutMs <= 0) return Promise.resolve(Atomics.load(i32, index) === value ? 'timed-out' : 'not-equal');
  const token = nextToken++;
  const r = native.waitAsync(i32, index, value | 0, token, countIndex);
  if (r === 'not-equal') return Promise.resolve('not-equal');
  if (timeoutMs === Infinity && signal === undefined) return r;
  return new Promise((resolve) => {
    let aborted = false;
    const timer = timeoutMs === Infinity ? undefined : armTimer(timeoutMs, () => native.waitCancel(i32, index, token));
    const onAbort = (): void => {
      // If the waiter was still queued it is removed and its promise settles 'timed-out';
      // report that as 'aborted'. If it was already woken, the real result wins.
      aborted = native.waitCancel(i32, index, token);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    void r.then((res) => {
      timer?.clear();
      signal?.removeEventListener('abort', onAbort);
      resolve(aborted ? 'aborted' : res);
    });
  });
}

/**
 * Blocks the calling thread while `i32[index] === value`, until notified or timed out, like
 * `Atomics.wait`. Returns 'ok', 'not-equal' or 'timed-out'. Meant for worker threads: on the
 * main thread it blocks the event loop.
 */
export function wait(i32: Int32Array, index: number, value: number, timeoutMs?: number): 'ok' | 'not-equal' | 'timed-out' {
  assertSharedInt32(i32);
  assertIndex(i32, index);
  assertInt32Value(value);
  return native.wait(i32, index, value | 0, normaliseTimeout(timeoutMs));
}

/**
 * Wakes up to `count` ringpool waiters (blocking and async, FIFO) on `i32[index]` and
 * returns how many it woke. `count` defaults to Infinity; negative or NaN wakes none.
 * With nobody waiting it costs one atomic load.
 */
export function notify(i32: Int32Array, index: number, count: number = Infinity): number {
  assertSharedInt32(i32);
  assertIndex(i32, index);
  if (typeof count !== 'number') {
    throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `count must be a number, got ${describe(count)}`);
  }
  return native.notify(i32, index, count);
}

/** Number of ringpool waiters queued on `i32[index]` (diagnostics and tests). */
export function waitCount(i32: Int32Array, index: number): number {
  assertSharedInt32(i32);
  assertIndex(i32, index);
  return native.waitCount(i32, index);
}
