/** String helpers of the codec that do not depend on Encoder/Decoder state. */

/**
 * UTF-8-encodes s[i..] into buf at p (the caller guarantees 3 bytes per remaining UTF-16
 * unit) and returns the end position, or -1 if s holds a lone surrogate, which UTF-8
 * cannot carry (the caller then writes the string as UTF-16).
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

/** Buffer's native slicers (present on Buffer.prototype since Node 0.x; undocumented). */
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
