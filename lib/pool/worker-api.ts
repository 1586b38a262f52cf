/**
 * The parts of the pool API that user code calls inside a worker: worker(), workerEmit(),
 * Transfer, getTaskContext(). They reach the running worker through a process-global
 * registry (Symbol.for keys), so they work even when the user's module loaded its own copy
 * of ringpool from another path than the worker entry did.
 */
import type { TransferListItem } from 'node:worker_threads';
import { isMainThread as wtIsMainThread } from 'node:worker_threads';
import * as os from 'node:os';

import { RingpoolError, RingpoolTypeError } from '../errors';
import { describe } from '../validate';

/** A worker method: receives the task's params; `this` is the task's context. */
export type WorkerMethod = (this: TaskContext, ...params: never[]) => unknown;
export type WorkerMethods = Record<string, (...params: never[]) => unknown>;

/** `this` inside a worker method. */
export interface TaskContext {
  /** Fires when the task is cancelled or times out. */
  readonly signal: AbortSignal;
  /** Cheap poll of the cancellation flag in shared memory (for tight loops). */
  isCancelled(): boolean;
  /** Sends a payload to the task's `on` handler on the main thread. */
  emit(payload: unknown): void;
  /** workerpool compatibility: `this.worker.addAbortListener(fn)`, `this.worker.emit(payload)`. */
  readonly worker: { addAbortListener(listener: () => unknown): void; emit(payload: unknown): void };
}

/** Implemented by the worker entry; looked up through the global registry. */
export interface WorkerRuntime {
  emit(payload: unknown): void;
  currentContext(): TaskContext | undefined;
  /** The exec `context` of the running task (undefined if none). */
  userContext(): unknown;
}

const kMethods = Symbol.for('ringpool.worker.methods');
const kRuntime = Symbol.for('ringpool.worker.runtime');
const kTransferBrand = Symbol.for('ringpool.transfer');

interface Registry {
  [kMethods]?: WorkerMethods;
  [kRuntime]?: WorkerRuntime;
}
const registry = globalThis as Registry;

/** True on the main thread (false inside any worker thread). */
export const isMainThread: boolean = wtIsMainThread;
/** Number of CPUs, as workerpool exposes it. */
export const cpus: number = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;

/**
 * Registers the methods this worker module offers (workerpool's `worker({ ... })`).
 * Call it at the top level of the worker script. A module that simply exports functions
 * does not need it.
 */
export function worker(methods?: WorkerMethods, _options?: Record<string, unknown>): void {
  if (methods === undefined) methods = {};
  if (methods === null || typeof methods !== 'object') {
    throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `worker() expects an object of functions, got ${describe(methods)}`);
  }
  for (const [name, fn] of Object.entries(methods)) {
    if (typeof fn !== 'function') {
      throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `worker(): method "${name}" must be a function, got ${describe(fn)}`);
    }
  }
  registry[kMethods] = { ...(registry[kMethods] ?? {}), ...methods };
}

/** Sends `payload` to the `on` handler of the task this worker is running. */
export function workerEmit(payload: unknown): void {
  const rt = registry[kRuntime];
  if (!rt) throw new RingpoolError('ERR_RINGPOOL_INVALID_STATE', 'workerEmit() can only be called inside a task running in a ringpool worker');
  rt.emit(payload);
}

/** The context of the task that is running (also available as `this` in methods). */
export function getTaskContext(): TaskContext | undefined {
  return registry[kRuntime]?.currentContext();
}

/**
 * The `context` given to exec() for the task this code runs in, in a worker, across awaits
 * (undefined outside a task or when none was given). exec() calls made inside the task
 * inherit it.
 */
export function getContext<T = unknown>(): T | undefined {
  return registry[kRuntime]?.userContext() as T | undefined;
}

/**
 * Wraps a value with a transfer list: as an `exec` parameter or a method's return value,
 * the listed objects are moved instead of copied (they travel on the MessagePort path).
 */
export class Transfer {
  readonly message: unknown;
  readonly transfer: readonly TransferListItem[];
  constructor(message: unknown, transfer: readonly TransferListItem[]) {
    if (!Array.isArray(transfer)) {
      throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `Transfer expects an array of transferables, got ${describe(transfer)}`);
    }
    this.message = message;
    this.transfer = transfer;
    (this as unknown as Record<symbol, boolean>)[kTransferBrand] = true;
  }
}

export function isTransfer(v: unknown): v is Transfer {
  return v !== null && typeof v === 'object' && (v as Record<symbol, unknown>)[kTransferBrand] === true;
}

/** Internal: used by the worker entry. */
export function takeRegisteredMethods(): WorkerMethods | undefined {
  return registry[kMethods];
}
export function installRuntime(rt: WorkerRuntime): void {
  registry[kRuntime] = rt;
}
