/** Synchronisation objects: re-exports, plus an internal reviver for pool argument travel. */
import { RingpoolTypeError } from '../errors';
import { Barrier } from './barrier';
import { Condition } from './condition';
import { Latch } from './latch';
import { Mutex } from './mutex';
import { RwLock } from './rwlock';
import { Semaphore } from './semaphore';

export { Mutex } from './mutex';
export type { MutexHandle } from './mutex';
export { RwLock } from './rwlock';
export type { RwLockHandle } from './rwlock';
export { Semaphore } from './semaphore';
export type { SemaphoreHandle, SemaphoreOptions } from './semaphore';
export { Barrier } from './barrier';
export type { BarrierHandle } from './barrier';
export { Latch } from './latch';
export type { LatchHandle } from './latch';
export { Condition } from './condition';
export type { ConditionHandle, ConditionWaitResult } from './condition';
export { LockGuard, SemaphorePermit } from './common';
export type { SyncHandle, SyncWaitOptions, SyncBlockingOptions } from './common';
export { NotOwnerError, WouldDeadlockError, BlockingMainThreadError } from './errors';
export type { SyncErrorCode } from './errors';

import { registerReviver } from '../pool/revive';

export type SyncObject = Mutex | RwLock | Semaphore | Barrier | Latch | Condition;

/** Whether `value` has the shape of a sync object's handle ({ kind, buffer }). */
export function isSyncHandle(value: unknown): value is { kind: string; buffer: SharedArrayBuffer } {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { kind?: unknown; buffer?: unknown };
  return typeof v.kind === 'string' && v.kind in kFrom && v.buffer instanceof SharedArrayBuffer;
}

const kFrom: Record<string, (h: never) => SyncObject> = {
  Mutex: (h) => Mutex.from(h),
  RwLock: (h) => RwLock.from(h),
  Semaphore: (h) => Semaphore.from(h),
  Barrier: (h) => Barrier.from(h),
  Latch: (h) => Latch.from(h),
  Condition: (h) => Condition.from(h),
};

/** Internal (for the pool's argument travel): the object a handle stands for, in this thread.
 * @throws RingpoolTypeError ERR_RINGPOOL_BAD_LAYOUT when it is not a sync handle */
export function fromSyncHandle(handle: unknown): SyncObject {
  if (!isSyncHandle(handle)) {
    throw new RingpoolTypeError('ERR_RINGPOOL_BAD_LAYOUT', 'not a ringpool synchronisation handle');
  }
  return kFrom[handle.kind](handle as never);
}

// Sync objects passed to or returned from pool tasks arrive as live objects (see common.ts).
for (const kind of Object.keys(kFrom)) registerReviver(kind, (plain) => fromSyncHandle(plain.__handle__));
