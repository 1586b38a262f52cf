/**
 * Errors on the wire (Tag.Error). Unlike structured clone, which keeps only the message,
 * the stack and one of the standard names, an Error here keeps its name (custom classes
 * included), message, stack, `code`, `cause`, AggregateError's `errors` and its own
 * enumerable properties.
 *
 * Body:  u8 ErrorFlag bits, string name, [string message], [string stack],
 *        then fields (ErrorField kind, [string key], value) until ErrorField.End.
 * The error gets its object id after the header, before its fields, so a field may point
 * back at the error (err.cause = err) or at anything met earlier in the value.
 *
 * Errors are diagnostics, so encoding one never fails for the sake of a field: a field
 * that cannot be cloned (a function, a socket, shared memory) is dropped; one the fast
 * path cannot do (a class instance, very deep data) travels alone as v8 serializer bytes.
 *
 * Decoded errors are real Errors built by the standard constructors (Error, TypeError,
 * RangeError, SyntaxError, ReferenceError, EvalError, URIError, AggregateError); any
 * other name gives an Error with an own non-enumerable `name`. The stack is the
 * sender's stack string; no new stack trace is captured.
 */
import { types } from 'node:util';
import type { Decoder } from './decoder';
import type { Encoder } from './encoder';
import { corrupt, describeUncloneable, kFallback } from './codec-errors';
import {
  kIds,
  kReadNested,
  kRegister,
  kWriteErrorTop,
  kWriteFallback,
  kWriteNested,
  type DecoderInternals,
  type EncoderInternals,
} from './internal';
import { ErrorField, ErrorFlag, Tag } from './tags';

type AnyErrorConstructor = new (message?: string) => Error;

const kStandardErrors: ReadonlyMap<string, AnyErrorConstructor> = new Map<string, AnyErrorConstructor>([
  ['Error', Error],
  ['TypeError', TypeError],
  ['RangeError', RangeError],
  ['SyntaxError', SyntaxError],
  ['ReferenceError', ReferenceError],
  ['EvalError', EvalError],
  ['URIError', URIError],
]);

/** Reads a property, treating a throwing getter as absent. */
function get(o: object, key: string): unknown {
  try {
    return (o as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

function safeString(v: unknown): string {
  try {
    return typeof v === 'symbol' ? v.toString() : String(v);
  } catch {
    return describeUncloneable(v);
  }
}

/** One optional field; dropped (bytes and ids undone) if its value cannot be encoded. */
function writeField(enc: EncoderInternals, kind: ErrorField, src: object, key: string, depth: number): void {
  const mark = enc.mark();
  const ids = enc[kIds].count;
  let value: unknown;
  try {
    value = (src as Record<string, unknown>)[key];
    enc.writeU8(kind);
    if (kind === ErrorField.Prop) enc.writeString(key);
    enc[kWriteNested](value, depth + 1);
    return;
  } catch (err) {
    enc.rewind(mark);
    enc[kIds].truncate(ids);
    if (err !== kFallback) return;
  }
  try {
    enc.writeU8(kind);
    if (kind === ErrorField.Prop) enc.writeString(key);
    enc[kWriteFallback](value);
  } catch {
    enc.rewind(mark);
  }
}

/**
 * Writes `err` as an Error value. `err` is usually an Error; encodeError also passes other
 * thrown objects (message then comes from their `message`, or `messageOverride`).
 */
export function writeErrorBody(enc: EncoderInternals, err: object, depth: number, messageOverride?: string): void {
  enc[kIds].add(err);
  const name = get(err, 'name');
  let message = get(err, 'message');
  if (typeof message !== 'string') message = messageOverride;
  const stack = get(err, 'stack');
  const flags = (typeof message === 'string' ? ErrorFlag.HasMessage : 0) | (typeof stack === 'string' ? ErrorFlag.HasStack : 0);
  enc.writeU8(Tag.Error);
  enc.writeU8(flags);
  enc.writeString(typeof name === 'string' ? name : 'Error');
  if (typeof message === 'string') enc.writeString(message);
  if (typeof stack === 'string') enc.writeString(stack);
  let keys: string[];
  try {
    keys = Object.keys(err);
  } catch {
    keys = [];
  }
  if (!keys.includes('code') && get(err, 'code') !== undefined) writeField(enc, ErrorField.Code, err, 'code', depth);
  if (!keys.includes('cause') && Object.hasOwn(err, 'cause')) writeField(enc, ErrorField.Cause, err, 'cause', depth);
  if (!keys.includes('errors') && Object.hasOwn(err, 'errors')) writeField(enc, ErrorField.Errors, err, 'errors', depth);
  for (const k of keys) writeField(enc, ErrorField.Prop, err, k, depth);
  enc.writeU8(ErrorField.End);
}

/**
 * encodeError's body. An Error becomes an Error record. Anything else thrown (a string,
 * a plain object, ...) is written as the value itself when it can be cloned, so the
 * receiver sees what was thrown; if it cannot be, as an Error record describing it.
 */
export function writeThrownValue(enc: EncoderInternals, thrown: unknown): void {
  const start = enc.mark();
  try {
    if (thrown instanceof Error || types.isNativeError(thrown)) return writeErrorBody(enc, thrown, 0);
    try {
      return enc.writeValue(thrown);
    } catch {
      // not cloneable (a function, a symbol, shared memory, a throwing getter): describe it
    }
    writeErrorBody(enc, typeof thrown === 'object' && thrown !== null ? thrown : {}, 0, safeString(thrown));
  } catch {
    // Only a failure of the encoder itself (out of memory) gets here; say so in the error.
    enc.rewind(start);
    enc[kIds].truncate(0);
    writeErrorBody(enc, {}, 0, 'The error thrown could not be encoded');
  }
}

/**
 * Appends `err`, anything thrown, as one value: an Error record for an Error, else the
 * value itself (an Error record describing it if it cannot be cloned). Never throws
 * because of what `err` holds. readValue returns what was thrown; decodeError an Error.
 */
export function encodeError(enc: Encoder, err: unknown): void {
  enc[kWriteErrorTop](err);
}

/**
 * Reads one value written by encodeError (or writeValue) as an Error: an Error as itself;
 * any other thrown value wrapped in an Error whose message is the value's `message` (or
 * the value as a string) and which carries the value's own enumerable properties.
 */
export function decodeError(dec: Decoder): Error {
  const v = dec.readValue();
  if (v instanceof Error) return v;
  const message = typeof v === 'object' && v !== null ? get(v, 'message') : undefined;
  const e = makeError('Error', typeof message === 'string' ? message : safeString(v));
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    for (const k of Object.keys(v)) if (k !== 'message') define(e, k, (v as Record<string, unknown>)[k], true);
  }
  return e;
}

function define(o: object, key: string, value: unknown, enumerable: boolean): void {
  Object.defineProperty(o, key, { value, writable: true, enumerable, configurable: true });
}

/** A real Error of the right class for `name`, without capturing a stack trace here. */
function makeError(name: string, message: string | undefined): Error {
  const Ctor = kStandardErrors.get(name);
  const limit = Error.stackTraceLimit;
  let lowered = false;
  try {
    Error.stackTraceLimit = 0; // the stack comes from the record; capturing one here is wasted work
    lowered = true;
  } catch {
    // Error.stackTraceLimit made read-only by someone: capture a stack, it is overwritten anyway
  }
  let e: Error;
  try {
    e = name === 'AggregateError' ? new AggregateError([], message) : new (Ctor ?? Error)(message);
  } finally {
    if (lowered) Error.stackTraceLimit = limit;
  }
  if (Ctor === undefined && name !== 'AggregateError') define(e, 'name', name, false);
  return e;
}

/** Reads an ERROR body (the tag byte already consumed). */
export function readErrorBody(dec: DecoderInternals): Error {
  const flags = dec.readU8();
  const name = dec.readString();
  const message = flags & ErrorFlag.HasMessage ? dec.readString() : undefined;
  const stack = flags & ErrorFlag.HasStack ? dec.readString() : undefined;
  const e = makeError(name, message);
  dec[kRegister](e);
  // `stack` is an own writable non-enumerable data property of a new Error: assigning keeps
  // that, and costs a fraction of defineProperty (which turns the error into a slow object).
  if (stack !== undefined) e.stack = stack;
  for (;;) {
    const kind = dec.readU8();
    switch (kind) {
      case ErrorField.End:
        return e;
      case ErrorField.Code:
        define(e, 'code', dec[kReadNested](), false);
        break;
      case ErrorField.Cause:
        define(e, 'cause', dec[kReadNested](), false);
        break;
      case ErrorField.Errors:
        define(e, 'errors', dec[kReadNested](), false);
        break;
      case ErrorField.Prop: {
        const key = dec.readString();
        const value = dec[kReadNested]();
        if (key === '__proto__' || Object.hasOwn(e, key)) define(e, key, value, true);
        else (e as unknown as Record<string, unknown>)[key] = value;
        break;
      }
      default:
        throw corrupt(`unknown error field ${kind}`);
    }
  }
}
