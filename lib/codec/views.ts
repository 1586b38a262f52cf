/** ArrayBuffer views on the wire (Tag.View): which kind a view is, and making one back. */
import { types } from 'node:util';
import { kFallback } from './codec-errors';
import { ViewKind } from './tags';

const typedArrayTag = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag)!
  .get as (this: ArrayBufferView) => string | undefined;

/** Whether `ab` is shared memory (any realm). */
export function isShared(ab: ArrayBufferLike): boolean {
  return !(ab instanceof ArrayBuffer) && (ab instanceof SharedArrayBuffer || types.isSharedArrayBuffer(ab));
}

/** The kind of a view; subclasses count as their base type. Throws kFallback for unknown kinds. */
export function viewKind(v: ArrayBufferView): ViewKind {
  switch (typedArrayTag.call(v)) {
    case 'Uint8Array': return v instanceof Buffer ? ViewKind.Buffer : ViewKind.Uint8;
    case 'Int8Array': return ViewKind.Int8;
    case 'Uint8ClampedArray': return ViewKind.Uint8Clamped;
    case 'Int16Array': return ViewKind.Int16;
    case 'Uint16Array': return ViewKind.Uint16;
    case 'Int32Array': return ViewKind.Int32;
    case 'Uint32Array': return ViewKind.Uint32;
    case 'Float32Array': return ViewKind.Float32;
    case 'Float64Array': return ViewKind.Float64;
    case 'BigInt64Array': return ViewKind.BigInt64;
    case 'BigUint64Array': return ViewKind.BigUint64;
    case undefined: return ViewKind.DataView;
    default: throw kFallback; // a view type newer than this codec (Float16Array, ...): v8 knows it
  }
}

type ViewCtor = new (buffer: ArrayBuffer) => ArrayBufferView;
/** Indexed by ViewKind (Uint8 and Buffer are handled apart). */
const kCtors: readonly ViewCtor[] = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView,
];
const kUnit: readonly number[] = [1, 1, 1, 2, 2, 4, 4, 4, 8, 8, 8, 1];

/**
 * A view of `kind` over all of `bytes` (a fresh, unshared, zero-offset copy, so any
 * alignment works), or undefined if kind or length is impossible.
 */
export function makeView(kind: number, bytes: Uint8Array<ArrayBuffer>): ArrayBufferView | undefined {
  if (kind === ViewKind.Uint8) return bytes;
  if (kind === ViewKind.Buffer) return Buffer.from(bytes.buffer, 0, bytes.length);
  const Ctor = kCtors[kind];
  if (Ctor === undefined || bytes.length % kUnit[kind]! !== 0) return undefined;
  return new Ctor(bytes.buffer);
}
