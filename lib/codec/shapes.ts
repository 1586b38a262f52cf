/**
 * Object shapes for the decoder: a plain object whose values are all primitives is built by
 * a small generated function with an object literal, `(v, b) => ({ "k0": v[b], "k1": v[b + 1] })`,
 * instead of by one keyed store per property. Stores into a fresh `{}` from the decoder's one
 * call site go megamorphic as soon as records of a few shapes pass through it (~20 ns per
 * property); a literal gets its final map at once (a few ns for the whole object).
 *
 * A shape is made on the second sighting of a key sequence and kept per thread: at most
 * kMaxShapes of them, for objects of at most kMaxKeys keys. Keys come from the decoder's
 * string cache, so the same keys are usually the same string objects and the last shapes
 * used are matched by identity before the table (a joined-string lookup) is consulted.
 * Where code generation from strings is disallowed (node --disallow-code-generation-from-strings)
 * the first attempt fails and shapes stay off; decoding is then the same as without them.
 */

import { kMaxCached } from './strings';
import { Tag } from './tags';

/** Builds one object from v[b], v[b + 1], ... in key order. */
export type ShapeMaker = (v: unknown[], b: number) => Record<string, unknown>;

/**
 * Decodes the entries of an OBJECT body of this shape at mem[p, end) (just past its count)
 * straight into a literal, when every key is encoded as ASCII8 and every value is a
 * primitive of a simple kind (undefined, null, booleans, numbers, ASCII8 / UTF8_8 strings).
 * Returns null for anything else, having read nothing the caller must undo; on success the
 * position after the body is in readEnd.pos. ascii: the codec's short-ASCII string cache;
 * str(tag, p, n): a string of n bytes at p for a longer ASCII8 or a UTF8_8 string.
 */
export type ShapeReader = (
  mem: Uint8Array,
  view: DataView,
  p: number,
  end: number,
  ascii: (b: Uint8Array, p: number, n: number) => string,
  str: (tag: number, p: number, n: number) => string,
) => Record<string, unknown> | null;

/**
 * Encodes a plain object with exactly these own enumerable keys, in this order, whose values
 * are all simple primitives (numbers, booleans, null, undefined, ASCII strings of at most 85
 * characters), as Encoder's general path would: OBJECT, count, then each key and value. The
 * caller has made room for writeMax bytes at p. Returns the end position, or -1 when the
 * object is anything else (what was written past p is then garbage for the caller to
 * overwrite). Keys are enumerated and values read in the general path's order (for-in,
 * hasOwnProperty, one read per key), so getters run as often and in the same order.
 */
export type ShapeWriter = (o: object, buf: Uint8Array, view: DataView, p: number) => number;

export interface Shape {
  readonly keys: readonly string[];
  readonly make: ShapeMaker;
  /** null when a key is not ASCII of at most 255 characters. */
  readonly read: ShapeReader | null;
  /** null when a key is not ASCII of at most 85 characters (longer ones take another tag). */
  readonly write: ShapeWriter | null;
  /** Bytes write() may need. */
  readonly writeMax: number;
}

/** Longest ASCII string the encoder writes with a one-byte length (3 bytes per unit fit in 255). */
const kAsciiShortMax = 85;

/** Where the last successful ShapeReader stopped. */
export const readEnd = { pos: 0 };

/** Objects with more keys than this are built property by property. */
export const kMaxKeys = 16;
/** Shapes kept per thread; past it, new key sequences are built property by property. */
const kMaxShapes = 256;
/** Key sequences seen once (not yet shapes) remembered at most; cleared when full. */
const kMaxSeen = 1024;

/** Taken at load, so that later changes to the global Function do not reach the decoder. */
const FunctionCtor = Function;
const shapes = new Map<string, Shape>();
const seen = new Set<string>();
let enabled = true;

/**
 * The shape for keys[0, n), made now if this key sequence was seen before, or null (first
 * sighting, a `__proto__` key, the table full, or code generation unavailable).
 */
export function shapeFor(keys: readonly string[], n: number): Shape | null {
  if (!enabled) return null;
  let id = '';
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    if (k === '__proto__') return null; // a literal would set the prototype instead
    // '\u0000' cannot end a key and start the next one ambiguously: lengths go first.
    id += `${k.length}\u0000${k}`;
  }
  const known = shapes.get(id);
  if (known !== undefined) return known;
  if (shapes.size >= kMaxShapes) return null;
  if (!seen.has(id)) {
    if (seen.size >= kMaxSeen) seen.clear();
    seen.add(id);
    return null;
  }
  seen.delete(id);
  const own = keys.slice(0, n);
  let body = 'return {';
  for (let i = 0; i < n; i++) body += `${JSON.stringify(own[i])}: v[b + ${i}],`;
  body += '};';
  let make: ShapeMaker;
  let read: ShapeReader | null;
  let write: ShapeWriter | null;
  try {
    make = new FunctionCtor('v', 'b', body) as ShapeMaker;
    read = compileReader(own);
    write = compileWriter(own);
  } catch {
    enabled = false; // code generation from strings is disallowed in this isolate
    return null;
  }
  let writeMax = 5;
  for (const k of own) writeMax += 2 + k.length + 2 + kAsciiShortMax;
  const shape: Shape = { keys: own, make, read, write, writeMax };
  shapes.set(id, shape);
  return shape;
}

/**
 * The ShapeReader of these keys, or null when one is not ASCII of at most 255 characters
 * (the encoder writes such keys as ASCII8: tag, length byte, the characters). Key bytes are
 * compared as constants; each value is read by an inline switch over the simple primitive
 * tags, with a bounds check before every read, so that truncated or unexpected input makes
 * it return null and the caller's general path reports it.
 */
function compileReader(keys: readonly string[]): ShapeReader | null {
  let body = `'use strict';\nlet t = 0, n = 0;\n`;
  const vars: string[] = [];
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (k.length > 255) return null;
    const checks = [`p + ${k.length + 3} > end`, `mem[p] !== ${Tag.Ascii8}`, `mem[p + 1] !== ${k.length}`];
    for (let j = 0; j < k.length; j++) {
      const c = k.charCodeAt(j);
      if (c >= 0x80) return null;
      checks.push(`mem[p + ${j + 2}] !== ${c}`);
    }
    const v = `v${i}`;
    vars.push(v);
    body += `let ${v};
if (${checks.join(' || ')}) return null;
p += ${k.length + 2};
t = mem[p];
if (t === ${Tag.Int32}) { if (p + 5 > end) return null; ${v} = view.getInt32(p + 1, true); p += 5; }
else if (t === ${Tag.Int8}) { if (p + 2 > end) return null; ${v} = (mem[p + 1] << 24) >> 24; p += 2; }
else if (t === ${Tag.Ascii8} || t === ${Tag.Utf8_8}) {
  if (p + 2 > end) return null;
  n = mem[p + 1];
  if (p + 2 + n > end) return null;
  ${v} = t === ${Tag.Ascii8} && n <= ${kMaxCached} ? ascii(mem, p + 2, n) : str(t, p + 2, n);
  p += 2 + n;
}
else if (t === ${Tag.Float64}) { if (p + 9 > end) return null; ${v} = view.getFloat64(p + 1, true); p += 9; }
else if (t === ${Tag.True}) { ${v} = true; p += 1; }
else if (t === ${Tag.False}) { ${v} = false; p += 1; }
else if (t === ${Tag.Null}) { ${v} = null; p += 1; }
else if (t === ${Tag.Undefined}) { ${v} = undefined; p += 1; }
else return null;
`;
  }
  body += `out.pos = p;\nreturn {${keys.map((k, i) => `${JSON.stringify(k)}: ${vars[i]}`).join(', ')}};`;
  const factory = new FunctionCtor('out', `return function read(mem, view, p, end, ascii, str) {\n${body}\n};`) as (
    out: { pos: number },
  ) => ShapeReader;
  return factory(readEnd);
}

/**
 * The ShapeWriter of these keys, or null when one is not ASCII of at most kAsciiShortMax
 * characters. Each key is matched by identity with the enumerated one (for-in yields the
 * same internalized strings) and its bytes are written as constants; each value goes
 * through the general path's number and short-ASCII encodings, inline.
 */
function compileWriter(keys: readonly string[]): ShapeWriter | null {
  const n = keys.length;
  let cases = '';
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    if (k.length > kAsciiShortMax) return null;
    let put = `buf[p] = ${Tag.Ascii8}; buf[p + 1] = ${k.length};`;
    for (let j = 0; j < k.length; j++) {
      const c = k.charCodeAt(j);
      if (c >= 0x80) return null;
      put += ` buf[p + ${j + 2}] = ${c};`;
    }
    const lit = JSON.stringify(k);
    cases += `case ${i}: if (k !== ${lit} || !hasOwn.call(o, k)) return -1; ${put} p += ${k.length + 2}; v = o[${lit}]; break;\n`;
  }
  const body = `'use strict';
return function write(o, buf, view, p) {
  buf[p] = ${Tag.Object}; buf[p + 1] = ${n}; buf[p + 2] = 0; buf[p + 3] = 0; buf[p + 4] = 0;
  p += 5;
  let i = 0, v, m = 0, j = 0, c = 0;
  for (const k in o) {
    switch (i) {
${cases}    default: return -1;
    }
    i++;
    if (typeof v === 'number') {
      if ((v | 0) === v && (v !== 0 || 1 / v > 0)) {
        if (v >= -128 && v <= 127) { buf[p] = ${Tag.Int8}; buf[p + 1] = v; p += 2; }
        else { buf[p] = ${Tag.Int32}; view.setInt32(p + 1, v, true); p += 5; }
      } else { buf[p] = ${Tag.Float64}; view.setFloat64(p + 1, v, true); p += 9; }
    } else if (typeof v === 'string') {
      m = v.length;
      if (m > ${kAsciiShortMax}) return -1;
      for (j = 0; j < m; j++) {
        c = v.charCodeAt(j);
        if (c >= 0x80) return -1;
        buf[p + 2 + j] = c;
      }
      buf[p] = ${Tag.Ascii8}; buf[p + 1] = m; p += 2 + m;
    } else if (v === true) { buf[p++] = ${Tag.True}; }
    else if (v === false) { buf[p++] = ${Tag.False}; }
    else if (v === null) { buf[p++] = ${Tag.Null}; }
    else if (v === undefined) { buf[p++] = ${Tag.Undefined}; }
    else return -1;
  }
  return i === ${n} ? p : -1;
};`;
  return (new FunctionCtor('hasOwn', body) as (hasOwn: typeof Object.prototype.hasOwnProperty) => ShapeWriter)(
    Object.prototype.hasOwnProperty,
  );
}
