/**
 * Decoder: bytes → JS values, the inverse of Encoder (format in tags.ts).
 *
 * reset() points it at a byte range, which may be a view of shared memory: everything a
 * decoded value holds (strings, typed arrays, fallback values) is copied out, so the
 * range can be overwritten as soon as the reads are done.
 */
import { RingpoolRangeError, RingpoolTypeError } from '../errors';
import { corrupt, truncated } from './codec-errors';
import { readErrorBody } from './error-codec';
import { deserializeFallback } from './fallback';
import { kReadNested, kRegister, type DecoderInternals } from './internal';
import { asciiShort, cachedAscii, kMaxCached, latin1Slice, ucs2Slice, utf8Slice } from './strings';
import { kMaxKeys, shapeFor, type Shape } from './shapes';
import { Tag } from './tags';
import { makeView } from './views';

const kEmpty = new Uint8Array(0);
/** ASCII strings up to this many bytes are built in JS instead of by a native slicer call. */
const kShortAscii = 16;
/** Shapes a decoder matches by key identity before it looks in the shared table. */
const kRecentShapes = 4;
/** A #refs array longer than this is dropped after use rather than kept for the next value. */
const kKeepRefSlots = 1024;

export class Decoder implements DecoderInternals {
  /**
   * Views over the whole memory of the bytes given to reset() (#mem.buffer), so that
   * records in different subarrays of one buffer share them. #text is a Buffer over
   * the same memory for the native string slicers, made on first use.
   */
  #mem: Uint8Array = kEmpty;
  #view: DataView = new DataView(kEmpty.buffer);
  #text: Buffer | null = null;
  /** bytes.byteOffset of the current bytes: offsets the API reports are relative to it. */
  #base = 0;
  /** Read position and end of the range, as indices into #mem; #pos <= #end <= #mem.length. */
  #pos = 0;
  #end = 0;
  /**
   * Objects of the top-level value being read, by id (first-visit order), in
   * #refs[0, #nrefs); slots past #nrefs are undefined so decoded values are not kept alive.
   */
  #refs: unknown[] = [];
  #nrefs = 0;
  /** Keys and primitive values of the object being read (#readObject), and recent shapes. */
  readonly #keys: string[] = [];
  readonly #vals: unknown[] = [];
  readonly #recent: Shape[] = [];
  #lastShape: Shape | null = null;
  #nextRecent = 0;
  /** The bytes last given to reset() and their byteOffset: same bytes, no view rebuilt. */
  #last: Uint8Array = kEmpty;

  /** Reads from bytes[offset, end) next. */
  reset(bytes: Uint8Array, offset = 0, end: number = bytes?.length): void {
    if (!(bytes instanceof Uint8Array)) {
      throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', 'Decoder.reset(): bytes must be a Uint8Array');
    }
    if (offset >>> 0 !== offset || end >>> 0 !== end || offset > end || end > bytes.length) {
      throw new RingpoolRangeError(
        'ERR_RINGPOOL_OUT_OF_RANGE',
        `Decoder.reset(): need 0 <= offset <= end <= ${bytes.length} (integers), got offset ${offset}, end ${end}`,
      );
    }
    let base = this.#base;
    if (bytes !== this.#last || base + end > this.#mem.length) {
      const mem = bytes.buffer;
      if (mem !== this.#mem.buffer || mem.byteLength !== this.#mem.length) {
        this.#mem = new Uint8Array(mem);
        this.#view = new DataView(mem);
        this.#text = null;
      }
      base = bytes.byteOffset;
      this.#base = base;
      this.#last = bytes;
    }
    this.#pos = base + offset;
    this.#end = base + end;
    if (this.#nrefs !== 0) this.#clearRefs();
  }

  /** Position of the next read, as an index into the bytes given to reset(). */
  get offset(): number {
    return this.#pos - this.#base;
  }

  get remaining(): number {
    return this.#end - this.#pos;
  }

  readU8(): number {
    if (this.#pos >= this.#end) throw truncated();
    return this.#mem[this.#pos++]!;
  }

  readU32(): number {
    const p = this.#take(4);
    return this.#view.getUint32(p, true);
  }

  readF64(): number {
    const p = this.#take(8);
    return this.#view.getFloat64(p, true);
  }

  /** Reads what Encoder.writeString wrote. */
  readString(): string {
    return this.#readStr(this.readU8());
  }

  /** Reads what Encoder.writeValue (or encodeError) wrote. */
  readValue(): unknown {
    if (this.#nrefs !== 0) this.#clearRefs();
    // A top-level plain object: nothing after it can refer to it (see #readObject).
    const v = this.#pos < this.#end && this.#mem[this.#pos] === Tag.Object ? (this.#pos++, this.#readObject(true)) : this.#read();
    if (this.#nrefs !== 0) this.#clearRefs();
    return v;
  }

  // ---- internals shared with error-codec.ts (see internal.ts) ----

  [kReadNested](): unknown {
    return this.#read();
  }

  [kRegister](o: object): void {
    this.#refs[this.#nrefs++] = o;
  }

  #clearRefs(): void {
    const refs = this.#refs;
    for (let i = 0, n = this.#nrefs; i < n; i++) refs[i] = undefined;
    this.#nrefs = 0;
    if (refs.length > kKeepRefSlots) this.#refs = [];
  }

  // ---- the fast path ----

  /** Consumes n bytes and returns where they start. */
  #take(n: number): number {
    const p = this.#pos;
    if (p + n > this.#end) throw truncated();
    this.#pos = p + n;
    return p;
  }

  /** A container's entry count, checked against the bytes left (each entry takes >= `min`). */
  #count(min: number): number {
    const n = this.readU32();
    if (n * min > this.#end - this.#pos) throw truncated();
    return n;
  }

  #textView(): Buffer {
    if (this.#text === null) this.#text = Buffer.from(this.#mem.buffer, 0, this.#mem.length);
    return this.#text;
  }

  /** A copy of the next n bytes, in a fresh (unshared, zero-offset) ArrayBuffer. */
  #copy(n: number): Uint8Array<ArrayBuffer> {
    const p = this.#take(n);
    const out = new Uint8Array(n);
    out.set(this.#mem.subarray(p, p + n));
    return out;
  }

  #readStr(tag: number): string {
    switch (tag) {
      case Tag.Ascii8:
        return this.#cachedAscii(this.readU8());
      case Tag.Utf8_8:
        return this.#utf8(this.readU8());
      case Tag.Ascii32:
        return this.#ascii(this.readU32());
      case Tag.Utf8_32:
        return this.#utf8(this.readU32());
      case Tag.Utf16: {
        const n = this.readU32();
        const p = this.#take(2 * n);
        return ucs2Slice.call(this.#textView(), p, p + 2 * n);
      }
      default:
        throw corrupt(`expected a string, found tag ${tag}`);
    }
  }

  #ascii(n: number): string {
    const p = this.#take(n);
    return n > kShortAscii ? latin1Slice.call(this.#textView(), p, p + n) : asciiShort(this.#mem, p, n);
  }

  /** A short ASCII string through the cache of strings.ts (keys, method names, enum-like values). */
  #cachedAscii(n: number): string {
    if (n > kMaxCached) return this.#ascii(n);
    return cachedAscii(this.#mem, this.#take(n), n);
  }

  #utf8(n: number): string {
    const p = this.#take(n);
    return utf8Slice.call(this.#textView(), p, p + n);
  }

  #read(): unknown {
    const tag = this.readU8();
    switch (tag) {
      case Tag.Undefined:
        return undefined;
      case Tag.Null:
        return null;
      case Tag.False:
        return false;
      case Tag.True:
        return true;
      case Tag.Int8:
        return (this.readU8() << 24) >> 24;
      case Tag.Int32:
        return this.#view.getInt32(this.#take(4), true);
      case Tag.Float64:
        return this.#view.getFloat64(this.#take(8), true);
      case Tag.Ascii8:
      case Tag.Utf8_8:
      case Tag.Ascii32:
      case Tag.Utf8_32:
      case Tag.Utf16:
        return this.#readStr(tag);
      case Tag.Array:
        return this.#readArray();
      case Tag.Object:
        return this.#readObject(false);
      case Tag.BigInt64:
        return this.#view.getBigInt64(this.#take(8), true);
      case Tag.BigInt: {
        const negative = this.readU8() !== 0;
        const hex = this.readString();
        if (!/^[0-9a-f]+$/.test(hex)) throw corrupt('bad bigint');
        const abs = BigInt(`0x${hex}`);
        return negative ? -abs : abs;
      }
      case Tag.Map: {
        const n = this.#count(2);
        const m = new Map<unknown, unknown>();
        this[kRegister](m);
        for (let i = 0; i < n; i++) {
          const k = this.#read();
          m.set(k, this.#read());
        }
        return m;
      }
      case Tag.Set: {
        const n = this.#count(1);
        const s = new Set<unknown>();
        this[kRegister](s);
        for (let i = 0; i < n; i++) s.add(this.#read());
        return s;
      }
      case Tag.Date: {
        const d = new Date(this.readF64());
        this[kRegister](d);
        return d;
      }
      case Tag.RegExp: {
        const source = this.readString();
        const re = new RegExp(source, this.readString());
        this[kRegister](re);
        return re;
      }
      case Tag.ArrayBuffer: {
        const ab = this.#copy(this.readU32()).buffer;
        this[kRegister](ab);
        return ab;
      }
      case Tag.View:
        return this.#readView();
      case Tag.Error:
        return readErrorBody(this);
      case Tag.BackRef: {
        const id = this.readU32();
        if (id >= this.#nrefs) throw corrupt(`back-reference ${id} to an object not yet read`);
        return this.#refs[id];
      }
      case Tag.Fallback: {
        const n = this.readU32();
        const p = this.#take(n);
        return deserializeFallback(this.#mem, p, p + n);
      }
      default:
        throw corrupt(`unknown tag ${tag}`);
    }
  }

  #readArray(): unknown[] {
    const n = this.#count(1);
    // new Array(n) then filling every slot (no holes remain) is ~2x faster than push().
    const a: unknown[] = new Array(n);
    this[kRegister](a);
    for (let i = 0; i < n; i++) a[i] = this.#read();
    return a;
  }

  /**
   * A plain object. While its values are primitives, keys and values go to #keys / #vals and
   * the object is made at the end, by a shape (shapes.ts) when its key sequence has one. At
   * the first value that is an object (or a back-reference), the object is made from what was
   * read so far and registered, so that the value can refer to it, and the rest is stored key
   * by key. Only the innermost object being read is ever in the first phase, so one pair of
   * scratch arrays serves every depth. A top-level object made in the first phase is not
   * registered: only a value read after it could refer to it, and there is none.
   */
  #readObject(top: boolean): Record<string, unknown> {
    const n = this.#count(2);
    const id = this.#nrefs++; // the object's id; #refs[id] is set once it exists
    const keys = this.#keys;
    const vals = this.#vals;
    let i = 0;
    let pending = false; // keys[i] read, its value not
    if (n <= kMaxKeys) {
      // Records of one shape usually follow each other: the last shape's keys are compared
      // with the bytes first, which costs less than the string cache's hash.
      const last = this.#lastShape;
      const guess = last !== null && last.keys.length === n ? last.keys : null;
      for (; i < n; i++) {
        const tag = this.readU8();
        if (tag === Tag.Ascii8) {
          const len = this.readU8();
          keys[i] = guess !== null && this.#skipIf(guess[i]!, len) ? guess[i]! : this.#cachedAscii(len);
        } else {
          keys[i] = this.#readStr(tag);
        }
        // Tags below Array are primitives (tags.ts); a missing byte is reported by #read.
        if (this.#pos < this.#end && this.#mem[this.#pos]! >= Tag.Array) {
          pending = true;
          break;
        }
        vals[i] = this.#read();
      }
      if (i === n) {
        const shape = this.#shapeOf(n);
        const o = shape !== null ? shape.make(vals, 0) : {};
        if (shape === null) for (let j = 0; j < n; j++) setOwn(o, keys[j]!, vals[j]);
        for (let j = 0; j < n; j++) vals[j] = undefined;
        if (top) this.#nrefs = id;
        else this.#refs[id] = o;
        return o;
      }
    }
    // Keys and values stored one by one from here.
    const o: Record<string, unknown> = {};
    this.#refs[id] = o;
    for (let j = 0; j < i; j++) {
      setOwn(o, keys[j]!, vals[j]);
      vals[j] = undefined;
    }
    if (pending) {
      setOwn(o, keys[i]!, this.#read());
      i++;
    }
    for (; i < n; i++) {
      const tag = this.readU8();
      const k = tag === Tag.Ascii8 ? this.#cachedAscii(this.readU8()) : this.#readStr(tag);
      setOwn(o, k, this.#read());
    }
    return o;
  }

  /** Whether the next len bytes are the ASCII string k; if so they are consumed. */
  #skipIf(k: string, len: number): boolean {
    const p = this.#pos;
    if (k.length !== len || p + len > this.#end) return false;
    const mem = this.#mem;
    for (let j = 0; j < len; j++) if (mem[p + j] !== k.charCodeAt(j)) return false;
    this.#pos = p + len;
    return true;
  }

  /** The shape of keys #keys[0, n): one of the last few used, else from the table (or null); it becomes #lastShape. */
  #shapeOf(n: number): Shape | null {
    const keys = this.#keys;
    const recent = this.#recent;
    for (let r = 0; r < recent.length; r++) {
      const s = recent[r]!;
      const sk = s.keys;
      if (sk.length !== n) continue;
      let j = 0;
      while (j < n && sk[j] === keys[j]) j++;
      if (j === n) return (this.#lastShape = s);
    }
    const s = shapeFor(keys, n);
    if (s !== null) {
      if (recent.length < kRecentShapes) recent.push(s);
      else recent[this.#nextRecent++ % kRecentShapes] = s;
      this.#lastShape = s;
    }
    return s;
  }

  #readView(): ArrayBufferView {
    const kind = this.readU8();
    const v = makeView(kind, this.#copy(this.readU32()));
    if (v === undefined) throw corrupt(`bad view kind ${kind} or length`);
    this[kRegister](v);
    return v;
  }
}

/** Taken at load, like FunctionCtor in shapes.ts: later changes to these globals do not reach the decoder. */
const ObjectProto = Object.prototype;
const defineProperty = Object.defineProperty;

/**
 * o[k] = v as structured clone defines it: an own data property. `o` is a fresh plain object,
 * so `o[k] = v` does that unless Object.prototype has k (`__proto__`, or a setter or read-only
 * property that some code added there): then the property is defined, so that no inherited
 * setter runs and no read-only key makes the assignment throw.
 */
function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k in ObjectProto) defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  else o[k] = v;
}
