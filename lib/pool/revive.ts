/**
 * Shared structures (collections, locks) travel to and from workers through the MessagePort
 * path, where structured clone shares their SharedArrayBuffers but turns the objects into
 * plain ones. Such a class marks its instances with an own enumerable property
 * `__ringpool__: '<Kind>'` (plus whatever own fields its `from` needs) and registers a
 * reviver for that kind; the pool then turns the plain copies back into live instances on
 * arrival, at any depth of a task's arguments or result.
 */
export const kMarker = '__ringpool__';
const kRevivers = Symbol.for('ringpool.revivers');

type Reviver = (plain: Record<string, unknown>) => unknown;
const registry = globalThis as { [kRevivers]?: Map<string, Reviver> };

/** Registers how to rebuild instances of `kind` from their structured-clone copy. */
export function registerReviver(kind: string, reviver: Reviver): void {
  (registry[kRevivers] ??= new Map()).set(kind, reviver);
}

/** Replaces marked plain objects by live instances, in place where possible. */
export function revive(value: unknown, depth = 0): unknown {
  if (depth > 64 || value === null || typeof value !== 'object') return value;
  const revivers = (registry[kRevivers] ??= new Map());
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = revive(value[i], depth + 1);
    return value;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const o = value as Record<string, unknown>;
  const kind = o[kMarker];
  if (typeof kind === 'string') {
    let r = revivers.get(kind);
    if (!r) {
      // The structure's module registers its reviver when loaded: load them all once.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('../index');
      r = revivers.get(kind);
    }
    if (r) return r(o);
  }
  for (const k of Object.keys(o)) o[k] = revive(o[k], depth + 1);
  return value;
}
