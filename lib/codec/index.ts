/**
 * The value codec of the worker pool: JS values <-> bytes for task arguments and results
 * travelling through shared-memory channels. Fast path for the common types, v8
 * serializer bytes for the rest of what structured clone accepts. Format: tags.ts.
 */
export { Encoder } from './encoder';
export { Decoder } from './decoder';
export { encodeError, decodeError } from './error-codec';
export { DataCloneError, NeedsPortError } from './codec-errors';
