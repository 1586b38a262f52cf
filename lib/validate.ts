/**
 * Argument checks shared by the public classes. Each throws before anything is changed,
 * with a RingpoolTypeError / RingpoolRangeError whose message says what was expected.
 */
import { AbortError, RingpoolRangeError, RingpoolTypeError } from './errors';

/** i32 must be an Int32Array over a SharedArrayBuffer. */
export function assertSharedInt32(i32: unknown, name = 'i32'): asserts i32 is Int32Array {
  if (!(i32 instanceof Int32Array)) {
    throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `${name} must be an Int32Array over a SharedArrayBuffer, got ${describe(i32)}`);
  }
  if (!(i32.buffer instanceof SharedArrayBuffer)) {
    throw new RingpoolTypeError('ERR_RINGPOOL_NOT_SHARED', `${name} must be backed by a SharedArrayBuffer, got an Int32Array over an ArrayBuffer`);
  }
}

export function assertIndex(i32: Int32Array, index: unknown, name = 'index'): asserts index is number {
  if (typeof index !== 'number') {
    throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `${name} must be a number, got ${describe(index)}`);
  }
  if (!Number.isInteger(index) || index < 0 || index >= i32.length) {
    throw new RingpoolRangeError('ERR_RINGPOOL_OUT_OF_RANGE', `${name} must be an integer from 0 to ${i32.length - 1}, got ${index}`);
  }
}

/** An integer in [lo, hi]; `name` appears in the message. */
export function assertInt(value: unknown, name: string, lo: number, hi: number): asserts value is number {
  if (typeof value !== 'number') {
    throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `${name} must be a number, got ${describe(value)}`);
  }
  if (!Number.isInteger(value) || value < lo || value > hi) {
    throw new RingpoolRangeError('ERR_RINGPOOL_OUT_OF_RANGE', `${name} must be an integer from ${lo} to ${hi}, got ${value}`);
  }
}

export function assertInt32Value(value: unknown, name = 'value'): asserts value is number {
  if (typeof value !== 'number') {
    throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `${name} must be a number, got ${describe(value)}`);
  }
}

/**
 * Timeouts follow Atomics.waitAsync: undefined or NaN wait forever (Infinity), negative means 0,
 * Infinity is allowed. Anything that is not a number (or undefined) is a TypeError.
 */
export function normaliseTimeout(timeout: unknown, name = 'timeout'): number {
  if (timeout === undefined) return Infinity;
  if (typeof timeout !== 'number') {
    throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `${name} must be a number of milliseconds or undefined, got ${describe(timeout)}`);
  }
  if (Number.isNaN(timeout)) return Infinity;
  return timeout < 0 ? 0 : timeout;
}

export function assertPowerOfTwo(value: unknown, name: string, lo: number, hi: number): asserts value is number {
  assertInt(value, name, lo, hi);
  if ((value & (value - 1)) !== 0) {
    throw new RingpoolRangeError('ERR_RINGPOOL_OUT_OF_RANGE', `${name} must be a power of two, got ${value}`);
  }
}

export function assertOptionsObject(options: unknown, name = 'options'): asserts options is Record<string, unknown> {
  if (options === null || typeof options !== 'object') {
    throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `${name} must be an object, got ${describe(options)}`);
  }
}

/** The SharedArrayBuffer given to X.from(buffer). */
export function assertSharedBuffer(buffer: unknown, name = 'buffer'): asserts buffer is SharedArrayBuffer {
  if (!(buffer instanceof SharedArrayBuffer)) {
    throw new RingpoolTypeError('ERR_RINGPOOL_NOT_SHARED', `${name} must be a SharedArrayBuffer, got ${describe(buffer)}`);
  }
}

export function assertSignal(signal: unknown, name = 'signal'): asserts signal is AbortSignal | undefined {
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `${name} must be an AbortSignal, got ${describe(signal)}`);
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(signal.reason);
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'object') {
    const ctor = (v as { constructor?: { name?: unknown } }).constructor;
    return typeof ctor?.name === 'string' ? `an instance of ${ctor.name}` : 'an object';
  }
  if (typeof v === 'string') return `a string`;
  return `${typeof v} ${String(v)}`;
}
