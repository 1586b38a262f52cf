/**
 * One exec() call from queueing to settlement. Invariants:
 *  - `settled` turns true exactly once, in settle(); resolve/reject are called only there.
 *  - `worker` is set while the task is dispatched and the worker has not reported it done;
 *    a settled task may still be dispatched (cancelled or timed out while running): its
 *    worker's report is then ignored.
 * Tasks are kept small (rarely used state lives in `x`, created only when needed), because
 * a pool may hold hundreds of thousands of them at once.
 */
import type { TransferListItem } from 'node:worker_threads';

import type { QueuedTask } from './task-queue';
import type { WorkerHandle } from './worker-handle';

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

/** Rarely used per-task state. */
export interface TaskExtras {
  on: ((payload: unknown) => void) | undefined;
  transfer: readonly TransferListItem[] | undefined;
  metadata: unknown;
  timeoutMs: number;
  timer: NodeJS.Timeout | undefined;
  killTimer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  context: unknown;
}

export class Task implements QueuedTask {
  readonly id: number;
  readonly owner: TaskOwner;
  readonly method: string | undefined;
  readonly fnId: number;
  readonly fnSource: string | undefined;
  readonly args: unknown[];
  readonly priority: number;
  readonly queuedAt: number;
  /** 0 for exec(); a batch mode (protocol M_*) for the chunks of the batch APIs. */
  mode = 0;
  /** Per-worker dispatch sequence number (1-based) while dispatched. */
  seq = 0;
  worker: WorkerHandle | undefined = undefined;
  settled = false;
  x: TaskExtras | undefined;
  resolve: (v: unknown) => void = noop;
  reject: (e: unknown) => void = noop;

  constructor(id: number, owner: TaskOwner, method: string | undefined, fnId: number, fnSource: string | undefined, args: unknown[], options: ExecOptions | undefined, now: number) {
    this.id = id;
    this.owner = owner;
    this.method = method;
    this.fnId = fnId;
    this.fnSource = fnSource;
    this.args = args;
    this.priority = options?.priority ?? 0;
    this.queuedAt = now;
    this.x = options === undefined ? undefined : {
      on: options.on,
      transfer: options.transfer,
      metadata: options.metadata,
      timeoutMs: options.timeout ?? Infinity,
      timer: undefined,
      killTimer: undefined,
      signal: undefined,
      onAbort: undefined,
      context: options.context,
    };
  }

  get metadata(): unknown {
    return this.x?.metadata;
  }

  extras(): TaskExtras {
    return (this.x ??= { on: undefined, transfer: undefined, metadata: undefined, timeoutMs: Infinity, timer: undefined, killTimer: undefined, signal: undefined, onAbort: undefined, context: undefined });
  }

  /** Settles once; returns false if it already was. */
  settle(ok: boolean, value: unknown): boolean {
    if (this.settled) return false;
    this.settled = true;
    const x = this.x;
    if (x) {
      if (x.timer) clearTimeout(x.timer);
      x.timer = undefined;
      if (x.signal && x.onAbort) x.signal.removeEventListener('abort', x.onAbort);
    }
    if (ok) this.resolve(value);
    else this.reject(value);
    return true;
  }
}

function noop(): void {}
