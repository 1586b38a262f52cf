/**
 * Values as bytes, through ringpool's value codec (lib/codec): whatever structured clone
 * accepts, except shared memory and host objects (a SharedArrayBuffer inside a value would be
 * copied, not shared, so it is refused rather than silently changed). One encoder and one
 * decoder per thread; the encoder's bytes are valid until the next encode.
 */
import { DataCloneError, Decoder, Encoder, NeedsPortError } from '../codec';

const encoder = new Encoder(4096);
const decoder = new Decoder();

/** Scratch for reads: values that fit are copied here by the native call, then decoded. */
let scratch = new Uint8Array(64 * 1024);

export function readScratch(): Uint8Array {
  return scratch;
}

/**
 * Whether this thread's encoder is in use. Encoding runs user code (a getter of the value, the
 * iterator given to encodeValues) that may itself store a value, e.g. SharedMap.set inside a
 * getter; that nested encode gets an encoder of its own so the outer record stays whole.
 */
let busy = false;

/** Encodes v; the returned view is valid until the next encodeValue. Throws DataCloneError. */
export function encodeValue(v: unknown, what: string): Uint8Array {
  if (busy) return writeChecked(new Encoder(256), v, what).bytes();
  busy = true;
  try {
    encoder.reset();
    return writeChecked(encoder, v, what).bytes();
  } finally {
    busy = false;
  }
}

export interface EncodedValues {
  /** The records back to back. */
  bytes: Uint8Array;
  /** lens[i], for i < count: the length of the i-th record. */
  lens: Uint32Array;
  count: number;
}

/**
 * Encodes every value of xs, one after another. The result is valid until the next encode.
 * Throws as encodeValue does.
 */
export function encodeValues(xs: Iterable<unknown>, what: string): EncodedValues {
  if (busy) return writeMany(new Encoder(256), new Uint32Array(16), xs, what);
  busy = true;
  try {
    encoder.reset();
    const out = writeMany(encoder, manyLens, xs, what);
    manyLens = out.lens; // grown or not, kept for the next call
    return out;
  } finally {
    busy = false;
  }
}

/** The length table of encodeValues (grown as needed). */
let manyLens: Uint32Array = new Uint32Array(256);

function writeMany(e: Encoder, lens: Uint32Array, xs: Iterable<unknown>, what: string): EncodedValues {
  let count = 0;
  let start = e.mark();
  for (const x of xs) {
    const end = writeChecked(e, x, what).mark();
    if (count === lens.length) {
      const grown = new Uint32Array(lens.length * 2);
      grown.set(lens);
      lens = grown;
    }
    lens[count++] = end - start;
    start = end;
  }
  return { bytes: e.bytes(), lens, count };
}

/** e.writeValue(v), reporting shared memory and host objects as collections do; returns e. */
function writeChecked(e: Encoder, v: unknown, what: string): Encoder {
  try {
    e.writeValue(v);
  } catch (err) {
    if (err instanceof NeedsPortError) {
      throw new DataCloneError(
        `${what}: the value holds a SharedArrayBuffer, a view of one, or a host object (MessagePort, KeyObject, ...); ` +
          'shared collections store copies of values, so these cannot be stored',
      );
    }
    throw err;
  }
  return e;
}

/** A private copy of encodeValue's result (for values kept across other encodes). */
export function encodeValueCopy(v: unknown, what: string): Uint8Array {
  return encodeValue(v, what).slice();
}

/** Decodes bytes[off, off + len). */
export function decodeValue(bytes: Uint8Array, off: number, len: number): unknown {
  decoder.reset(bytes, off, off + len);
  return decoder.readValue();
}

/** Grows the read scratch when values keep arriving larger than it (keeps later reads copy-free). */
export function noteLargeValue(len: number): void {
  if (len <= scratch.length || len > 4 * 1024 * 1024) return;
  let cap = scratch.length;
  while (cap < len) cap *= 2;
  scratch = new Uint8Array(cap);
}
