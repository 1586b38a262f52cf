/**
 * Pool: workerpool's API over ringpool's shared-memory data path.
 *
 * Invariants (main thread only):
 *  - every task is in exactly one place: the queue, one worker's `inflight`, or nowhere
 *    (settled and reported). `#inflight` is the sum of the workers' inflight sizes.
 *  - a task settles exactly once (Task.settle); a worker's report for a settled task
 *    (cancelled or timed out while running) only frees its place.
 *  - the doorbell wait is armed only while #inflight > 0, so an idle pool keeps nothing
 *    alive: idle workers are unref'd, and the process can exit without terminate().
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { DataCloneError, Decoder, Encoder } from '../codec';
import { RingpoolRangeError, RingpoolTypeError } from '../errors';
import { native } from '../native';
import { describe } from '../validate';
import { nextWaitToken } from '../wait';
import { CancellationError, PoolTerminatedError, QueueFullError, TimeoutError, WorkerExitError, WorkerSpawnError } from './errors';
import { TaskPromise } from './exec-promise';
import { Histogram } from './histogram';
import type { Percentiles } from './histogram';
import { resolveOptions } from './options';
import type { PoolOptions, ResolvedOptions } from './options';
import { C_DOORBELL, C_MAIN_SLEEPING, kCancelSlots, kMethodsMethod, kPoolCtlWords, kResultChannelBytes } from './protocol';
import type { ExecOptions, FnTarget, Task, TaskOwner } from './task';
import { WorkerHandle } from './worker-handle';
import { kSubmit } from './internal';
import { getContext, isTransfer } from './worker-api';
import type { TransferListItem } from 'node:worker_threads';
import * as batch from '../batch';
import type { BatchOptions, BatchPromise, BatchResult, MapRegionsOptions, MapRegionsResult, MapStreamOptions, ReduceOptions } from '../batch';
import type { ResultSink } from './worker-handle';

export interface PoolStats {
  totalWorkers: number;
  busyWorkers: number;
  idleWorkers: number;
  pendingTasks: number;
  activeTasks: number;
  completedTasks: number;
  failedTasks: number;
  /** Time tasks spent running in a worker, ms. */
  runTime: Percentiles;
  /** Time tasks waited in the queue before dispatch, ms. */
  waitTime: Percentiles;
}

export type AnyFn = (...args: never[]) => unknown;
export type Proxy = Record<string, (...args: unknown[]) => TaskPromise<unknown>>;

/** Batches stay well below a channel record's limit. */
const kBatchBytes = 1 << 15;
/** Aim for about this much queued work (ms) at each worker when choosing its depth. */
const kTargetQueuedMs = 2;
const kMaxSpawnAttempts = 3;
/** Main-thread spin before parking, only while recent tasks ran shorter than kSpinIfRunMsBelow;
 * the budget adapts like the workers' (see worker-entry.ts). */
const kMainSpinMaxMs = 0.05;
const kSpinIfRunMsBelow = 0.05;
const kMaxSpinRounds = 64;
/** exec()'s arguments when none are given. Never written to; not frozen, because V8's fast
 * array iteration does not cover frozen arrays (encodeTask iterates the arguments). */
const kNoArgs: readonly unknown[] = [];

export class Pool extends EventEmitter implements ResultSink, TaskOwner {
  readonly script: string | null;
  readonly #opts: ResolvedOptions;
  readonly #queue: ResolvedOptions['queue'];
  readonly #workers = new Set<WorkerHandle>();
  readonly #ctl = new Int32Array(new SharedArrayBuffer(kPoolCtlWords * 4));
  readonly #enc = new Encoder(1 << 16);
  readonly #dec = new Decoder();
  readonly #scratch: Uint8Array;
  readonly #fns = new Map<string, FnTarget>(); // by source
  readonly #pending = new Map<WorkerHandle, Uint8Array[]>(); // batches a full channel refused
  readonly #runHist = new Histogram();
  readonly #waitHist = new Histogram();
  #nextId = 1;
  /** Origin of the queued tasks' queuedAt (ms, performance.now()); restarts when the queue is empty. */
  #epoch = performance.now();
  #inflight = 0;
  #completed = 0;
  #failed = 0;
  #avgRunMs = -1; // EWMA of reported run times; -1 before the first
  #dispatchQueued = false;
  /** Token of the armed doorbell wait (0: not armed). */
  #armed = 0;
  #pumping = false;
  #spinMs = 0.03; // adaptive main-thread spin budget, ms
  #spinSkips = 0;
  #terminated = false;
  #spawnFailures = 0;
  /** Start-up attempts are grouped in bursts; a burst that fails is reported once. */
  #burst = 0;
  #spawnBlockedUntil = 0;
  #spawnTimer: NodeJS.Timeout | undefined;

  constructor(script?: string | URL | null, options?: PoolOptions) {
    super();
    if (script !== undefined && script !== null && typeof script !== 'string' && !(script instanceof URL)) {
      throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `script must be a path, a file URL or undefined, got ${describe(script)}`);
    }
    this.script =
      script === undefined || script === null
        ? null
        : script instanceof URL || script.startsWith('file:')
          ? fileURLToPath(script)
          : path.resolve(script);
    this.#opts = resolveOptions(options);
    this.#queue = this.#opts.queue;
    // Large enough for any result record (records are at most half the channel).
    this.#scratch = new Uint8Array(kResultChannelBytes);
    for (let i = 0; i < this.#opts.minWorkers; i++) this.#spawn();
  }

  /**
   * Runs `method` (a name exported by the worker script, or a function run by its source)
   * with `params` in a worker. The returned promise has `.cancel()` and `.timeout(ms)`.
   */
  exec<T = unknown>(method: string | AnyFn, params?: readonly unknown[] | null, options?: ExecOptions): TaskPromise<T> {
    checkTarget(method, 'exec()');
    if (params !== undefined && params !== null && !Array.isArray(params)) {
      throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `exec() params must be an array, got ${describe(params)}`);
    }
    let opts = checkExecOptions(options);
    let args = (params ?? kNoArgs) as unknown[];
    if (args.length !== 0 && args.some(isTransfer)) {
      // workerpool-style Transfer objects among the params: send their messages, move their lists.
      const moved: TransferListItem[] = [...(opts?.transfer ?? [])];
      args = args.map((a) => {
        if (!isTransfer(a)) return a;
        moved.push(...(a.transfer as TransferListItem[]));
        return a.message;
      });
      opts = { ...opts, transfer: moved };
    }
    if (opts?.context === undefined) {
      const inherited = getContext();
      if (inherited !== undefined) opts = { ...opts, context: inherited };
    }
    return this[kSubmit]<T>(method, args, 0, opts);
  }

  /** @internal Queues a task whose arguments are already checked (exec and the batch APIs). */
  [kSubmit]<T>(method: string | AnyFn, args: unknown[], mode: number, opts: ExecOptions | undefined): TaskPromise<T> {
    let target: string | FnTarget;
    if (typeof method === 'string') target = method;
    else {
      const source = Function.prototype.toString.call(method);
      let fn = this.#fns.get(source);
      if (fn === undefined) this.#fns.set(source, (fn = { id: this.#fns.size + 1, source }));
      target = fn;
    }
    const queued = this.#queue.size();
    const task = TaskPromise.of<T>(this.#nextId++, this, target, args, this.#stampQueued(queued)); // the task is the promise
    if (opts !== undefined) task.setOptions(opts);
    if (mode !== 0) task.extras().mode = mode;
    if (this.#terminated) {
      task.settle(false, new PoolTerminatedError());
      this.#failed++;
      return task;
    }
    if (opts?.signal) {
      const signal = opts.signal;
      if (signal.aborted) {
        task.settle(false, new CancellationError('Task cancelled: its signal was already aborted', signal.reason));
        this.#failed++;
        return task;
      }
      const x = task.extras();
      x.signal = signal;
      x.onAbort = () => this.cancelTask(task, signal.reason);
      signal.addEventListener('abort', x.onAbort, { once: true });
    }
    if (queued >= this.#opts.maxQueueSize) {
      task.settle(false, new QueueFullError(this.#opts.maxQueueSize));
      this.#failed++;
      return task;
    }
    this.#queue.push(task);
    this.#scheduleDispatch();
    return task;
  }

  /** Upper bound on workers (the resolved maxWorkers option). */
  get maxWorkers(): number {
    return this.#opts.maxWorkers;
  }

  /**
   * Runs `method` once per entry of `paramsList` (each an array of parameters), many per
   * task. Resolves to { results, successes, failures: [{ index, error }], duration }; with
   * failFast it rejects at the first failure and cancels the rest. Has `.cancel()`.
   */
  execBatch<T = unknown>(method: string | AnyFn, paramsList: readonly (readonly unknown[])[], options?: BatchOptions): BatchPromise<BatchResult<T>> {
    return batch.execBatch<T>(this, method, paramsList, options);
  }

  /** Ordered `fn(item, index)` over items (array, iterable or typed array; a typed array over a SharedArrayBuffer is not copied). */
  map<R = unknown>(items: Iterable<unknown> | ArrayLike<unknown>, fn: string | AnyFn, options?: Omit<BatchOptions, 'failFast'>): BatchPromise<R[]> {
    return batch.map<R>(this, items, fn, options);
  }

  /** `fn(acc, item, index)` per chunk in the workers from `initial`; chunk results merged by `combine` (default fn) on the main thread in index order. */
  reduce<A>(items: Iterable<unknown> | ArrayLike<unknown>, fn: string | AnyFn, initial: A, options?: ReduceOptions<A>): BatchPromise<A> {
    return batch.reduce<A>(this, items, fn, initial, options);
  }

  /** Maps a (possibly async) iterable with backpressure; leaving the loop cancels work in flight. */
  mapStream<R = unknown>(source: Iterable<unknown> | AsyncIterable<unknown>, fn: string | AnyFn, options?: MapStreamOptions): AsyncGenerator<R, void, undefined> {
    return batch.mapStream<R>(this, source, fn, options);
  }

  /** Processes a SharedArrayBuffer in place, one region per task, with no copy of the data. */
  mapRegions<T = unknown>(buffer: SharedArrayBuffer | ArrayBufferView, fn: string | AnyFn, options?: MapRegionsOptions): BatchPromise<MapRegionsResult<T>> {
    return batch.mapRegions<T>(this, buffer, fn, options);
  }

  /** Resolves to an object with one function per worker method, each calling exec. */
  async proxy(): Promise<Proxy> {
    const names = (await this.exec(kMethodsMethod, [])) as string[];
    const api: Proxy = {};
    for (const n of names) api[n] = (...args: unknown[]) => this.exec(n, args);
    return api;
  }

  stats(): PoolStats {
    let busy = 0;
    for (const h of this.#workers) if (h.inflight.size > 0) busy++;
    return {
      totalWorkers: this.#workers.size,
      busyWorkers: busy,
      idleWorkers: this.#workers.size - busy,
      pendingTasks: this.#queue.size(),
      activeTasks: this.#inflight,
      completedTasks: this.#completed,
      failedTasks: this.#failed,
      runTime: this.#runHist.percentiles(),
      waitTime: this.#waitHist.percentiles(),
    };
  }

  /**
   * Stops the pool. Queued tasks reject with PoolTerminatedError. Without `force`, workers
   * finish the tasks they were given, then exit; with it (or after `timeout` ms, default
   * workerTerminateTimeout) they are terminated and their running tasks reject.
   */
  async terminate(force = false, timeout = this.#opts.workerTerminateTimeout): Promise<void> {
    this.#terminated = true;
    if (this.#spawnTimer) clearTimeout(this.#spawnTimer);
    for (let t = this.#queue.pop() as Task | undefined; t; t = this.#queue.pop() as Task | undefined) {
      if (t.settle(false, new PoolTerminatedError())) this.#failed++;
    }
    const exits: Promise<void>[] = [];
    for (const h of this.#workers) {
      exits.push(new Promise((res) => (h.exited ? res() : h.worker.once('exit', () => res()))));
      h.retiring = true;
      h.setRef(true);
      if (force || !h.stop(this.#enc)) void h.worker.terminate();
      else h.killTimer = setTimeout(() => void h.worker.terminate(), timeout);
    }
    await Promise.all(exits);
    this.#disarm();
  }

  // ---- scheduling ----

  #scheduleDispatch(): void {
    if (this.#dispatchQueued) return;
    this.#dispatchQueued = true;
    queueMicrotask(() => {
      this.#dispatchQueued = false;
      this.#pump();
    });
  }

  #depth(): number {
    if (this.#opts.concurrentTasksPerWorker > 0) return Math.min(this.#opts.concurrentTasksPerWorker, kCancelSlots);
    if (this.#avgRunMs < 0) return 8;
    return Math.max(2, Math.min(kCancelSlots, Math.ceil(kTargetQueuedMs / Math.max(this.#avgRunMs, 0.002))));
  }

  /** Whether h can be given one more task now, at the given depth. */
  #canTake(h: WorkerHandle, depth: number): boolean {
    return !h.retiring && h.inflight.size < depth && !h.portFull && h.seq < this.#opts.maxTasksPerWorker && !this.#pending.has(h);
  }

  #pick(depth: number): WorkerHandle | undefined {
    let best: WorkerHandle | undefined;
    for (const h of this.#workers) {
      if (this.#canTake(h, depth) && (!best || h.inflight.size < best.inflight.size)) best = h;
    }
    return best;
  }

  /** Workers that could take a task now (at least 1), counting those that may still be spawned. */
  #takers(depth: number): number {
    let n = 0;
    for (const h of this.#workers) if (this.#canTake(h, depth)) n++;
    if (this.#canSpawn()) n += this.#opts.maxWorkers - this.#workers.size;
    return Math.max(1, n);
  }

  #dispatch(): void {
    if (this.#terminated) return;
    for (const [h, batches] of this.#pending) {
      while (batches.length > 0 && h.send(batches[0]!)) batches.shift();
      if (batches.length === 0) this.#pending.delete(h);
    }
    const depth = this.#depth();
    while (this.#queue.size() > 0) {
      let h = this.#pick(depth);
      if (!h) {
        if (!this.#canSpawn()) break;
        h = this.#spawn();
      }
      const enc = this.#enc;
      enc.reset();
      let n = 0;
      const maxSeq = this.#opts.maxTasksPerWorker;
      // Spread a short queue over the workers that can take tasks (batch chunks and regions
      // are few and long): filling the first one up to its depth would leave the others idle.
      const share = Math.ceil(this.#queue.size() / this.#takers(depth));
      const now = this.#sinceEpochUs(performance.now()); // one dispatch instant per batch (it is published at once)
      while (h.inflight.size < depth && !h.portFull && n < share && enc.length < kBatchBytes && h.seq < maxSeq) {
        const t = this.#queue.pop() as Task | undefined;
        if (!t) break;
        if (t.settled) continue; // cancelled while queued in a queue without remove()
        try {
          const portCost = h.encodeTask(enc, t);
          if (portCost >= 0) h.encodePortTask(enc, t, portCost);
        } catch (err) {
          if (t.settle(false, asCloneError(err))) this.#failed++;
          continue;
        }
        this.#markDispatched(h, t, now);
        n++;
      }
      if (n !== 0) {
        if (h.idleTimer) {
          clearTimeout(h.idleTimer);
          h.idleTimer = undefined;
        }
        h.setRef(true);
      }
      if (n === 0 || enc.length === 0) continue; // empty: port tasks published their markers already
      const bytes = enc.bytes();
      if (!h.send(bytes)) this.#pending.set(h, [bytes.slice()]);
    }
  }

  /**
   * Whole microseconds since #epoch: tasks store their queueing time in this form because a
   * small integer is kept in the task object itself, while a double field costs a separate
   * heap number per task. The epoch restarts when a task is queued into an empty queue, so
   * values stay below 2^31 unless the queue stays non-empty for over 35 minutes (then they
   * are doubles: still right, only slower). Wait times are thus exact to the microsecond.
   */
  #sinceEpochUs(ms: number): number {
    return Math.round((ms - this.#epoch) * 1000);
  }

  /** queuedAt for a task queued now, with `queued` tasks before it: an empty queue restarts the epoch (no task refers to the old one). */
  #stampQueued(queued: number): number {
    const now = performance.now();
    if (queued === 0) this.#epoch = now;
    return this.#sinceEpochUs(now);
  }

  /** Per task; the caller clears the worker's idle timer and refs it once per batch. */
  #markDispatched(h: WorkerHandle, t: Task, now: number): void {
    t.worker = h;
    t.seq = ++h.seq;
    h.inflight.set(t.id, t);
    this.#inflight++;
    this.#waitHist.record((now - t.queuedAt) / 1000);
    const x = t.x;
    if (x !== undefined && x.timeoutMs !== Infinity) x.timer = setTimeout(() => this.#timedOut(t), x.timeoutMs);
  }

  #canSpawn(): boolean {
    return !this.#terminated && this.#workers.size < this.#opts.maxWorkers && performance.now() >= this.#spawnBlockedUntil;
  }

  #spawn(): WorkerHandle {
    const base = this.#opts.workerThreadOpts;
    const override = this.#opts.onCreateWorker?.({ script: this.script, workerThreadOpts: { ...base } });
    const opts = { ...base, ...(override ?? {}) };
    const h = new WorkerHandle(this.script, this.#ctl.buffer as SharedArrayBuffer, this.#opts.emitStdStreams, opts);
    h.burst = this.#burst;
    this.#workers.add(h);
    h.worker.on('error', (err) => {
      h.lastError = err;
    });
    h.worker.on('exit', (code) => this.#onExit(h, code));
    h.worker.on('online', () => this.emit('workerCreate', { threadId: h.threadId }));
    h.setRef(this.#queue.size() > 0);
    return h;
  }

  // ---- results (ResultSink) ----

  onReady(h: WorkerHandle): void {
    this.#spawnFailures = 0;
    if (h.inflight.size === 0) this.#idle(h);
  }

  onDone(h: WorkerHandle, t: Task, ok: boolean, value: unknown, runMs: number): void {
    this.#runHist.record(runMs);
    this.#avgRunMs = this.#avgRunMs < 0 ? runMs : this.#avgRunMs * 0.9 + runMs * 0.1;
    if (t.settle(ok, value)) {
      if (ok) this.#completed++;
      else this.#failed++;
    }
    h.finished++;
    this.#release(h, t);
  }

  onSkip(h: WorkerHandle, t: Task): void {
    this.#release(h, t);
  }

  onEmit(t: Task, payload: unknown): void {
    const on = t.x?.on;
    if (!on || t.settled) return;
    try {
      on(payload);
    } catch (err) {
      if (this.listenerCount('error') > 0) this.emit('error', err);
      else process.emitWarning(`ringpool: a task's "on" handler threw: ${String(err)}`);
    }
  }

  #release(h: WorkerHandle, t: Task): void {
    if (h.inflight.delete(t.id)) this.#inflight--;
    t.worker = undefined;
    if (t.x?.killTimer) clearTimeout(t.x.killTimer);
    if (h.seq >= this.#opts.maxTasksPerWorker) h.retiring = true; // recycled once its last task is done
    if (h.inflight.size === 0) {
      if (h.retiring && !h.exited) {
        if (!h.stop(this.#enc)) void h.worker.terminate();
      } else this.#idle(h);
    }
  }

  #idle(h: WorkerHandle): void {
    h.setRef(false);
    if (this.#opts.idleTimeout !== Infinity && !h.idleTimer) {
      h.idleTimer = setTimeout(() => {
        h.idleTimer = undefined;
        if (h.inflight.size === 0 && !h.retiring && this.#workers.size > this.#opts.minWorkers) {
          h.retiring = true;
          if (!h.stop(this.#enc)) void h.worker.terminate();
        }
      }, this.#opts.idleTimeout);
      h.idleTimer.unref();
    }
  }

  /**
   * The main thread's loop step: take every result there is, hand out queued tasks, then,
   * if tasks are still in flight, either spin briefly (when recent tasks were short enough
   * that a result is likely within microseconds) or park on the doorbell with waitAsync.
   */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (let rounds = 0; ; rounds++) {
        for (const h of this.#workers) h.drain(this.#scratch, this.#dec, this);
        if (this.#queue.size() > 0 || this.#pending.size > 0) this.#dispatch();
        if (this.#inflight === 0) {
          this.#disarm();
          if (this.#queue.size() === 0) this.emit('drain');
          return;
        }
        if (this.#armed !== 0) return;
        // Spin only when latency-bound (about one task per worker in flight): with more in
        // flight the workers need the cores, and results come back in batches anyway.
        if (
          rounds < kMaxSpinRounds &&
          this.#inflight <= this.#workers.size &&
          this.#avgRunMs >= 0 &&
          this.#avgRunMs < kSpinIfRunMsBelow &&
          this.#spinForResults()
        ) {
          continue;
        }
        if (this.#arm()) return;
      }
    } finally {
      this.#pumping = false;
    }
  }

  #resultsWaiting(): boolean {
    for (const h of this.#workers) if (native.channelPeekSize(h.results) >= 0) return true;
    return false;
  }

  #spinForResults(): boolean {
    if (this.#spinMs <= 0) {
      // Probe again now and then: conditions change.
      if (++this.#spinSkips < 64) return false;
      this.#spinSkips = 0;
      this.#spinMs = 0.01;
    }
    const until = performance.now() + this.#spinMs;
    for (let i = 0; ; i++) {
      if (this.#resultsWaiting()) {
        this.#spinMs = Math.min(kMainSpinMaxMs, this.#spinMs * 1.5 + 0.005);
        return true;
      }
      if ((i & 15) === 15 && performance.now() >= until) break;
    }
    this.#spinMs = this.#spinMs < 0.004 ? 0 : this.#spinMs / 2;
    return false;
  }

  /** Parks on the doorbell (never blocks). False if results arrived meanwhile (pump again). */
  #arm(): boolean {
    Atomics.store(this.#ctl, C_MAIN_SLEEPING, 1);
    const seq = Atomics.load(this.#ctl, C_DOORBELL);
    if (this.#resultsWaiting()) {
      Atomics.store(this.#ctl, C_MAIN_SLEEPING, 0);
      return false;
    }
    const token = nextWaitToken();
    const r = native.waitAsync(this.#ctl, C_DOORBELL, seq, token);
    if (r === 'not-equal') return false;
    this.#armed = token;
    void r.then(() => {
      if (this.#armed !== token) return; // disarmed: nothing to do
      this.#armed = 0;
      this.#pump();
    });
    return true;
  }

  #disarm(): void {
    Atomics.store(this.#ctl, C_MAIN_SLEEPING, 0);
    const token = this.#armed;
    if (token === 0) return;
    this.#armed = 0;
    native.waitCancel(this.#ctl, C_DOORBELL, token);
  }

  // ---- cancellation, timeouts, exits ----

  /** @internal TaskOwner: TaskPromise.cancel() and the exec signal. */
  cancelTask(t: Task, reason: unknown): void {
    if (t.settled) return;
    const err = new CancellationError('Task cancelled', reason);
    if (!t.worker) {
      this.#queue.remove?.(t);
      if (t.settle(false, err)) this.#failed++;
      return;
    }
    if (t.settle(false, err)) this.#failed++;
    this.#abortRunning(t);
  }

  /** @internal TaskOwner: TaskPromise.timeout(). */
  timeoutTask(t: Task, ms: number): void {
    if (typeof ms !== 'number') {
      throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `timeout() expects a number of milliseconds, got ${describe(ms)}`);
    }
    if (!(ms >= 0)) throw new RingpoolRangeError('ERR_RINGPOOL_OUT_OF_RANGE', `timeout() expects milliseconds >= 0, got ${ms}`);
    if (t.settled) return;
    const x = t.extras();
    x.timeoutMs = ms;
    if (t.worker) {
      if (x.timer) clearTimeout(x.timer);
      x.timer = setTimeout(() => this.#timedOut(t), ms);
    }
  }

  #timedOut(t: Task): void {
    const x = t.extras();
    x.timer = undefined;
    if (t.settle(false, new TimeoutError(x.timeoutMs, 'Task'))) this.#failed++;
    this.#abortRunning(t);
  }

  /** A settled task still running: signal it, and replace its worker if it does not stop. */
  #abortRunning(t: Task): void {
    const h = t.worker;
    if (!h) return;
    h.cancel(this.#enc, t);
    t.extras().killTimer = setTimeout(() => {
      // Only a task that started can hold the worker: one still queued in the worker's channel
      // sees its cancel flag and is skipped, so killing the worker would only take down
      // whatever else runs there.
      if (h.inflight.has(t.id) && !h.exited && t.seq <= h.started) {
        h.retiring = true;
        void h.worker.terminate();
      }
    }, this.#opts.workerTerminateTimeout);
  }

  #onExit(h: WorkerHandle, code: number): void {
    h.exited = true;
    if (h.killTimer) clearTimeout(h.killTimer);
    if (h.idleTimer) clearTimeout(h.idleTimer);
    h.drain(this.#scratch, this.#dec, this); // results written before it died still count
    this.#workers.delete(h);
    this.#pending.delete(h);
    const started = h.started;
    const reason = exitReason(h, code);
    for (const t of h.inflight.values()) {
      this.#inflight--;
      t.worker = undefined;
      if (t.x?.killTimer) clearTimeout(t.x.killTimer);
      if (t.settled) continue;
      if (t.seq <= started) {
        if (t.settle(false, new WorkerExitError(code, reason, h.lastError))) this.#failed++;
      } else if (this.#terminated) {
        if (t.settle(false, new PoolTerminatedError())) this.#failed++;
      } else {
        if (t.x?.timer) clearTimeout(t.x.timer);
        if (t.x) t.x.timer = undefined;
        t.seq = 0;
        t.queuedAt = this.#stampQueued(this.#queue.size()); // the epoch may have moved since it was queued
        this.#queue.push(t); // never ran: it runs on another worker
      }
    }
    h.inflight.clear();
    this.emit('workerExit', { threadId: h.threadId, exitCode: code, reason });
    this.#opts.onTerminateWorker?.({ script: this.script, threadId: h.threadId, exitCode: code });
    if (!h.ready && !h.retiring && !this.#terminated && h.burst === this.#burst) this.#spawnFailed(h.lastError ?? new Error(reason));
    if (this.#terminated) return;
    while (this.#workers.size < this.#opts.minWorkers && this.#canSpawn()) this.#spawn();
    this.#pump();
  }

  #spawnFailed(cause: unknown): void {
    this.#spawnFailures++;
    if (this.#spawnFailures >= kMaxSpawnAttempts) {
      this.#spawnFailures = 0;
      this.#spawnBlockedUntil = 0;
      this.#burst++; // workers of this burst that fail later are not reported again
      const err = new WorkerSpawnError(cause);
      for (let t = this.#queue.pop() as Task | undefined; t; t = this.#queue.pop() as Task | undefined) {
        if (t.settle(false, err)) this.#failed++;
      }
      // Tasks handed to workers of this burst that are still starting never ran: they fail
      // with the burst, and those workers are stopped (their exits are not reported again).
      for (const h of this.#workers) {
        if (h.ready) continue;
        for (const t of h.inflight.values()) {
          this.#inflight--;
          t.worker = undefined;
          if (t.settle(false, err)) this.#failed++;
        }
        h.inflight.clear();
        h.retiring = true;
        void h.worker.terminate();
      }
      if (this.listenerCount('error') > 0) this.emit('error', err);
      return;
    }
    const backoff = 50 * 2 ** (this.#spawnFailures - 1);
    this.#spawnBlockedUntil = performance.now() + backoff;
    if (this.#spawnTimer) clearTimeout(this.#spawnTimer);
    this.#spawnTimer = setTimeout(() => {
      this.#spawnTimer = undefined;
      this.#spawnBlockedUntil = 0; // timers may fire a little before performance.now() says
      this.#pump();
    }, backoff);
  }
}

/** postMessage refuses values with a DOMException named DataCloneError: give it our class and code. */
function asCloneError(err: unknown): unknown {
  if (err instanceof Error && err.name === 'DataCloneError' && !(err instanceof DataCloneError)) return new DataCloneError(err.message);
  return err;
}

function exitReason(h: WorkerHandle, code: number): string {
  const e = h.lastError;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  if (e !== undefined) return `threw ${String(e)}`;
  if (h.retiring) return 'terminated by the pool';
  return code === 0 ? 'exited with code 0 (process.exit)' : `exited with code ${code}`;
}

/** A method name or a function; anything else is a TypeError naming `where`. */
export function checkTarget(method: unknown, where: string): asserts method is string | AnyFn {
  if (typeof method !== 'string' && typeof method !== 'function') {
    throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `${where} expects a method name or a function, got ${describe(method)}`);
  }
}

export function checkExecOptions(options: unknown): ExecOptions | undefined {
  if (options === undefined || options === null) return undefined;
  if (typeof options !== 'object') {
    throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `exec() options must be an object, got ${describe(options)}`);
  }
  const o = options as ExecOptions;
  if (o.on !== undefined && typeof o.on !== 'function') throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `options.on must be a function, got ${describe(o.on)}`);
  if (o.transfer !== undefined && !Array.isArray(o.transfer)) throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `options.transfer must be an array, got ${describe(o.transfer)}`);
  if (o.priority !== undefined && typeof o.priority !== 'number') throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `options.priority must be a number, got ${describe(o.priority)}`);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `options.signal must be an AbortSignal, got ${describe(o.signal)}`);
  if (o.timeout !== undefined) {
    if (typeof o.timeout !== 'number') throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `options.timeout must be a number of milliseconds, got ${describe(o.timeout)}`);
    if (!(o.timeout >= 0)) throw new RingpoolRangeError('ERR_RINGPOOL_OUT_OF_RANGE', `options.timeout must be >= 0 ms, got ${o.timeout}`);
  }
  return o;
}

/** workerpool's factory: pool(script?, options?) or pool(options). */
export function pool(script?: string | URL | PoolOptions | null, options?: PoolOptions): Pool {
  if (script !== null && typeof script === 'object' && !(script instanceof URL)) return new Pool(null, script);
  return new Pool(script as string | URL | null | undefined, options);
}
