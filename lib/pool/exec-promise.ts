/**
 * The promise `exec` returns: a real Promise (it is `instanceof Promise`, and `then`
 * returns plain promises) with workerpool's `.cancel()` and `.timeout(ms)`.
 */
export interface Cancellable {
  cancel(reason?: unknown): void;
  setTimeout(ms: number): void;
}

export class TaskPromise<T> extends Promise<T> {
  #task: Cancellable | undefined;

  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  /** Internal: links the promise to its task. */
  bind(task: Cancellable): this {
    this.#task = task;
    return this;
  }

  /** Cancels the task: a queued task is removed, a running one gets its abort signal (and
   * its worker is replaced if it does not stop within workerTerminateTimeout). The promise
   * rejects with a CancellationError. Returns the promise, as in workerpool. */
  cancel(reason?: unknown): this {
    this.#task?.cancel(reason);
    return this;
  }

  /** Rejects with a TimeoutError if the task has not finished `ms` after it was dispatched
   * to a worker (or after this call, if it is already running). Returns the promise. */
  timeout(ms: number): this {
    this.#task?.setTimeout(ms);
    return this;
  }
}
