/**
 * Pool options: validated once, defaults in one frozen object.
 */
import type { WorkerOptions } from 'node:worker_threads';

import { RingpoolRangeError, RingpoolTypeError } from '../errors';
import { describe } from '../validate';
import { FifoQueue, LifoQueue, PriorityQueue } from './task-queue';
import type { QueuedTask, TaskQueue } from './task-queue';
import { cpus } from './worker-api';

export interface PoolOptions {
  /** Workers started up front and kept (number, or 'max' for maxWorkers). Default 0. */
  minWorkers?: number | 'max';
  /** Upper bound on workers. Default: CPUs - 1 (at least 1). */
  maxWorkers?: number;
  /** Tasks waiting on the main thread beyond this reject with QueueFullError. Default Infinity. */
  maxQueueSize?: number;
  /** 'fifo' (default), 'lifo', 'priority' (exec option `priority`, larger first), or a queue object. */
  queueStrategy?: 'fifo' | 'lifo' | 'priority' | TaskQueue;
  /** How long a cancelled or timed-out task, or terminate(), waits before killing a worker. Default 1000 ms. */
  workerTerminateTimeout?: number;
  /** Passed to `new Worker` (resourceLimits, env, execArgv, argv, name, ...). */
  workerThreadOpts?: WorkerOptions;
  /** Attribute a task's stdout/stderr writes to its `on` handler ({ stdout } / { stderr }). */
  emitStdStreams?: boolean;
  /** Called before each worker starts; may return worker options that override workerThreadOpts. */
  onCreateWorker?: (info: { script: string | null; workerThreadOpts: WorkerOptions }) => WorkerOptions | void;
  /** Called after a worker exited. */
  onTerminateWorker?: (info: { script: string | null; threadId: number; exitCode: number }) => void;
  /** Workers idle this long (ms) are stopped, down to minWorkers. Default: never. */
  idleTimeout?: number;
  /** A worker is replaced after running this many tasks. Default: never. */
  maxTasksPerWorker?: number;
  /** Cap on tasks in flight at one worker (dispatched, not finished). Default: adaptive (up to 1024). */
  concurrentTasksPerWorker?: number;
  /** workerpool compatibility: only 'auto' and 'thread' are accepted. */
  workerType?: 'auto' | 'thread';
}

export interface ResolvedOptions {
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly maxQueueSize: number;
  readonly queue: TaskQueue<QueuedTask> & { remove?(t: QueuedTask): boolean };
  readonly workerTerminateTimeout: number;
  readonly workerThreadOpts: WorkerOptions;
  readonly emitStdStreams: boolean;
  readonly onCreateWorker: PoolOptions['onCreateWorker'];
  readonly onTerminateWorker: PoolOptions['onTerminateWorker'];
  readonly idleTimeout: number;
  readonly maxTasksPerWorker: number;
  readonly concurrentTasksPerWorker: number;
}

export const kDefaults = Object.freeze({
  minWorkers: 0,
  maxWorkers: Math.max(cpus - 1, 1),
  maxQueueSize: Infinity,
  workerTerminateTimeout: 1000,
  emitStdStreams: false,
  idleTimeout: Infinity,
  maxTasksPerWorker: Infinity,
  /** 0 = adaptive */
  concurrentTasksPerWorker: 0,
});

function typeErr(name: string, expected: string, got: unknown): never {
  throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `options.${name} must be ${expected}, got ${describe(got)}`);
}

function count(o: Record<string, unknown>, name: string, dflt: number, min: number, allowInf: boolean): number {
  const v = o[name];
  if (v === undefined) return dflt;
  if (typeof v !== 'number') typeErr(name, 'a number', v);
  const ok = (allowInf && v === Infinity) || (Number.isInteger(v) && v >= min);
  if (!ok) {
    throw new RingpoolRangeError('ERR_RINGPOOL_OUT_OF_RANGE', `options.${name} must be an integer >= ${min}${allowInf ? ' or Infinity' : ''}, got ${v}`);
  }
  return v;
}

export function resolveOptions(options: unknown): ResolvedOptions {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object') typeErr('', 'an object', options);
  const o = options as Record<string, unknown>;
  const maxWorkers = count(o, 'maxWorkers', kDefaults.maxWorkers, 1, false);
  let minWorkers: number;
  if (o.minWorkers === 'max') minWorkers = maxWorkers;
  else minWorkers = count(o, 'minWorkers', kDefaults.minWorkers, 0, false);
  if (minWorkers > maxWorkers) {
    if (o.maxWorkers !== undefined) {
      throw new RingpoolRangeError('ERR_RINGPOOL_OUT_OF_RANGE', `options.minWorkers (${minWorkers}) must not exceed options.maxWorkers (${maxWorkers})`);
    }
  }
  const effectiveMax = Math.max(maxWorkers, minWorkers);
  let queue: ResolvedOptions['queue'];
  const qs = o.queueStrategy;
  if (qs === undefined || qs === 'fifo') queue = new FifoQueue();
  else if (qs === 'lifo') queue = new LifoQueue();
  else if (qs === 'priority') queue = new PriorityQueue();
  else if (qs !== null && typeof qs === 'object' && ['push', 'pop', 'size', 'contains', 'clear'].every((m) => typeof (qs as Record<string, unknown>)[m] === 'function')) {
    queue = qs as ResolvedOptions['queue'];
  } else {
    typeErr('queueStrategy', "'fifo', 'lifo', 'priority' or an object with push, pop, size, contains and clear", qs);
  }
  const wt = o.workerType;
  if (wt !== undefined && wt !== 'auto' && wt !== 'thread') {
    throw new RingpoolRangeError('ERR_RINGPOOL_OUT_OF_RANGE', `options.workerType must be 'auto' or 'thread' (ringpool runs worker threads only), got ${typeof wt === 'string' ? `'${wt}'` : describe(wt)}`);
  }
  const wto = o.workerThreadOpts;
  if (wto !== undefined && (wto === null || typeof wto !== 'object')) typeErr('workerThreadOpts', 'an object', wto);
  for (const fnName of ['onCreateWorker', 'onTerminateWorker']) {
    if (o[fnName] !== undefined && typeof o[fnName] !== 'function') typeErr(fnName, 'a function', o[fnName]);
  }
  if (o.emitStdStreams !== undefined && typeof o.emitStdStreams !== 'boolean') typeErr('emitStdStreams', 'a boolean', o.emitStdStreams);
  const idle = o.idleTimeout;
  if (idle !== undefined && (typeof idle !== 'number' || !(idle >= 0))) {
    if (typeof idle !== 'number') typeErr('idleTimeout', 'a number of milliseconds', idle);
    throw new RingpoolRangeError('ERR_RINGPOOL_OUT_OF_RANGE', `options.idleTimeout must be >= 0, got ${String(idle)}`);
  }
  const wtt = o.workerTerminateTimeout;
  if (wtt !== undefined && (typeof wtt !== 'number' || !(wtt >= 0))) {
    if (typeof wtt !== 'number') typeErr('workerTerminateTimeout', 'a number of milliseconds', wtt);
    throw new RingpoolRangeError('ERR_RINGPOOL_OUT_OF_RANGE', `options.workerTerminateTimeout must be >= 0, got ${String(wtt)}`);
  }
  return {
    minWorkers,
    maxWorkers: effectiveMax,
    maxQueueSize: count(o, 'maxQueueSize', kDefaults.maxQueueSize, 0, true),
    queue,
    workerTerminateTimeout: (wtt as number | undefined) ?? kDefaults.workerTerminateTimeout,
    workerThreadOpts: (wto as WorkerOptions | undefined) ?? {},
    emitStdStreams: (o.emitStdStreams as boolean | undefined) ?? kDefaults.emitStdStreams,
    onCreateWorker: o.onCreateWorker as PoolOptions['onCreateWorker'],
    onTerminateWorker: o.onTerminateWorker as PoolOptions['onTerminateWorker'],
    idleTimeout: (idle as number | undefined) ?? kDefaults.idleTimeout,
    maxTasksPerWorker: count(o, 'maxTasksPerWorker', kDefaults.maxTasksPerWorker, 1, true),
    concurrentTasksPerWorker: count(o, 'concurrentTasksPerWorker', kDefaults.concurrentTasksPerWorker, 1, false),
  };
}
