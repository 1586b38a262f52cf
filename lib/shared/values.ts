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

/** Encodes v; the returned view is valid until the next encodeValue. Throws DataCloneError. */
export function encodeValue(v: unknown, what: string): Uint8Array {
  encoder.reset();
  try {
    encoder.writeValue(v);
  } catch (err) {
    if (err instanceof NeedsPortError) {
      throw new DataCloneError(
        `${what}: the value holds a SharedArrayBuffer, a view of one, or a host object (MessagePort, KeyObject, ...); ` +
          'shared collections store copies of values, so these cannot be stored',
      );
    }
    throw err;
  }
  return encoder.bytes();
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
