/** Errors of the value codec, and the internal signals its encoder uses. */
import { RingpoolError, RingpoolRangeError, RingpoolTypeError } from '../errors';

/**
 * A value (or something inside it) cannot be sent to another thread: a function, a
 * symbol, a WeakMap, a Promise, ... — whatever structured clone refuses. The message
 * names the culprit and, when it can be found, where it sits inside the value.
 */
export class DataCloneError extends RingpoolError {
  constructor(message: string) {
    super('ERR_RINGPOOL_DATA_CLONE', message);
  }
}

/**
 * Thrown by Encoder.writeValue when the value cannot travel as bytes but postMessage may
 * send it: it holds a SharedArrayBuffer (or a view over one), whose memory must be shared
 * rather than copied, or one of Node's host objects (BlockList, SocketAddress, KeyObject,
 * Blob, X509Certificate, MessagePort, ...) that only Node's messaging knows how to clone
 * or transfer. The pool then sends the task through a MessagePort instead of the byte
 * channel. Not a failure the user sees (postMessage may still refuse the value).
 */
export class NeedsPortError extends Error {
  constructor() {
    super('The value holds shared memory or a host object; it must travel through a MessagePort');
    this.name = 'NeedsPortError';
  }
}

/**
 * Internal signal: "this value needs the v8 serializer". Thrown from deep inside the
 * fast path and caught by the top-level writer; never escapes the codec. A frozen plain
 * object rather than an Error so that throwing it captures no stack trace.
 */
export const kFallback: object = Object.freeze({ kFallback: true });

/** The bytes being decoded end before the value does. */
export function truncated(): RingpoolRangeError {
  return new RingpoolRangeError('ERR_RINGPOOL_OUT_OF_RANGE', 'Codec: the record ends in the middle of a value');
}

/** The bytes being decoded are not a value this codec wrote. */
export function corrupt(what: string): RingpoolTypeError {
  return new RingpoolTypeError('ERR_RINGPOOL_BAD_LAYOUT', `Codec: corrupt record (${what})`);
}

/** A short description of a value that could not be cloned, for error messages. */
export function describeUncloneable(v: unknown): string {
  if (typeof v === 'function') return `function ${v.name === '' ? '<anonymous>' : v.name}`;
  if (typeof v === 'symbol') return v.toString();
  if (typeof v === 'object' && v !== null) {
    const tag = Object.prototype.toString.call(v).slice(8, -1);
    const ctor = (v as { constructor?: unknown }).constructor;
    const name = typeof ctor === 'function' && ctor.name !== '' ? ctor.name : tag;
    return `#<${name}>`;
  }
  return typeof v;
}
