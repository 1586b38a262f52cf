/**
 * Errors of the shared collections. They extend RingpoolError; their codes are new members
 * of the code family (see RingpoolErrorCode), like the sync objects' (lib/sync/errors.ts).
 */
import { RingpoolError, RingpoolRangeError } from '../errors';

export type SharedErrorCode = 'ERR_RINGPOOL_QUEUE_CLOSED' | 'ERR_RINGPOOL_TX_CONFLICT';

/** enqueue on a closed SharedQueue, or dequeue on one that is closed and empty. */
export class QueueClosedError extends RingpoolError {
  constructor(what: string) {
    super('ERR_RINGPOOL_QUEUE_CLOSED', `${what}: the SharedQueue is closed`);
  }
}

/** A transaction kept conflicting with other threads' writes for maxRetries attempts. */
export class TransactionConflictError extends RingpoolError {
  readonly attempts: number;
  constructor(attempts: number) {
    super(
      'ERR_RINGPOOL_TX_CONFLICT',
      `Transaction gave up after ${attempts} attempts: other threads kept changing what it read`,
    );
    this.attempts = attempts;
  }
}

/** The collection's storage would have to grow past maxBytes. Nothing was changed. */
export function fullError(what: string, maxBytes: number): RingpoolRangeError {
  return new RingpoolRangeError(
    'ERR_RINGPOOL_FULL',
    `${what}: no room within maxBytes (${maxBytes} bytes); nothing was changed. Delete entries or create the collection with a larger maxBytes`,
  );
}

/** One value can never fit within maxBytes. */
export function tooLargeError(what: string, maxBytes: number): RingpoolRangeError {
  return new RingpoolRangeError(
    'ERR_RINGPOOL_TOO_LARGE',
    `${what}: the encoded value is larger than the collection's maxBytes (${maxBytes} bytes) allows`,
  );
}
