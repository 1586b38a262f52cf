/** ringpool's public API: re-exports only. */
export { waitAsync, wait, notify } from './wait';
export type { WaitAsyncResult } from './wait';
export { Ring } from './ring';
export type { RingOptions } from './ring';
export { Channel } from './channel';
export type { ChannelOptions } from './channel';
export { SlotAllocator } from './slot-allocator';
export type { SlotAllocatorOptions } from './slot-allocator';
export {
  Mutex,
  RwLock,
  Semaphore,
  Barrier,
  Latch,
  Condition,
  LockGuard,
  SemaphorePermit,
  NotOwnerError,
  WouldDeadlockError,
  BlockingMainThreadError,
} from './sync';
export type {
  MutexHandle,
  RwLockHandle,
  SemaphoreHandle,
  SemaphoreOptions,
  BarrierHandle,
  LatchHandle,
  ConditionHandle,
  ConditionWaitResult,
  SyncHandle,
  SyncWaitOptions,
  SyncBlockingOptions,
  SyncErrorCode,
} from './sync';
export {
  RingpoolError,
  RingpoolTypeError,
  RingpoolRangeError,
  AddonMissingError,
  AbortError,
  TimeoutError,
} from './errors';
export type { RingpoolErrorCode } from './errors';
export { pool, Pool } from './pool/pool';
export type { BatchOptions, BatchPromise, BatchResult, MapRegionsOptions, MapRegionsResult, MapStreamOptions, ReduceOptions, Region } from './batch';
export type { PoolStats, Proxy } from './pool/pool';
export type { PoolOptions } from './pool/options';
export type { ExecOptions } from './pool/task';
export { TaskPromise } from './pool/exec-promise';
export { worker, workerEmit, getTaskContext, getContext, Transfer, isMainThread, cpus } from './pool/worker-api';
export type { TaskContext, WorkerMethods } from './pool/worker-api';
export type { TaskQueue, QueuedTask } from './pool/task-queue';
export {
  TaskError,
  CancellationError,
  WorkerExitError,
  WorkerSpawnError,
  QueueFullError,
  PoolTerminatedError,
} from './pool/errors';
export { DataCloneError } from './codec';
export { SharedMap, SharedQueue, SharedArray, SharedRecord, transaction, readTransaction, QueueClosedError, TransactionConflictError } from './shared';
export type { SharedMapOptions, SharedMemoryInfo, SharedQueueOptions, QueueWaitOptions, TransactionOptions, WatchEvent, WatchOptions, SharedKey } from './shared';
