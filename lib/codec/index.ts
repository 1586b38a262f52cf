/**
 * The value codec of the worker pool: JS values <-> bytes for task arguments and results
 * travelling through shared-memory channels. Fast path for the common types, v8
 * serializer bytes for the rest of what structured clone accepts. Format: tags.ts.
 *
 * Semantics are structured clone's (shared references and cycles included, within one
 * writeValue call), except:
 * - a Buffer decodes as a Buffer (structured clone gives a Uint8Array);
 * - a typed array / DataView / Buffer carries only its own bytes: it decodes over a fresh
 *   ArrayBuffer of exactly that size at offset 0, and views that shared one ArrayBuffer
 *   no longer share it (structured clone copies the whole buffer and keeps the sharing);
 * - named (non-index) properties of arrays are not carried;
 * - Errors keep more: their name (custom classes too), `code`, `cause`, own enumerable
 *   properties and, for AggregateError, `errors` (error-codec.ts);
 * - Proxies and `arguments` objects are encoded like plain objects instead of refused;
 * - values holding shared memory or Node host objects (BlockList, KeyObject, Blob,
 *   MessagePort, ...) throw NeedsPortError: postMessage's job, not the byte channel's.
 * A value the fast path does not handle — a class instance, a boxed primitive, a sparse
 * array, a subclass of Map/Set/Date/RegExp, nesting deeper than 256 — goes through the
 * v8 serializer as a whole, with its rules (so an Error inside it keeps only its message,
 * stack, standard name and cause).
 */
export { Encoder } from './encoder';
export { Decoder } from './decoder';
export { encodeError, decodeError } from './error-codec';
export { DataCloneError, NeedsPortError } from './codec-errors';
