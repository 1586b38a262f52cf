/**
 * The shared collections' side of the native facade (src/bind_map.c, src/bind_squeue.c),
 * declared by merging into NativeBinding, plus this thread's set-up: its owner id in the
 * map's stripe locks is the one sync objects use (worker threadId + 1, see
 * lib/sync/native-sync.ts and src/map.h "DEAD OWNERS").
 *
 * Every function takes a length-tracking Int32Array over the collection's whole growable
 * SharedArrayBuffer. Writes that need more memory return the byte length the buffer must
 * grow to; the caller grows it (region.ts) and calls again.
 */
import { native as binding, type NativeBinding } from '../native';
import { kThreadId } from '../sync/native-sync';

export interface MapLayout {
  /** Int32 index of stripe 0, ints per stripe, and offsets inside a stripe. */
  readonly stripes: number;
  readonly stripeInts: number;
  readonly stCell: number;
  readonly stWatchers: number;
  readonly stRepairs: number;
  readonly allCell: number;
  readonly allWatchers: number;
  readonly clearEpoch: number;
  readonly maxStripes: number;
  readonly maxBuckets: number;
  readonly maxKey: number;
  readonly maxBytes: number;
}

/** Int32 indices of a SharedQueue's words, and slot constants (src/squeue.h LAYOUT). */
export interface QueueLayout {
  readonly notEmptySeq: number;
  readonly notEmptyWaiters: number;
  readonly roomSeq: number;
  readonly roomWaiters: number;
  readonly closed: number;
  readonly reserved: number;
  readonly released: number;
  readonly tail: number;
  readonly head: number;
  /** Int32 index of slot 0. */
  readonly slots: number;
  /** Bytes of a slot before its inline record (seq, info). */
  readonly slotHead: number;
  /** The info bit of a record kept in an arena block. */
  readonly infoRef: number;
  readonly maxCapacity: number;
  readonly maxBytes: number;
}

declare module '../native' {
  interface NativeBinding {
    // map (bind_map.c)
    mapSetup(id: number): void;
    mapLayout(): MapLayout;
    /** 0 for an impossible geometry. */
    mapHeaderBytes(stripes: number, buckets: number): number;
    mapInit(i32: Int32Array, stripes: number, buckets: number, maxBytes: number): void;
    /** [stripes, headerBytes, maxBytes]; throws ERR_RINGPOOL_BAD_LAYOUT. */
    mapCheck(i32: Int32Array): [number, number, number];
    /** -1 absent, a length (copied into out), or a fresh copy when longer than out. meta: [version, ms]. */
    mapGet(i32: Int32Array, key: Uint8Array, klen: number, out: Uint8Array, meta?: Float64Array): number | Uint8Array;
    /** This thread's key buffer and read scratch for mapGetBound (kept until the next call). */
    mapBind(key: Uint8Array, out: Uint8Array): void;
    /**
     * mapGet with the bound buffers: -1 absent, -2 longer than out (use mapGet), -3 the data
     * reaches past the end of i32 (a fixed-length view of a buffer that has grown since), or
     * the length copied into out.
     */
    mapGetBound(i32: Int32Array, klen: number): number;
    /** 0 done; > 0 grow the buffer to that many bytes and call again; -1 full; -2 too large. */
    mapSet(i32: Int32Array, key: Uint8Array, klen: number, val: Uint8Array, vlen: number): number;
    mapDelete(i32: Int32Array, key: Uint8Array, klen: number): boolean;
    mapClear(i32: Int32Array): void;
    mapSize(i32: Int32Array): number;
    /** [bytes in live entries, bytes ever carved, end of the carved region]. */
    mapMemory(i32: Int32Array): [number, number, number];
    mapStripeOf(i32: Int32Array, key: Uint8Array, klen: number): number;
    /** The stripe, or -1 - stripe when this thread already held it. */
    mapLock(i32: Int32Array, key: Uint8Array, klen: number): number;
    mapUnlock(i32: Int32Array, stripe: number): void;
    /** Bytes written (state[0]: cursor in/out, 0 afterwards = done), or -needed. */
    mapScan(i32: Int32Array, state: Uint32Array, out: Uint8Array, withValues: boolean): number;
    /** 0 committed, 1 conflict, 2 grow views[res[0]] to res[1], 3 full (views[res[0]]), 4 op res[0] too large. */
    mapCommit(views: Int32Array[], ops: Uint8Array, count: number, res: Float64Array): number;

    // SharedQueue (bind_squeue.c)
    squeueLayout(): QueueLayout;
    /** Header bytes of a queue of `capacity` with this maxBytes (0 for a bad capacity). */
    squeueHeaderBytes(capacity: number, maxBytes: number): number;
    squeueInit(i32: Int32Array, capacity: number, maxBytes: number): void;
    /** [capacity, maxBytes, headerBytes, ringCapacity, slotBytes, arenaOffset]. */
    squeueCheck(i32: Int32Array): [number, number, number, number, number, number];
    /** 0 | need (> 0: grow) | -1 no room | -2 memory full | -3 a record never fits | -4 closed. */
    squeueEnqueue(i32: Int32Array, bytes: Uint8Array, lens: Uint32Array, n: number): number;
    /** -1 empty, a length (copied into out), or a fresh copy when longer than out. */
    squeueDequeue(i32: Int32Array, out: Uint8Array): number | Uint8Array;
    /** The rest of a dequeue whose claim JS made at position pos (u32): like squeueDequeue, never -1. */
    squeueFinish(i32: Int32Array, pos: number, out: Uint8Array): number | Uint8Array;
    squeuePeek(i32: Int32Array, out: Uint8Array): number | Uint8Array;
    /** n records { u32 length; bytes; pad to 4 } in out, or [n, copy of one more that did not fit]. */
    squeueDequeueMany(i32: Int32Array, out: Uint8Array, max: number): number | [number, Uint8Array];
    squeueClose(i32: Int32Array): void;
    squeueClosed(i32: Int32Array): boolean;
    squeueClear(i32: Int32Array): number;
    squeueSize(i32: Int32Array): number;
  }
}

binding.mapSetup(kThreadId);

/**
 * The binding as a plain exported const: a re-export (`export { native }`) compiles to a getter,
 * which leaves this module's exports object in dictionary mode, and every `native.f(...)` in
 * the collections then paid a generic property lookup.
 */
export const native: NativeBinding = binding;
export const mapLayout: MapLayout = binding.mapLayout();
export const queueLayout: QueueLayout = binding.squeueLayout();
