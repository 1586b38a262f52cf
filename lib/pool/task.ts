/**
 * Task types. A task is its own promise: see TaskPromise (exec-promise.ts), whose private
 * fields hold the task's state and whose internal accessors the pool and the worker handles
 * use. Rarely used state lives in `x` (TaskExtras), created only when needed.
 */
import type { TransferListItem } from 'node:worker_threads';

import type { TaskPromise } from './exec-promise';

/** One exec() call (or batch chunk) from queueing to settlement: the promise exec returned. */
export type Task = TaskPromise<unknown>;

export interface ExecOptions {
  /** Receives workerEmit() payloads (and { stdout } / { stderr } with emitStdStreams). */
  on?: (payload: unknown) => void;
  /** Objects to transfer instead of copy. */
  transfer?: readonly TransferListItem[];
  /** With queueStrategy 'priority': larger runs first. */
  priority?: number;
  /** Free-form data kept with the task (visible to custom queues as `task.metadata`). */
  metadata?: unknown;
  /** Cancels the task when aborted; the reason becomes the rejection's cause. */
  signal?: AbortSignal;
  /** Rejects with TimeoutError if not finished this many ms after dispatch. */
  timeout?: number;
  /** Any codec value, available in the worker as getContext() for the whole task (across
   * awaits). Tasks submitted from inside a task inherit its context by default. */
  context?: unknown;
}

/** Implemented by the pool: what a TaskPromise asks of it. */
export interface TaskOwner {
  cancelTask(task: Task, reason: unknown): void;
  timeoutTask(task: Task, ms: number): void;
}

/** A function task's target: one per distinct function source in a pool, shared by its tasks. */
export interface FnTarget {
  readonly id: number;
  readonly source: string;
}

/** Rarely used per-task state. */
export interface TaskExtras {
  on: ((payload: unknown) => void) | undefined;
  transfer: readonly TransferListItem[] | undefined;
  metadata: unknown;
  priority: number;
  /** 0 for exec(); a batch mode (protocol M_*) for the chunks of the batch APIs. */
  mode: number;
  timeoutMs: number;
  timer: NodeJS.Timeout | undefined;
  killTimer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  context: unknown;
}
