/**
 * Errors of the synchronisation objects. They extend RingpoolError; their codes are new
 * members of the code family (see RingpoolErrorCode).
 */
import { RingpoolError } from '../errors';

export type SyncErrorCode = 'ERR_RINGPOOL_NOT_OWNER' | 'ERR_RINGPOOL_WOULD_DEADLOCK' | 'ERR_RINGPOOL_BLOCKING_MAIN_THREAD';

/** Releasing what this thread does not hold: an unlock without the lock, a guard released twice. */
export class NotOwnerError extends RingpoolError {
  constructor(message: string) {
    super('ERR_RINGPOOL_NOT_OWNER', message);
  }
}

/** A blocking acquire that could never return: this thread holds the lock already, or one of
 * its own async waits for the same lock is queued and could only be served by this thread. */
export class WouldDeadlockError extends RingpoolError {
  constructor(what: string) {
    super(
      'ERR_RINGPOOL_WOULD_DEADLOCK',
      `${what} would deadlock: this thread already holds the lock, or waits for it asynchronously`,
    );
  }
}

/** A blocking call on the main thread without `{ allowMainThread: true }`. */
export class BlockingMainThreadError extends RingpoolError {
  constructor(what: string) {
    super(
      'ERR_RINGPOOL_BLOCKING_MAIN_THREAD',
      `${what} blocks the thread and would freeze the main thread's event loop; use the async form, ` +
        'or pass { allowMainThread: true } to block anyway',
    );
  }
}
