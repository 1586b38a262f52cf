/**
 * String helpers of the codec that need no Encoder/Decoder state. Strings travel as ASCII
 * or UTF-8 when well-formed and as UTF-16 when they hold lone surrogates, which UTF-8
 * cannot carry and structured clone keeps (tags.ts).
 */

const stringIsWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;
const kLoneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** No lone surrogates (String.prototype.isWellFormed where Node has it: one fast pass). */
export function isWellFormed(s: string): boolean {
  return stringIsWellFormed !== undefined ? stringIsWellFormed.call(s) : !kLoneSurrogate.test(s);
}

/**
 * UTF-8-encodes s[i..] into buf at p (the caller guarantees 3 bytes per remaining UTF-16
 * unit) and returns the end position, or -1 if s holds a lone surrogate.
 */
export function writeUtf8Tail(s: string, i: number, buf: Uint8Array, p: number): number {
  const n = s.length;
  for (; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      buf[p++] = c;
    } else if (c < 0x800) {
      buf[p++] = 0xc0 | (c >> 6);
      buf[p++] = 0x80 | (c & 0x3f);
    } else if (c < 0xd800 || c > 0xdfff) {
      buf[p++] = 0xe0 | (c >> 12);
      buf[p++] = 0x80 | ((c >> 6) & 0x3f);
      buf[p++] = 0x80 | (c & 0x3f);
    } else {
      const lo = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || lo < 0xdc00 || lo > 0xdfff) return -1;
      c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
      i++;
      buf[p++] = 0xf0 | (c >> 18);
      buf[p++] = 0x80 | ((c >> 12) & 0x3f);
      buf[p++] = 0x80 | ((c >> 6) & 0x3f);
      buf[p++] = 0x80 | (c & 0x3f);
    }
  }
  return p;
}

/** Writes the UTF-16 code units of s, little-endian, at p (room for 2 bytes per unit); returns the end. */
export function writeUtf16Units(s: string, buf: Uint8Array, p: number): number {
  for (let i = 0, n = s.length; i < n; i++) {
    const c = s.charCodeAt(i);
    buf[p++] = c & 0xff;
    buf[p++] = c >>> 8;
  }
  return p;
}

/** Buffer's native slicers (on Buffer.prototype since Node 0.x; undocumented). */
interface BufferSlicers {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
  ucs2Slice(start: number, end: number): string;
}

const proto = Buffer.prototype as unknown as Partial<BufferSlicers>;

/** Decoders of byte ranges of a Buffer, through the native slicers when Node has them. */
export const latin1Slice: (this: Buffer, start: number, end: number) => string =
  proto.latin1Slice ?? function (this: Buffer, start, end) { return this.toString('latin1', start, end); };
export const utf8Slice: (this: Buffer, start: number, end: number) => string =
  proto.utf8Slice ?? function (this: Buffer, start, end) { return this.toString('utf8', start, end); };
/** Keeps lone surrogates (unlike TextDecoder('utf-16le')). */
export const ucs2Slice: (this: Buffer, start: number, end: number) => string =
  proto.ucs2Slice ?? function (this: Buffer, start, end) { return this.toString('ucs2', start, end); };

const fcc = String.fromCharCode;

/**
 * ASCII bytes b[p, p + n) as a string, for short n: one String.fromCharCode call per 8
 * characters, which beats both per-character concatenation and a native slicer call.
 */
export function asciiShort(b: Uint8Array, p: number, n: number): string {
  switch (n) {
    case 0: return '';
    case 1: return fcc(b[p]!);
    case 2: return fcc(b[p]!, b[p + 1]!);
    case 3: return fcc(b[p]!, b[p + 1]!, b[p + 2]!);
    case 4: return fcc(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!);
    case 5: return fcc(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!);
    case 6: return fcc(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!);
    case 7: return fcc(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!);
    case 8: return fcc(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!);
    default: return asciiShort(b, p, 8) + asciiShort(b, p + 8, n - 8);
  }
}

/**
 * Short decoded ASCII strings by a hash of their bytes, shared by the decoders of a thread;
 * a slot holds the last string that hashed there. Bounded: kCacheSize strings of at most
 * kMaxCached characters.
 */
const kCacheSize = 1024;
export const kMaxCached = 24;
const cache: Array<string | undefined> = new Array<string | undefined>(kCacheSize).fill(undefined);

/**
 * ASCII bytes b[p, p + n), n <= kMaxCached, as a string, from the cache when it holds
 * those bytes. Object keys, method names and enum-like values repeat across objects and
 * records: a hit builds nothing and returns the same (soon internalized) string, so a
 * property store with it as key skips the string-table lookup. A miss costs the hash.
 */
export function cachedAscii(b: Uint8Array, p: number, n: number): string {
  let h = n;
  for (let i = p; i < p + n; i++) h = (Math.imul(h, 31) + b[i]!) | 0;
  const slot = (h ^ (h >>> 13)) & (kCacheSize - 1);
  const hit = cache[slot];
  if (hit !== undefined && hit.length === n) {
    let i = 0;
    while (i < n && hit.charCodeAt(i) === b[p + i]) i++;
    if (i === n) return hit;
  }
  const s = asciiShort(b, p, n);
  cache[slot] = s;
  return s;
}
