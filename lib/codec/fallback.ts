/**
 * The slow path of the codec: values the fast path does not handle (class instances,
 * boxed primitives, sparse arrays, very deep data, ...) travel as v8 serializer bytes,
 * which keep every structured clone rule. Also: finding where an uncloneable thing sits
 * inside a value, for DataCloneError messages.
 */
import * as v8 from 'node:v8';
import { types } from 'node:util';
import { DataCloneError, NeedsPortError, describeUncloneable } from './codec-errors';
import { isShared } from './views';

/** The DefaultSerializer hooks this file overrides (not in @types/node). */
interface SerializerHooks {
  _writeHostObject(obj: object): void;
}

const baseWriteHostObject = (v8.DefaultSerializer.prototype as unknown as SerializerHooks)._writeHostObject;

/**
 * DefaultSerializer (so views keep their type, Buffer included, and only the view's bytes
 * are stored, like the fast path) that
 * - refuses shared memory with NeedsPortError (the default one would copy a view over a
 *   SharedArrayBuffer silently);
 * - refuses Node's host objects (BlockList, SocketAddress, KeyObject, Blob, MessagePort,
 *   ...) with NeedsPortError too: postMessage knows how to clone (or transfer, or
 *   refuse) them, v8.serialize does not;
 * - reports what structured clone refuses as DataCloneError.
 */
class FallbackSerializer extends v8.DefaultSerializer {
  _writeHostObject(obj: object): void {
    if (ArrayBuffer.isView(obj) && !isShared(obj.buffer)) {
      baseWriteHostObject.call(this, obj);
      return;
    }
    throw new NeedsPortError();
  }

  _getSharedArrayBufferId(): number {
    throw new NeedsPortError();
  }

  /** Called (not constructed) by the native serializer; what it returns is thrown. */
  _getDataCloneError(message: string): Error {
    return new DataCloneError(message);
  }
}

/** v8 serializer bytes of `value`; throws DataCloneError or NeedsPortError. */
export function serializeFallback(value: unknown): Uint8Array {
  const ser = new FallbackSerializer();
  ser.writeHeader();
  ser.writeValue(value);
  return ser.releaseBuffer();
}

/**
 * Decodes bytes from serializeFallback. They are copied first: the deserializer returns
 * typed arrays that point into its input, and the input may be shared channel memory
 * that the next record overwrites.
 */
export function deserializeFallback(bytes: Uint8Array, start: number, end: number): unknown {
  const der = new v8.DefaultDeserializer(bytes.slice(start, end));
  der.readHeader();
  return der.readValue();
}

const kMaxVisits = 100_000;

function isUncloneable(v: unknown): boolean {
  if (typeof v === 'function' || typeof v === 'symbol') return true;
  if (typeof v !== 'object' || v === null) return false;
  return (
    types.isProxy(v) ||
    types.isPromise(v) ||
    types.isWeakMap(v) ||
    types.isWeakSet(v) ||
    types.isGeneratorObject(v) ||
    types.isModuleNamespaceObject(v) ||
    types.isExternal(v) ||
    v instanceof WeakRef ||
    v instanceof FinalizationRegistry
  );
}

/**
 * Where the first uncloneable thing inside `root` is, as a path such as `[0].opts.fn`
 * ('' for the root itself), or undefined if none is found. Error path only: walks own
 * enumerable properties, array elements and Map/Set entries, each object once.
 */
export function findUncloneable(root: unknown): { path: string; value: unknown } | undefined {
  const seen = new Set<object>();
  const stack: Array<{ v: unknown; path: string }> = [{ v: root, path: '' }];
  while (stack.length > 0 && seen.size < kMaxVisits) {
    const { v, path } = stack.pop()!;
    if (isUncloneable(v)) return { path, value: v };
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    const next: Array<{ v: unknown; path: string }> = [];
    try {
      if (v instanceof Map) {
        let i = 0;
        for (const [k, x] of v) {
          next.push({ v: k, path: `${path}<Map key #${i}>` }, { v: x, path: `${path}<Map value #${i}>` });
          i++;
        }
      } else if (v instanceof Set) {
        let i = 0;
        for (const x of v) next.push({ v: x, path: `${path}<Set item #${i++}>` });
      } else if (!ArrayBuffer.isView(v)) {
        const isArray = Array.isArray(v);
        for (const k of Object.keys(v)) {
          const key = isArray && /^\d+$/.test(k) ? `[${k}]` : /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
          next.push({ v: (v as Record<string, unknown>)[k], path: path + key });
        }
        if (v instanceof Error && 'cause' in v) next.push({ v: v.cause, path: `${path}.cause` });
      }
    } catch {
      continue; // a throwing getter: nothing more to learn here
    }
    for (let i = next.length - 1; i >= 0; i--) stack.push(next[i]!);
  }
  return undefined;
}

/** A DataCloneError for `root` whose message names the culprit and its place in `root`. */
export function cloneErrorFor(root: unknown, fallbackMessage: string): DataCloneError {
  const found = findUncloneable(root);
  if (found === undefined) return new DataCloneError(fallbackMessage);
  const where = found.path === '' ? '' : ` (at ${found.path.startsWith('.') ? found.path.slice(1) : found.path})`;
  return new DataCloneError(`${describeUncloneable(found.value)} could not be cloned${where}.`);
}
