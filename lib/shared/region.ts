/**
 * The growable SharedArrayBuffer behind each collection: options (maxBytes / initialBytes)
 * validated once, creation, and growth on demand. `new SharedArrayBuffer(initial,
 * { maxByteLength: max })` keeps its base address while it grows, and an Int32Array made
 * without a length follows the growth, in every thread.
 */
import { RingpoolRangeError, RingpoolTypeError } from '../errors';
import { assertInt, assertSharedBuffer, describe } from '../validate';
import { fullError } from './errors';

export const kDefaults = Object.freeze({
  maxBytes: 64 * 1024 * 1024,
  initialBytes: 64 * 1024,
});

const kGrowStep = 64 * 1024;

export interface RegionOptions {
  /** Largest size the storage may grow to, in bytes (default 64 MiB, at most 2 GiB). */
  readonly maxBytes?: number;
  /** Bytes reserved at creation (default 64 KiB, raised to what the header needs). */
  readonly initialBytes?: number;
}

export function readRegionOptions(
  options: Record<string, unknown>,
  what: string,
  limit: number,
  minBytes: number,
): { maxBytes: number; initialBytes: number } {
  const maxBytes = options.maxBytes ?? kDefaults.maxBytes;
  assertInt(maxBytes, `${what}: options.maxBytes`, 1, limit);
  const initial = options.initialBytes ?? Math.min(kDefaults.initialBytes, maxBytes);
  assertInt(initial, `${what}: options.initialBytes`, 1, maxBytes);
  let initialBytes: number = initial;
  if (maxBytes < minBytes) {
    throw new RingpoolRangeError(
      'ERR_RINGPOOL_OUT_OF_RANGE',
      `${what}: options.maxBytes must be at least ${minBytes} bytes for this configuration, got ${maxBytes}`,
    );
  }
  initialBytes = Math.max(initialBytes, minBytes);
  initialBytes = Math.min(maxBytes, Math.ceil(initialBytes / 8) * 8);
  return { maxBytes, initialBytes };
}

/** The ES2024 growable SharedArrayBuffer surface (the project compiles against ES2022 libs). */
interface Growable {
  readonly growable: boolean;
  readonly maxByteLength: number;
  grow(bytes: number): void;
}
type GrowableCtor = new (bytes: number, options: { maxByteLength: number }) => SharedArrayBuffer;

export function createRegion(initialBytes: number, maxBytes: number): SharedArrayBuffer {
  return new (SharedArrayBuffer as unknown as GrowableCtor)(initialBytes, { maxByteLength: maxBytes });
}

function growable(sab: SharedArrayBuffer): Growable {
  return sab as unknown as Growable;
}

export function maxBytesOf(sab: SharedArrayBuffer): number {
  return growable(sab).maxByteLength;
}

/** Checks what X.from(handle) received. */
export function assertRegion(handle: unknown, what: string): asserts handle is SharedArrayBuffer {
  if (handle !== null && typeof handle === 'object' && !(handle instanceof SharedArrayBuffer)) {
    throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `${what}: expected the collection's .handle (a SharedArrayBuffer), got ${describe(handle)}`);
  }
  assertSharedBuffer(handle, `${what}: handle`);
  if (!growable(handle).growable) {
    throw new RingpoolTypeError('ERR_RINGPOOL_BAD_LAYOUT', `${what}: the SharedArrayBuffer is not a ringpool collection (it is not growable)`);
  }
}

/**
 * Makes sab at least `need` bytes long (doubling, in 64 KiB steps, capped at maxByteLength).
 * Another thread may grow it at the same time: whoever is first wins, the other sees enough.
 */
export function growRegion(sab: SharedArrayBuffer, need: number, what: string): void {
  const g = growable(sab);
  const max = g.maxByteLength;
  if (need > max) throw fullError(what, max);
  const cur = sab.byteLength;
  if (cur >= need) return;
  let next = Math.max(need, cur * 2);
  next = Math.min(max, Math.ceil(next / kGrowStep) * kGrowStep);
  try {
    g.grow(next);
  } catch (err) {
    if (sab.byteLength < need) {
      try {
        g.grow(need);
      } catch {
        if (sab.byteLength < need) throw err;
      }
    }
  }
}
