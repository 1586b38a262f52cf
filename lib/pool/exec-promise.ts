/**
 * The promise `exec` returns: a real Promise (it is `instanceof Promise`, and `then`
 * returns plain promises) with workerpool's `.cancel()` and `.timeout(ms)`.
 */
import type { Task } from './task';

export class TaskPromise<T> extends Promise<T> {
  #task: Task | undefined;

  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  /** Internal: creates the promise of a task and wires its resolve/reject. */
  static of<T>(task: Task): TaskPromise<T> {
    const p = new TaskPromise<T>((res, rej) => {
      task.resolve = res as (v: unknown) => void;
      task.reject = rej;
    });
    p.#task = task;
    return p;
  }

  /** Cancels the task: a queued task is removed, a running one gets its abort signal (and
   * its worker is replaced if it does not stop within workerTerminateTimeout). The promise
   * rejects with a CancellationError. Returns the promise, as in workerpool. */
  cancel(reason?: unknown): this {
    const t = this.#task;
    t?.owner.cancelTask(t, reason);
    return this;
  }

  /** Rejects with a TimeoutError if the task has not finished `ms` after it was dispatched
   * to a worker (or after this call, if it is already running). Returns the promise. */
  timeout(ms: number): this {
    const t = this.#task;
    t?.owner.timeoutTask(t, ms);
    return this;
  }
}
