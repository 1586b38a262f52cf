/**
 * SharedRecord: an object of named fields shared by every thread, built on a SharedMap with
 * string keys (plus a private kind marker under a number key). update(partial) writes several
 * fields atomically; toObject() reads a consistent snapshot of the values.
 */
import { RingpoolTypeError } from '../errors';
import { registerReviver } from '../pool/revive';
import { describe } from '../validate';
import { kKindKey, openKind } from './shared-array';
import { SharedMap, type SharedMapOptions, type SharedMemoryInfo } from './shared-map';
import { runSync } from './transaction';
import { type WatchEvent, type WatchOptions } from './watch';

function assertField(k: unknown, what: string): asserts k is string {
  if (typeof k !== 'string') {
    throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `${what}: field names must be strings, got ${describe(k)}`);
  }
}

function assertPlainObject(o: unknown, what: string): asserts o is Record<string, unknown> {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) {
    throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `${what}: expected an object of fields, got ${describe(o)}`);
  }
}

const kAttach = Symbol('kAttach');

export class SharedRecord<T extends Record<string, unknown> = Record<string, unknown>> {
  /** Marks instances for the pool's reviver (see lib/pool/revive.ts). */
  readonly __ringpool__ = 'SharedRecord' as const;
  /** The SharedArrayBuffer holding the record; SharedRecord.from(handle) attaches to it elsewhere. */
  readonly handle: SharedArrayBuffer;
  readonly #map: SharedMap;

  /** A record holding copies of initial's own enumerable fields. Options as for SharedMap. */
  constructor(initial: T = {} as T, options: SharedMapOptions = {}) {
    const attached = (initial as { [kAttach]?: SharedMap } | null)?.[kAttach];
    if (attached !== undefined) {
      this.#map = attached;
    } else {
      assertPlainObject(initial, 'SharedRecord');
      const entries: [string | number, unknown][] = Object.entries(initial);
      this.#map = new SharedMap(options);
      entries.push([kKindKey, 'SharedRecord']);
      this.#map.setMany(entries);
    }
    this.handle = this.#map.handle;
  }

  static from<T extends Record<string, unknown> = Record<string, unknown>>(handle: SharedArrayBuffer): SharedRecord<T> {
    const map = openKind(handle, 'SharedRecord', 'SharedRecord.from');
    return new SharedRecord<T>({ [kAttach]: map } as unknown as T);
  }

  get memory(): SharedMemoryInfo {
    return this.#map.memory;
  }

  get<K extends keyof T & string>(field: K): T[K] | undefined {
    assertField(field, 'SharedRecord.get');
    return this.#map.get(field) as T[K] | undefined;
  }

  has(field: string): boolean {
    assertField(field, 'SharedRecord.has');
    return this.#map.has(field);
  }

  set<K extends keyof T & string>(field: K, value: T[K]): this {
    assertField(field, 'SharedRecord.set');
    this.#map.set(field, value);
    return this;
  }

  delete(field: string): boolean {
    assertField(field, 'SharedRecord.delete');
    return this.#map.delete(field);
  }

  /** Writes every own field of partial, atomically (all or nothing). */
  update(partial: Partial<T>): this {
    assertPlainObject(partial, 'SharedRecord.update');
    const entries = Object.entries(partial);
    runSync(() => {
      for (const [k, v] of entries) this.#map.set(k, v);
    }, false, 'SharedRecord.update');
    return this;
  }

  /** Field names (a snapshot). */
  keys(): string[] {
    const out: string[] = [];
    for (const k of this.#map.keys()) if (typeof k === 'string') out.push(k);
    return out;
  }

  /** A plain object with every field; the values are one consistent snapshot. */
  toObject(): T {
    const fields = this.keys();
    return runSync(() => {
      const o: Record<string, unknown> = {};
      for (const k of fields) if (this.#map.has(k)) o[k] = this.#map.get(k);
      return o as T;
    }, true, 'SharedRecord.toObject');
  }

  /** Changes of one field (events as SharedMap.watch). */
  watch<K extends keyof T & string>(field: K, options?: WatchOptions): AsyncIterableIterator<WatchEvent<K, T[K]>> {
    assertField(field, 'SharedRecord.watch');
    return this.#map.watch(field, options) as unknown as AsyncIterableIterator<WatchEvent<K, T[K]>>;
  }

  get [Symbol.toStringTag](): string {
    return 'SharedRecord';
  }
}

registerReviver('SharedRecord', (plain) => SharedRecord.from(plain.handle as SharedArrayBuffer));
