/** The shared collections (re-exported by lib/index.ts). */
export { SharedMap } from './shared-map';
export type { SharedMapOptions, SharedMemoryInfo } from './shared-map';
export { SharedQueue } from './shared-queue';
export type { SharedQueueOptions, QueueWaitOptions } from './shared-queue';
export { SharedArray } from './shared-array';
export { SharedRecord } from './shared-record';
export { transaction, readTransaction } from './transaction';
export type { TransactionOptions } from './transaction';
export type { WatchEvent, WatchOptions } from './watch';
export type { SharedKey } from './keys';
export { QueueClosedError, TransactionConflictError } from './errors';
