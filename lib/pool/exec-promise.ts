/**
 * The promise `exec` returns, which is also the task itself: a real Promise (it is
 * `instanceof Promise`, and `then` returns plain promises) with workerpool's `.cancel()` and
 * `.timeout(ms)`, whose private fields hold the task's state from queueing to settlement.
 *
 * One object per task, cheap to make, because a pool may create 100,000 of them in one tick
 * and the young-generation GC copies every one that is still live (twice, before they reach
 * the old generation): a separate task object cost almost as much again as the promise.
 *  - the executor is one shared function that hands the resolving functions over through
 *    two module variables (no closure per promise); the task keeps them until it settles;
 *  - the state is in private fields (not seen by users, util.inspect or JSON), read by the
 *    pool and the worker handles through the accessors marked internal below;
 *  - `constructor` on the prototype is `Promise`, so V8 treats a TaskPromise like a native
 *    promise where the spec looks at `constructor`: `await p` and `Promise.resolve(p)` use it
 *    as it is (no wrapper promise and extra tick), and `then` builds plain promises without
 *    calling a species getter.
 *
 * Invariants:
 *  - settled once #resolve is undefined; settle() clears it (and #reject), so the resolving
 *    functions are called at most once, and only there.
 *  - #worker is set while the task is dispatched and the worker has not reported it done;
 *    a settled task may still be dispatched (cancelled or timed out while running): its
 *    worker's report is then ignored.
 */
import type { ExecOptions, FnTarget, TaskExtras, TaskOwner } from './task';
import type { QueuedTask } from './task-queue';
import type { WorkerHandle } from './worker-handle';

type Settle = (v: unknown) => void;

let capturedResolve: Settle | undefined;
let capturedReject: Settle | undefined;

function capture(resolve: (v: never) => void, reject: Settle): void {
  capturedResolve = resolve as Settle;
  capturedReject = reject;
}

export class TaskPromise<T = unknown> extends Promise<T> implements QueuedTask {
  // Set by of(); a TaskPromise made otherwise (a subclass, TaskPromise.resolve()) has no task.
  #id!: number;
  #owner: TaskOwner | undefined;
  #target!: string | FnTarget;
  #args!: unknown[];
  #queuedAt!: number;
  #seq!: number;
  #worker: WorkerHandle | undefined;
  #x: TaskExtras | undefined;
  #resolve: Settle | undefined;
  #reject: Settle | undefined;

  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  /**
   * @internal Creates a task and its promise. `target` is a method name or the function's
   * shared target; `queuedAt` is in the pool's clock (see Pool).
   */
  static of<T>(id: number, owner: TaskOwner, target: string | FnTarget, args: unknown[], queuedAt: number): TaskPromise<T> {
    const p = new TaskPromise<T>(capture);
    p.#id = id;
    p.#owner = owner;
    p.#target = target;
    p.#args = args;
    p.#queuedAt = queuedAt;
    p.#seq = 0;
    p.#resolve = capturedResolve;
    p.#reject = capturedReject;
    capturedResolve = capturedReject = undefined;
    return p;
  }

  /** Cancels the task: a queued task is removed, a running one gets its abort signal (and
   * its worker is replaced if it does not stop within workerTerminateTimeout). The promise
   * rejects with a CancellationError. Returns the promise, as in workerpool. */
  cancel(reason?: unknown): this {
    this.#owner?.cancelTask(this, reason);
    return this;
  }

  /** Rejects with a TimeoutError if the task has not finished `ms` after it was dispatched
   * to a worker (or after this call, if it is already running). Returns the promise. */
  timeout(ms: number): this {
    this.#owner?.timeoutTask(this, ms);
    return this;
  }

  // ---- the task (internal: the pool, the worker handles and custom queues read these) ----

  /** @internal Task id, unique in its pool (on the wire as a u32). */
  get id(): number {
    return this.#id;
  }

  /** @internal The method name, or undefined for a function task. */
  get method(): string | undefined {
    const t = this.#target;
    return typeof t === 'string' ? t : undefined;
  }

  /** @internal The function id (0 for a method task). */
  get fnId(): number {
    const t = this.#target;
    return typeof t === 'string' ? 0 : t.id;
  }

  /** @internal The function's source (undefined for a method task). */
  get fnSource(): string | undefined {
    const t = this.#target;
    return typeof t === 'string' ? undefined : t.source;
  }

  /** @internal */
  get args(): unknown[] {
    return this.#args;
  }

  /** @internal When it was queued, in the pool's clock. */
  get queuedAt(): number {
    return this.#queuedAt;
  }

  set queuedAt(v: number) {
    this.#queuedAt = v;
  }

  /** @internal Per-worker dispatch sequence number (1-based) while dispatched. */
  get seq(): number {
    return this.#seq;
  }

  set seq(v: number) {
    this.#seq = v;
  }

  /** @internal The worker it was dispatched to, until that worker reports it done. */
  get worker(): WorkerHandle | undefined {
    return this.#worker;
  }

  set worker(h: WorkerHandle | undefined) {
    this.#worker = h;
  }

  /** @internal Rarely used state (options, timers), or undefined. */
  get x(): TaskExtras | undefined {
    return this.#x;
  }

  /** @internal 0 for exec(); a batch mode (protocol M_*) for the chunks of the batch APIs. */
  get mode(): number {
    const x = this.#x;
    return x === undefined ? 0 : x.mode;
  }

  /** With queueStrategy 'priority': larger runs first. */
  get priority(): number {
    const x = this.#x;
    return x === undefined ? 0 : x.priority;
  }

  /** The exec option `metadata` (for custom queues). */
  get metadata(): unknown {
    return this.#x?.metadata;
  }

  /** @internal */
  get settled(): boolean {
    return this.#resolve === undefined;
  }

  /** @internal Takes the exec options that need per-task state (the caller checked them). */
  setOptions(options: ExecOptions): void {
    const x = this.extras();
    x.on = options.on;
    x.transfer = options.transfer;
    x.metadata = options.metadata;
    x.priority = options.priority ?? 0;
    x.timeoutMs = options.timeout ?? Infinity;
    x.context = options.context;
  }

  /** @internal The task's extras, created on first use. */
  extras(): TaskExtras {
    return (this.#x ??= {
      on: undefined,
      transfer: undefined,
      metadata: undefined,
      priority: 0,
      mode: 0,
      timeoutMs: Infinity,
      timer: undefined,
      killTimer: undefined,
      signal: undefined,
      onAbort: undefined,
      context: undefined,
    });
  }

  /** @internal Settles once; returns false if it already was (or is not a pool task). */
  settle(ok: boolean, value: unknown): boolean {
    const resolve = this.#resolve;
    if (resolve === undefined) return false;
    const reject = this.#reject!;
    this.#resolve = undefined;
    this.#reject = undefined;
    const x = this.#x;
    if (x !== undefined) {
      if (x.timer) clearTimeout(x.timer);
      x.timer = undefined;
      if (x.signal && x.onAbort) x.signal.removeEventListener('abort', x.onAbort);
    }
    if (ok) resolve(value);
    else reject(value);
    return true;
  }
}

// See the header: spec operations that compare `constructor` with %Promise% see a native one.
Object.defineProperty(TaskPromise.prototype, 'constructor', { value: Promise, writable: true, enumerable: false, configurable: true });
