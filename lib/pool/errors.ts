/**
 * Errors of the pool. Each has a stable `code`; tasks reject with exactly one of them (or
 * with the rehydrated error the task threw, see TaskError).
 */

import { RingpoolError, TimeoutError } from '../errors';

/** Task timeouts reject with the shared TimeoutError (code ERR_RINGPOOL_TIMEOUT). */
export { TimeoutError };

/**
 * Wraps a thrown value that was not an Error (a string, a number...) in a worker. Errors
 * thrown in a worker are rehydrated as themselves (same name, message, stack, code and own
 * properties); only non-Error throws arrive as TaskError with the value in `value`.
 */
export class TaskError extends RingpoolError {
  readonly value: unknown;
  constructor(value: unknown) {
    super('ERR_RINGPOOL_TASK_FAILED', `Task threw a non-Error value: ${String(value)}`);
    this.value = value;
  }
}

/** The task was cancelled with `.cancel()` or its AbortSignal. */
export class CancellationError extends RingpoolError {
  constructor(message = 'Task cancelled', cause?: unknown) {
    super('ERR_RINGPOOL_CANCELLED', message, cause === undefined ? undefined : { cause });
  }
}

/** The worker running the task exited (crash, process.exit, heap limit, terminate). */
export class WorkerExitError extends RingpoolError {
  readonly exitCode: number;
  readonly reason: string;
  constructor(exitCode: number, reason: string, cause?: unknown) {
    super('ERR_RINGPOOL_WORKER_EXIT', `Worker exited with code ${exitCode} while running the task: ${reason}`, cause === undefined ? undefined : { cause });
    this.exitCode = exitCode;
    this.reason = reason;
  }
}

/** Workers could not be started (script missing, throws at load...); `cause` holds why. */
export class WorkerSpawnError extends RingpoolError {
  constructor(cause: unknown) {
    super('ERR_RINGPOOL_WORKER_SPAWN', `Could not start a worker: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** `maxQueueSize` was reached; the task was not queued. */
export class QueueFullError extends RingpoolError {
  constructor(max: number) {
    super('ERR_RINGPOOL_QUEUE_FULL', `Max queue size of ${max} reached`);
  }
}

/** The pool was terminated before the task could run. */
export class PoolTerminatedError extends RingpoolError {
  constructor() {
    super('ERR_RINGPOOL_POOL_TERMINATED', 'Pool terminated');
  }
}
