/**
 * The sync objects' side of the native facade (src/bind_sync.c), declared by merging into
 * NativeBinding, plus the constants shared with src/sync.h and this thread's set-up: its id
 * in lock words (worker threadId + 1) and its holds table (see bind_sync.c: the robust list,
 * also written by the Mutex fast path below).
 */
import { threadId } from 'node:worker_threads';

import { native } from '../native';

declare module '../native' {
  interface NativeBinding {
    // sync objects (bind_sync.c). `rec` is a record index from syncOpen.
    syncSetup(id: number, holds: Int32Array): void;
    syncSetHolds(holds: Int32Array): void;
    syncInit(i32: Int32Array, kind: number, param: number, initial: number): void;
    /** Record index, or -1 when the holds table is full (grow it and ask again). */
    syncOpen(owner: object, i32: Int32Array, kind: number): number;
    /** RP_SYNC_* bits, 0 when it would have to wait. */
    syncTry(rec: number, op: number, k: number): number;
    /** Settles with RP_SYNC_* bits, 0 when cancelled, < 0 for an impossible request. */
    syncAcquire(rec: number, op: number, k: number, token: number): Promise<number>;
    syncCancel(rec: number, token: number): boolean;
    /** RP_SYNC_* bits, 0 on timeout. Throws ERR_RINGPOOL_WOULD_DEADLOCK / ERR_RINGPOOL_INTERRUPTED. */
    syncAcquireSync(rec: number, op: number, k: number, timeoutMs: number): number;
    /** 0, -1 not held by this thread, -2 more than the maximum. */
    syncRelease(rec: number, op: number, k: number): number;
    syncCountDown(rec: number, k: number): number;
    syncNotify(rec: number, count: number): number;
    syncLoad(rec: number, index: number): number;
    syncHolder(rec: number): number;
    syncHeld(rec: number): number;
    /** -1 when the mutex is not held by this thread; else bit 0 woken (1) / timed out (0) | RP_SYNC_DIED. */
    syncCondWaitSync(cv: number, mu: number, timeoutMs: number): number;
  }
}

/** Bytes of every sync object's SharedArrayBuffer (RP_SYNC_BYTES). */
export const kSyncBytes = 128;
/** Int32 index of the state word (RP_SYNC_I_STATE) and of the parameter (RP_SYNC_I_PARAM). */
export const kState = 2;
export const kParam = 6;

export const enum Kind {
  Mutex = 1,
  RwLock = 2,
  Semaphore = 3,
  Barrier = 4,
  Latch = 5,
  Condition = 6,
}

export const enum Op {
  Lock = 1,
  Read = 2,
  Write = 3,
  Acquire = 4,
  Barrier = 5,
  Latch = 6,
  Cond = 7,
}

/** Result bits (RP_SYNC_OK, RP_SYNC_DIED, RP_SYNC_LEADER). */
export const kOk = 1;
export const kDied = 2;
export const kLeader = 4;

/** This thread's id in lock words. */
export const kThreadId = threadId + 1;
/** A mutex word held by this thread, nobody queued: id << 2 (src/sync.h "Mutex"). */
const kMe4 = kThreadId * 4;

let holds: Int32Array | undefined;

function setup(): Int32Array {
  const table = new Int32Array(new ArrayBuffer(64 * 4));
  native.syncSetup(kThreadId, table);
  holds = table;
  return table;
}

/** Opens this thread's record for the object in i32; it lives as long as `owner`. */
export function openRecord(owner: object, i32: Int32Array, kind: Kind): number {
  let table = holds ?? setup();
  for (;;) {
    const idx = native.syncOpen(owner, i32, kind);
    if (idx >= 0) return idx;
    const bigger = new Int32Array(new ArrayBuffer(table.length * 2 * 4));
    bigger.set(table);
    native.syncSetHolds(bigger);
    holds = table = bigger;
  }
}

/**
 * Mutex fast path, lock: nobody holds it and nobody waits (word 0). The intent is recorded
 * first, so a thread stopped between the two steps leaves a stale bit that teardown ignores
 * (it checks the word). Anything else goes native.
 */
export function fastLock(i32: Int32Array, rec: number): boolean {
  const table = holds as Int32Array;
  table[rec] |= 1;
  if (Atomics.compareExchange(i32, kState, 0, kMe4) === 0) return true;
  table[rec] &= ~1;
  return false;
}

/** Mutex fast path, unlock: held by this thread through this record, nobody queued. */
export function fastUnlock(i32: Int32Array, rec: number): boolean {
  const table = holds as Int32Array;
  if ((table[rec] & 1) === 0 || Atomics.compareExchange(i32, kState, kMe4, 0) !== kMe4) return false;
  table[rec] &= ~1;
  return true;
}
