/**
 * Map keys as bytes: the native map compares keys byte for byte, so every key has exactly
 * one encoding, and keys of different types never collide (1 and '1' are different keys,
 * as in a Map). A tag byte, then:
 *   kString  well-formed string: UTF-8
 *   kUtf16   string with lone surrogates: UTF-16LE code units (UTF-8 cannot keep them apart)
 *   kNumber  float64 little-endian; -0 is stored as 0 (a Map treats them as one key); NaN
 *            is refused (it is almost always a bug, and NaN !== NaN)
 */
import { RingpoolRangeError, RingpoolTypeError } from '../errors';
import { describe } from '../validate';
import { mapLayout } from './native-shared';

export type SharedKey = string | number;

const kString = 1;
const kNumber = 2;
const kUtf16 = 3;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: false });

/**
 * A reusable key buffer: encode() fills bytes[0, length). One per thread for the hot paths;
 * callers that must keep a key across user code take a copy().
 */
export class KeyBuffer {
  bytes: Uint8Array = new Uint8Array(256);
  length = 0;
  /** Counts encode() calls, so that a caller that ran user code in between can tell its key was overwritten. */
  uses = 0;
  readonly #f64 = new Float64Array(1);
  readonly #f64b = new Uint8Array(this.#f64.buffer);

  /** Encodes key; throws a TypeError / RangeError with an ERR_RINGPOOL_* code for bad keys. */
  encode(key: unknown, what: string): number {
    this.uses++;
    if (typeof key === 'string') {
      if (key.length > mapLayout.maxKey) this.#tooLong(what);
      this.#string(key);
      if (this.length > mapLayout.maxKey) this.#tooLong(what);
      return this.length;
    }
    if (typeof key === 'number') {
      if (Number.isNaN(key)) {
        throw new RingpoolRangeError('ERR_RINGPOOL_OUT_OF_RANGE', `${what}: NaN is not a valid key`);
      }
      this.#f64[0] = key === 0 ? 0 : key;
      const b = this.bytes;
      b[0] = kNumber;
      b.set(this.#f64b, 1);
      this.length = 9;
      return 9;
    }
    throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `${what}: keys must be strings or numbers, got ${describe(key)}`);
  }

  #tooLong(what: string): never {
    throw new RingpoolRangeError('ERR_RINGPOOL_TOO_LARGE', `${what}: keys are limited to ${mapLayout.maxKey} bytes`);
  }

  #string(s: string): number {
    const n = s.length;
    let b = this.bytes;
    if (3 * n + 1 > b.length) b = this.#grow(3 * n + 1);
    b[0] = kString;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      b[i + 1] = c;
    }
    if (i === n) {
      this.length = n + 1;
      return n + 1;
    }
    if (!(s as unknown as { isWellFormed(): boolean }).isWellFormed()) {
      b[0] = kUtf16;
      for (let j = 0; j < n; j++) {
        const c = s.charCodeAt(j);
        b[1 + 2 * j] = c & 0xff;
        b[2 + 2 * j] = c >>> 8;
      }
      this.length = 2 * n + 1;
      return this.length;
    }
    const { written } = textEncoder.encodeInto(s.slice(i), b.subarray(i + 1));
    this.length = i + 1 + written;
    return this.length;
  }

  #grow(n: number): Uint8Array {
    let cap = this.bytes.length;
    while (cap < n) cap *= 2;
    this.bytes = new Uint8Array(cap);
    return this.bytes;
  }

  /** A private copy of the current key bytes. */
  copy(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

/** Decodes a key written by KeyBuffer.encode from bytes[off, off + len). */
export function decodeKey(bytes: Uint8Array, off: number, len: number): SharedKey {
  const tag = bytes[off];
  if (tag === kNumber) {
    return new DataView(bytes.buffer, bytes.byteOffset + off + 1, 8).getFloat64(0, true);
  }
  if (tag === kString) {
    if (len < 24) {
      let s = '';
      let ascii = true;
      for (let i = 1; i < len; i++) {
        const c = bytes[off + i]!;
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        s += String.fromCharCode(c);
      }
      if (ascii) return s;
    }
    return textDecoder.decode(bytes.subarray(off + 1, off + len));
  }
  if (tag === kUtf16) {
    let s = '';
    for (let i = off + 1; i + 1 < off + len; i += 2) s += String.fromCharCode(bytes[i]! | (bytes[i + 1]! << 8));
    return s;
  }
  throw new RingpoolTypeError('ERR_RINGPOOL_BAD_LAYOUT', 'SharedMap: corrupt key record');
}

/** Validates a key without encoding it (for APIs that take keys they pass on). */
export function assertKey(key: unknown, what: string): asserts key is SharedKey {
  if (typeof key === 'string') return;
  if (typeof key === 'number') {
    if (Number.isNaN(key)) throw new RingpoolRangeError('ERR_RINGPOOL_OUT_OF_RANGE', `${what}: NaN is not a valid key`);
    return;
  }
  throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `${what}: keys must be strings or numbers, got ${describe(key)}`);
}
