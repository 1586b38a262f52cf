/**
 * Encoder: JS values → bytes, in the format described in tags.ts.
 *
 * One Encoder writes one record at a time into a private buffer that it reuses across
 * records: reset(), write*() as many times as needed, then copy bytes() wherever the
 * record goes. Not thread-safe; one per thread (or per channel).
 */
import { types } from 'node:util';
import { RingpoolRangeError, RingpoolTypeError } from '../errors';
import { DataCloneError, NeedsPortError, describeUncloneable, kFallback } from './codec-errors';
import { writeErrorBody, writeThrownValue } from './error-codec';
import { cloneErrorFor, serializeFallback } from './fallback';
import { kIds, kWriteErrorTop, kWriteFallback, kWriteNested, type EncoderInternals } from './internal';
import { ObjectIds } from './object-ids';
import { isWellFormed, writeUtf16Units, writeUtf8Tail } from './strings';
import { Tag, kExactLengthFrom, kMaxDepth, kShortString } from './tags';
import { isShared, viewKind } from './views';

const kDefaultBytes = 4096;
const kMinBytes = 256; // above V8's on-heap typed array limit, so .buffer is cheap
/** A buffer grown past this is dropped on reset() when the record just ended used < 1/4 of it. */
const kShrinkAbove = 1 << 20;

const textEncoder = new TextEncoder();
const hasOwnProperty = Object.prototype.hasOwnProperty;
const kMinI64 = -(2n ** 63n);
const kMaxI64 = 2n ** 63n - 1n;

export class Encoder implements EncoderInternals {
  /** Private scratch buffer; never shared. Capacity >= #minBytes; bytes [0, #pos) are the record. */
  #buf: Uint8Array;
  /** DataView over #buf; replaced together with it. */
  #view: DataView;
  /** Bytes written since reset(); 0 <= #pos <= #buf.length. */
  #pos = 0;
  /** The last view bytes() returned (over #buf; null once #buf is replaced): reused while the length matches. */
  #out: Uint8Array | null = null;
  readonly #minBytes: number;
  /** Ids of the objects of the top-level value being written; empty between top-level writes. */
  readonly #ids = new ObjectIds();
  get [kIds](): ObjectIds {
    return this.#ids;
  }

  constructor(initialBytes: number = kDefaultBytes) {
    if (typeof initialBytes !== 'number') {
      throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', 'initialBytes must be a number');
    }
    if (!Number.isSafeInteger(initialBytes) || initialBytes < 0 || initialBytes > 2 ** 31) {
      throw new RingpoolRangeError('ERR_RINGPOOL_OUT_OF_RANGE', `initialBytes must be an integer in [0, 2**31], got ${initialBytes}`);
    }
    this.#minBytes = Math.max(kMinBytes, initialBytes);
    this.#buf = new Uint8Array(this.#minBytes);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Starts a new record. Keeps the buffer unless a huge record left it mostly unused. */
  reset(): void {
    if (this.#buf.length > kShrinkAbove && this.#pos < this.#buf.length >>> 2) {
      this.#buf = new Uint8Array(this.#minBytes);
      this.#view = new DataView(this.#buf.buffer);
      this.#out = null;
    }
    this.#pos = 0;
  }

  /** Bytes written since reset(). */
  get length(): number {
    return this.#pos;
  }

  /** The record so far, as a view into the encoder's buffer: valid until the next write or reset(). */
  bytes(): Uint8Array {
    // Records of one kind repeat their length: the same view then serves again (making a
    // subarray costs about as much as encoding a small object).
    const out = this.#out;
    if (out !== null && out.length === this.#pos) return out;
    return (this.#out = this.#buf.subarray(0, this.#pos));
  }

  /** A position to come back to with rewind(). */
  mark(): number {
    return this.#pos;
  }

  /** Drops everything written after `mark` (a value from mark() since the last reset()). */
  rewind(mark: number): void {
    if (!(mark >= 0 && mark <= this.#pos && Number.isInteger(mark))) {
      throw new RingpoolRangeError('ERR_RINGPOOL_OUT_OF_RANGE', `rewind(): mark must be an integer in [0, ${this.#pos}], got ${mark}`);
    }
    this.#pos = mark;
  }

  writeU8(n: number): void {
    if ((n & 0xff) !== n) throw new RingpoolRangeError('ERR_RINGPOOL_OUT_OF_RANGE', `writeU8(): ${n} is not an integer in [0, 255]`);
    this.#ensure(1);
    this.#buf[this.#pos++] = n;
  }

  writeU32(n: number): void {
    if (n >>> 0 !== n) throw new RingpoolRangeError('ERR_RINGPOOL_OUT_OF_RANGE', `writeU32(): ${n} is not an integer in [0, 2**32)`);
    this.#ensure(4);
    this.#view.setUint32(this.#pos, n, true);
    this.#pos += 4;
  }

  writeF64(n: number): void {
    this.#ensure(8);
    this.#view.setFloat64(this.#pos, n, true);
    this.#pos += 8;
  }

  /** A string, in the same form as a string value (tag + length + UTF-8, or UTF-16 when it holds lone surrogates). */
  writeString(s: string): void {
    if (typeof s !== 'string') throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', 'writeString(): expected a string');
    this.#writeStr(s);
  }

  /**
   * Appends one value. Throws DataCloneError if structured clone would refuse it, and
   * NeedsPortError if it holds shared memory or a Node host object (postMessage's job);
   * either way nothing of it stays written (the encoder is back where it was).
   */
  writeValue(v: unknown): void {
    const start = this.#pos;
    try {
      this.#write(v, 0);
    } catch (err) {
      this.#pos = start;
      this.#ids.truncate(0);
      if (err !== kFallback) throw err instanceof DataCloneError ? cloneErrorFor(v, err.message) : err;
      this.#writeFallbackChecked(v);
      return;
    }
    if (this.#ids.count !== 0) this.#ids.truncate(0);
  }

  // ---- internals shared with error-codec.ts (see internal.ts) ----

  [kWriteNested](v: unknown, depth: number): void {
    this.#write(v, depth);
  }

  [kWriteFallback](v: unknown): void {
    const bytes = serializeFallback(v);
    this.#ensure(5 + bytes.length);
    this.#buf[this.#pos] = Tag.Fallback;
    this.#view.setUint32(this.#pos + 1, bytes.length, true);
    this.#buf.set(bytes, this.#pos + 5);
    this.#pos += 5 + bytes.length;
  }

  /** encodeError(): an Error record for anything thrown; never throws for the value's sake. */
  [kWriteErrorTop](thrown: unknown): void {
    try {
      writeThrownValue(this, thrown);
    } finally {
      this.#ids.truncate(0);
    }
  }

  // ---- the fast path ----

  #ensure(n: number): void {
    if (this.#pos + n > this.#buf.length) this.#grow(n);
  }

  #grow(n: number): void {
    const need = this.#pos + n;
    let cap = this.#buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
    this.#out = null;
  }

  #writeFallbackChecked(v: unknown): void {
    try {
      this[kWriteFallback](v);
    } catch (err) {
      throw err instanceof DataCloneError ? cloneErrorFor(v, err.message) : err;
    }
  }

  #write(v: unknown, depth: number): void {
    switch (typeof v) {
      case 'number':
        return this.#writeNumber(v);
      case 'string':
        return this.#writeStr(v);
      case 'boolean':
        this.#ensure(1);
        this.#buf[this.#pos++] = v ? Tag.True : Tag.False;
        return;
      case 'undefined':
        this.#ensure(1);
        this.#buf[this.#pos++] = Tag.Undefined;
        return;
      case 'object':
        if (v === null) {
          this.#ensure(1);
          this.#buf[this.#pos++] = Tag.Null;
          return;
        }
        return this.#writeObject(v, depth);
      case 'bigint':
        return this.#writeBigInt(v);
      default: // function, symbol
        throw new DataCloneError(`${describeUncloneable(v)} could not be cloned.`);
    }
  }

  #writeNumber(v: number): void {
    this.#ensure(9);
    const buf = this.#buf;
    const p = this.#pos;
    if ((v | 0) === v && (v !== 0 || 1 / v > 0)) {
      if (v >= -128 && v <= 127) {
        buf[p] = Tag.Int8;
        buf[p + 1] = v;
        this.#pos = p + 2;
      } else {
        buf[p] = Tag.Int32;
        this.#view.setInt32(p + 1, v, true);
        this.#pos = p + 5;
      }
    } else {
      buf[p] = Tag.Float64;
      this.#view.setFloat64(p + 1, v, true);
      this.#pos = p + 9;
    }
  }

  #writeStr(s: string): void {
    const n = s.length;
    if (n > kShortString) return this.#writeLongStr(s);
    this.#ensure(2 + 3 * n);
    const buf = this.#buf;
    const start = this.#pos;
    let p = start + 2;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[p++] = c;
    }
    if (i === n) {
      buf[start] = Tag.Ascii8;
    } else {
      p = writeUtf8Tail(s, i, buf, p);
      if (p < 0) return this.#writeUtf16(s);
      buf[start] = Tag.Utf8_8;
    }
    buf[start + 1] = p - start - 2;
    this.#pos = p;
  }

  #writeLongStr(s: string): void {
    if (!isWellFormed(s)) return this.#writeUtf16(s);
    const n = s.length;
    const max = n >= kExactLengthFrom ? Buffer.byteLength(s, 'utf8') : 3 * n;
    const head = max > 0xff ? 5 : 2;
    this.#ensure(head + max);
    const start = this.#pos;
    const { written } = textEncoder.encodeInto(s, this.#buf.subarray(start + head, start + head + max));
    const ascii = written === n;
    if (head === 2) {
      this.#buf[start] = ascii ? Tag.Ascii8 : Tag.Utf8_8;
      this.#buf[start + 1] = written;
    } else {
      this.#buf[start] = ascii ? Tag.Ascii32 : Tag.Utf8_32;
      this.#view.setUint32(start + 1, written, true);
    }
    this.#pos = start + head + written;
  }

  #writeUtf16(s: string): void {
    const n = s.length;
    this.#ensure(5 + 2 * n);
    this.#buf[this.#pos] = Tag.Utf16;
    this.#view.setUint32(this.#pos + 1, n, true);
    this.#pos = writeUtf16Units(s, this.#buf, this.#pos + 5);
  }

  #writeBigInt(v: bigint): void {
    if (v >= kMinI64 && v <= kMaxI64) {
      this.#ensure(9);
      this.#buf[this.#pos] = Tag.BigInt64;
      this.#view.setBigInt64(this.#pos + 1, v, true);
      this.#pos += 9;
      return;
    }
    this.#ensure(2);
    this.#buf[this.#pos++] = Tag.BigInt;
    this.#buf[this.#pos++] = v < 0n ? 1 : 0;
    this.#writeStr((v < 0n ? -v : v).toString(16));
  }

  /** Tag byte + u32, after ensuring room for `extra` more bytes. */
  #head(tag: Tag, n: number, extra: number): void {
    this.#ensure(5 + extra);
    this.#buf[this.#pos] = tag;
    this.#view.setUint32(this.#pos + 1, n, true);
    this.#pos += 5;
  }

  #writeObject(v: object, depth: number): void {
    if (depth >= kMaxDepth) throw kFallback;
    const id = this.#ids.find(v);
    if (id !== -1) return this.#head(Tag.BackRef, id, 0);
    if (Array.isArray(v)) return this.#writeArray(v as unknown[], depth);
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto === Object.prototype || proto === null) return this.#writePlain(v as Record<string, unknown>, depth);
    if (ArrayBuffer.isView(v)) return this.#writeView(v);
    if (proto === Map.prototype) return this.#writeMap(v as Map<unknown, unknown>, depth);
    if (proto === Set.prototype) return this.#writeSet(v as Set<unknown>, depth);
    if (proto === Date.prototype) {
      this.#ids.add(v);
      this.#ensure(9);
      this.#buf[this.#pos] = Tag.Date;
      this.#view.setFloat64(this.#pos + 1, (v as Date).getTime(), true);
      this.#pos += 9;
      return;
    }
    if (proto === RegExp.prototype) {
      this.#ids.add(v);
      this.#ensure(1);
      this.#buf[this.#pos++] = Tag.RegExp;
      this.#writeStr((v as RegExp).source);
      this.#writeStr((v as RegExp).flags);
      return;
    }
    if (proto === ArrayBuffer.prototype) {
      const ab = v as ArrayBuffer;
      if ((ab as { resizable?: boolean }).resizable === true) throw kFallback;
      this.#ids.add(v);
      this.#head(Tag.ArrayBuffer, ab.byteLength, ab.byteLength);
      this.#buf.set(new Uint8Array(ab), this.#pos);
      this.#pos += ab.byteLength;
      return;
    }
    if (v instanceof Error || types.isNativeError(v)) return writeErrorBody(this, v, depth);
    if (v instanceof SharedArrayBuffer || types.isSharedArrayBuffer(v)) throw new NeedsPortError();
    throw kFallback; // class instances, boxed primitives, subclasses of Map/Set/Date, ...: v8 decides
  }

  #writeArray(a: unknown[], depth: number): void {
    this.#ids.add(a);
    const n = a.length;
    this.#head(Tag.Array, n, 0);
    for (let i = 0; i < n; i++) {
      const x = a[i];
      if (x === undefined && !(i in a)) throw kFallback; // a hole: v8 keeps holes
      this.#write(x, depth + 1);
    }
  }

  #writePlain(o: Record<string, unknown>, depth: number): void {
    // The top-level object (depth 0) takes its id (0) only when a child object is met:
    // nothing outside it can refer to it, and a flat record then never touches the ids.
    let unregistered = depth === 0;
    if (!unregistered) this.#ids.add(o);
    this.#head(Tag.Object, 0, 0);
    const countAt = this.#pos - 4;
    let n = 0;
    // for-in + hasOwnProperty (same keys, same order as Object.keys) is several times
    // faster than Object.keys: V8 walks the enum cache and loads fields by index.
    for (const k in o) {
      if (!hasOwnProperty.call(o, k)) continue;
      this.#writeStr(k);
      const v = o[k];
      // Numbers and strings inline (monomorphic, no dispatch); the rest through #write.
      if (typeof v === 'number') this.#writeNumber(v);
      else if (typeof v === 'string') this.#writeStr(v);
      else {
        if (unregistered && typeof v === 'object' && v !== null) {
          this.#ids.add(o);
          unregistered = false;
        }
        this.#write(v, depth + 1);
      }
      n++;
    }
    this.#view.setUint32(countAt, n, true);
  }

  #writeMap(m: Map<unknown, unknown>, depth: number): void {
    this.#ids.add(m);
    this.#head(Tag.Map, m.size, 0);
    const countAt = this.#pos - 4;
    let n = 0;
    for (const [k, x] of m) {
      this.#write(k, depth + 1);
      this.#write(x, depth + 1);
      n++;
    }
    this.#view.setUint32(countAt, n, true); // the size could change while getters run
  }

  #writeSet(s: Set<unknown>, depth: number): void {
    this.#ids.add(s);
    this.#head(Tag.Set, s.size, 0);
    const countAt = this.#pos - 4;
    let n = 0;
    for (const x of s) {
      this.#write(x, depth + 1);
      n++;
    }
    this.#view.setUint32(countAt, n, true);
  }

  #writeView(v: ArrayBufferView): void {
    if (isShared(v.buffer)) throw new NeedsPortError();
    const kind = viewKind(v);
    this.#ids.add(v);
    const n = v.byteLength;
    this.#ensure(6 + n);
    this.#buf[this.#pos] = Tag.View;
    this.#buf[this.#pos + 1] = kind;
    this.#view.setUint32(this.#pos + 2, n, true);
    this.#buf.set(new Uint8Array(v.buffer, v.byteOffset, n), this.#pos + 6);
    this.#pos += 6 + n;
  }
}
