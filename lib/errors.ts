/**
 * Public error classes. Every error ringpool throws or rejects with carries a stable
 * `code` string (ERR_RINGPOOL_*); the classes below are the ones the JS layer creates.
 * Errors thrown by the native addon are plain TypeError / RangeError / Error objects with
 * the same codes (see src/errors.h for the table both sides share).
 */

export type RingpoolErrorCode =
  | 'ERR_RINGPOOL_INVALID_ARG_TYPE'
  | 'ERR_RINGPOOL_NOT_SHARED'
  | 'ERR_RINGPOOL_OUT_OF_RANGE'
  | 'ERR_RINGPOOL_BAD_LAYOUT'
  | 'ERR_RINGPOOL_MISALIGNED'
  | 'ERR_RINGPOOL_FULL'
  | 'ERR_RINGPOOL_TOO_LARGE'
  | 'ERR_RINGPOOL_INVALID_STATE'
  | 'ERR_RINGPOOL_ADDON_MISSING'
  | 'ERR_RINGPOOL_ABORTED'
  | 'ERR_RINGPOOL_TIMEOUT'
  | 'ERR_RINGPOOL_INTERRUPTED'
  | 'ERR_RINGPOOL_DATA_CLONE'
  | 'ERR_RINGPOOL_TASK_FAILED'
  | 'ERR_RINGPOOL_CANCELLED'
  | 'ERR_RINGPOOL_WORKER_EXIT'
  | 'ERR_RINGPOOL_WORKER_SPAWN'
  | 'ERR_RINGPOOL_QUEUE_FULL'
  | 'ERR_RINGPOOL_POOL_TERMINATED'
  | 'ERR_RINGPOOL_UNKNOWN_METHOD'
  | 'ERR_RINGPOOL_NOT_OWNER'
  | 'ERR_RINGPOOL_WOULD_DEADLOCK'
  | 'ERR_RINGPOOL_BLOCKING_MAIN_THREAD'
  | 'ERR_RINGPOOL_QUEUE_CLOSED'
  | 'ERR_RINGPOOL_TX_CONFLICT';

/** Base of the plain (state) errors. */
export class RingpoolError extends Error {
  readonly code: RingpoolErrorCode;
  constructor(code: RingpoolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Wrong type of argument (not a number, not a SharedArrayBuffer view, ...). */
export class RingpoolTypeError extends TypeError {
  readonly code: 'ERR_RINGPOOL_INVALID_ARG_TYPE' | 'ERR_RINGPOOL_NOT_SHARED' | 'ERR_RINGPOOL_BAD_LAYOUT';
  constructor(code: RingpoolTypeError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

/** Argument of the right type but outside the accepted range, or a structure that is full. */
export class RingpoolRangeError extends RangeError {
  readonly code: 'ERR_RINGPOOL_OUT_OF_RANGE' | 'ERR_RINGPOOL_MISALIGNED' | 'ERR_RINGPOOL_FULL' | 'ERR_RINGPOOL_TOO_LARGE';
  constructor(code: RingpoolRangeError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

/** The native addon could not be loaded. */
export class AddonMissingError extends RingpoolError {
  constructor(tried: readonly string[], causes: readonly unknown[]) {
    const first = causes.find((c) => c instanceof Error && !/Cannot find module/.test(c.message));
    super(
      'ERR_RINGPOOL_ADDON_MISSING',
      `ringpool's native addon is not built (looked for ${tried.join(', ')}). ` +
        'Build it with `npm install` (or `npx node-gyp rebuild` in the package folder); ' +
        'it needs a C compiler and Node headers.' +
        (first instanceof Error ? ` Loading failed with: ${first.message}` : ''),
      { cause: causes[0] },
    );
  }
}

/** A wait was given up because its AbortSignal fired; the signal's reason is the cause. */
export class AbortError extends RingpoolError {
  constructor(reason: unknown) {
    super('ERR_RINGPOOL_ABORTED', 'The operation was aborted', { cause: reason });
  }
}

/** A wait, or a pool task, ran out of time. */
export class TimeoutError extends RingpoolError {
  constructor(ms: number, what = 'Operation') {
    super('ERR_RINGPOOL_TIMEOUT', `${what} timed out after ${ms} ms`);
  }
}
