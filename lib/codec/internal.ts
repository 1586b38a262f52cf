/**
 * Hooks that let error-codec.ts reach into Encoder and Decoder without making these
 * operations public: symbol-keyed members whose symbols only lib/codec imports.
 */
import type { ObjectIds } from './object-ids';

export const kWriteNested = Symbol('kWriteNested');
export const kWriteFallback = Symbol('kWriteFallback');
export const kRegister = Symbol('kRegister');
export const kIds = Symbol('kIds');
export const kWriteErrorTop = Symbol('kWriteErrorTop');
export const kReadNested = Symbol('kReadNested');

/** What error-codec.ts needs from an Encoder. */
export interface EncoderInternals {
  writeU8(n: number): void;
  writeString(s: string): void;
  writeValue(v: unknown): void;
  mark(): number;
  rewind(mark: number): void;
  /** Writes a value nested at `depth` (ids continue those of the enclosing value). */
  [kWriteNested](v: unknown, depth: number): void;
  /** Writes `v` as v8 serializer bytes under Tag.Fallback. */
  [kWriteFallback](v: unknown): void;
  /** Object ids of the value being written (a failed field write truncates them back). */
  readonly [kIds]: ObjectIds;
}

/** What error-codec.ts needs from a Decoder. */
export interface DecoderInternals {
  readU8(): number;
  readString(): string;
  [kReadNested](): unknown;
  [kRegister](o: object): void;
}
