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

/** Builds one object from v[b], v[b + 1], ... in key order. */
export type ShapeMaker = (v: unknown[], b: number) => Record<string, unknown>;

export interface Shape {
  readonly keys: readonly string[];
  readonly make: ShapeMaker;
}

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
  try {
    make = new FunctionCtor('v', 'b', body) as ShapeMaker;
  } catch {
    enabled = false; // code generation from strings is disallowed in this isolate
    return null;
  }
  const shape: Shape = { keys: own, make };
  shapes.set(id, shape);
  return shape;
}
