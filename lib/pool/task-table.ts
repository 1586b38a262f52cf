/**
 * TaskTable: the tasks in flight at one worker, by task id — the subset of Map<number, Task>
 * the pool uses, without Map's per-operation cost. A worker's tasks come and go by the
 * thousand per millisecond, and a Map of that many entries reallocates its table every few
 * thousand insertions and deletions (about 90 bytes of garbage per task).
 *
 * Open addressing with linear probing over a power-of-two array; a task's home slot is
 * `id & mask`. The key is the task's own id: a slot holds a task, kGone (deleted) or
 * undefined (never used since the last rebuild); lookups stop at the first undefined.
 * Deletion leaves kGone rather than shifting the rest of the probe run back, because the
 * ids are consecutive: the tasks a worker holds fill one long run of their home slots, which
 * a backward shift would walk on every deletion. Insertions reuse kGone slots (the pool
 * never adds an id that is already there), and the array is rebuilt — doubled when the tasks
 * fill over a quarter of it — once used slots pass 3/4, which keeps probe runs short and
 * rebuilds rare. It never shrinks (it
 * is bounded by the pool's depth per worker).
 */
import type { Task } from './task';

const kInitialSlots = 16;
/** A deleted entry: probing goes on past it. */
const kGone = Object.freeze({ gone: true }) as unknown as Task;

export class TaskTable {
  #slots: (Task | undefined)[] = new Array<Task | undefined>(kInitialSlots).fill(undefined);
  #mask = kInitialSlots - 1;
  #size = 0;
  /** Slots that are not undefined: tasks and kGone. */
  #used = 0;

  get size(): number {
    return this.#size;
  }

  get(id: number): Task | undefined {
    const slots = this.#slots;
    const mask = this.#mask;
    for (let i = id & mask; ; i = (i + 1) & mask) {
      const t = slots[i];
      if (t === undefined) return undefined;
      if (t !== kGone && t.id === id) return t;
    }
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Adds `task` under `id` (its own id), which must not be in the table. */
  set(id: number, task: Task): this {
    const slots = this.#slots;
    const mask = this.#mask;
    let i = id & mask;
    for (;;) {
      const t = slots[i];
      if (t === undefined) {
        if ((this.#used + 1) * 4 > slots.length * 3) {
          this.#rebuild();
          return this.set(id, task);
        }
        this.#used++;
        break;
      }
      if (t === kGone) break;
      i = (i + 1) & mask;
    }
    slots[i] = task;
    this.#size++;
    return this;
  }

  delete(id: number): boolean {
    const slots = this.#slots;
    const mask = this.#mask;
    for (let i = id & mask; ; i = (i + 1) & mask) {
      const t = slots[i];
      if (t === undefined) return false;
      if (t !== kGone && t.id === id) {
        slots[i] = kGone;
        this.#size--;
        return true;
      }
    }
  }

  /** The tasks, in dispatch order (their per-worker sequence numbers). Not live: a copy. */
  values(): Task[] {
    const out: Task[] = [];
    for (const t of this.#slots) if (t !== undefined && t !== kGone) out.push(t);
    return out.sort((a, b) => a.seq - b.seq);
  }

  clear(): void {
    this.#slots = new Array<Task | undefined>(kInitialSlots).fill(undefined);
    this.#mask = kInitialSlots - 1;
    this.#size = 0;
    this.#used = 0;
  }

  /** Drops the kGone entries; doubles the array if the tasks alone fill a quarter of it. */
  #rebuild(): void {
    const old = this.#slots;
    const n = (this.#size + 1) * 4 > old.length ? old.length * 2 : old.length;
    const slots = new Array<Task | undefined>(n).fill(undefined);
    const mask = n - 1;
    for (const t of old) {
      if (t === undefined || t === kGone) continue;
      let i = t.id & mask;
      while (slots[i] !== undefined) i = (i + 1) & mask;
      slots[i] = t;
    }
    this.#slots = slots;
    this.#mask = mask;
    this.#used = this.#size;
  }
}
