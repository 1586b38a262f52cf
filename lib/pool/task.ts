/**
 * One exec() call from queueing to settlement. Invariants:
 *  - `settled` turns true exactly once, in settle(); resolve/reject are called only there.
 *  - `worker` is set while the task is dispatched and the worker has not reported it done;
 *    a settled task may still be dispatched (cancelled or timed out while running): its
 *    worker's report is then ignored.
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
  /** Free-form data kept with the task (visible to custom queues). */
  metadata?: unknown;
  /** Cancels the task when aborted; the reason becomes the rejection's cause. */
  signal?: AbortSignal;
  /** Rejects with TimeoutError if not finished this many ms after dispatch. */
  timeout?: number;
}

export class Task implements QueuedTask {
  readonly id: number;
  readonly method: string | undefined;
  readonly fnId: number;
  readonly fnSource: string | undefined;
  readonly args: unknown[];
  readonly priority: number;
  readonly metadata: unknown;
  readonly on: ((payload: unknown) => void) | undefined;
  readonly transfer: readonly TransferListItem[] | undefined;
  readonly queuedAt: number;
  dispatchedAt = 0;
  /** Per-worker dispatch sequence number (1-based) while dispatched. */
  seq = 0;
  worker: WorkerHandle | undefined;
  settled = false;
  timeoutMs: number;
  timer: NodeJS.Timeout | undefined;
  killTimer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  readonly #resolve: (v: unknown) => void;
  readonly #reject: (e: unknown) => void;

  constructor(
    id: number,
    method: string | undefined,
    fnId: number,
    fnSource: string | undefined,
    args: unknown[],
    options: ExecOptions,
    resolve: (v: unknown) => void,
    reject: (e: unknown) => void,
    now: number,
  ) {
    this.id = id;
    this.method = method;
    this.fnId = fnId;
    this.fnSource = fnSource;
    this.args = args;
    this.priority = options.priority ?? 0;
    this.metadata = options.metadata;
    this.on = options.on;
    this.transfer = options.transfer;
    this.timeoutMs = options.timeout ?? Infinity;
    this.queuedAt = now;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  /** Settles once; returns false if it already was. */
  settle(ok: boolean, value: unknown): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.signal && this.onAbort) this.signal.removeEventListener('abort', this.onAbort);
    if (ok) this.#resolve(value);
    else this.#reject(value);
    return true;
  }
}
