/**
 * Task queues: where tasks wait on the main thread until a worker can take them.
 * A queue is a small interface so that users can plug their own (workerpool's custom
 * queue objects have the same shape). The built-in ones are O(1) per operation except
 * the priority queue, which is a binary heap (O(log n)), stable for equal priorities.
 */

export interface QueuedTask {
  /** Larger runs first in the priority queue. */
  readonly priority: number;
}

export interface TaskQueue<T extends QueuedTask = QueuedTask> {
  push(task: T): void;
  pop(): T | undefined;
  size(): number;
  contains(task: T): boolean;
  clear(): void;
}

/** Growable ring of items: O(1) push/shift/pop at both ends, removal by scan. */
class Deque<T> {
  #items: (T | undefined)[] = new Array<T | undefined>(16);
  #head = 0; // index of the first item
  #size = 0; // items in use; #items.length is a power of two

  get size(): number {
    return this.#size;
  }

  pushBack(v: T): void {
    if (this.#size === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#size) & (this.#items.length - 1)] = v;
    this.#size++;
  }

  popFront(): T | undefined {
    if (this.#size === 0) return undefined;
    const v = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    this.#size--;
    return v;
  }

  popBack(): T | undefined {
    if (this.#size === 0) return undefined;
    const i = (this.#head + this.#size - 1) & (this.#items.length - 1);
    const v = this.#items[i];
    this.#items[i] = undefined;
    this.#size--;
    return v;
  }

  indexOf(v: T): number {
    for (let i = 0; i < this.#size; i++) if (this.#items[(this.#head + i) & (this.#items.length - 1)] === v) return i;
    return -1;
  }

  removeAt(pos: number): void {
    const mask = this.#items.length - 1;
    for (let i = pos; i < this.#size - 1; i++) this.#items[(this.#head + i) & mask] = this.#items[(this.#head + i + 1) & mask];
    this.#items[(this.#head + this.#size - 1) & mask] = undefined;
    this.#size--;
  }

  clear(): void {
    this.#items = new Array<T | undefined>(16);
    this.#head = 0;
    this.#size = 0;
  }

  #grow(): void {
    const next = new Array<T | undefined>(this.#items.length * 2);
    for (let i = 0; i < this.#size; i++) next[i] = this.#items[(this.#head + i) & (this.#items.length - 1)];
    this.#items = next;
    this.#head = 0;
  }
}

/** FIFO and LIFO share everything but the end `pop` takes from. */
abstract class DequeQueue<T extends QueuedTask> implements TaskQueue<T> {
  protected readonly d = new Deque<T>();
  push(task: T): void {
    this.d.pushBack(task);
  }
  abstract pop(): T | undefined;
  size(): number {
    return this.d.size;
  }
  contains(task: T): boolean {
    return this.d.indexOf(task) >= 0;
  }
  clear(): void {
    this.d.clear();
  }
  /** Removes a task (cancellation of a queued task). */
  remove(task: T): boolean {
    const i = this.d.indexOf(task);
    if (i < 0) return false;
    this.d.removeAt(i);
    return true;
  }
}

export class FifoQueue<T extends QueuedTask> extends DequeQueue<T> {
  pop(): T | undefined {
    return this.d.popFront();
  }
}

export class LifoQueue<T extends QueuedTask> extends DequeQueue<T> {
  pop(): T | undefined {
    return this.d.popBack();
  }
}

/** Max-heap on priority; ties broken by arrival order (stable). */
export class PriorityQueue<T extends QueuedTask> implements TaskQueue<T> {
  #heap: { task: T; seq: number }[] = [];
  #seq = 0;

  push(task: T): void {
    this.#heap.push({ task, seq: this.#seq++ });
    this.#up(this.#heap.length - 1);
  }

  pop(): T | undefined {
    const h = this.#heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      this.#down(0);
    }
    return top.task;
  }

  size(): number {
    return this.#heap.length;
  }

  contains(task: T): boolean {
    return this.#heap.some((e) => e.task === task);
  }

  clear(): void {
    this.#heap = [];
  }

  remove(task: T): boolean {
    const i = this.#heap.findIndex((e) => e.task === task);
    if (i < 0) return false;
    const last = this.#heap.pop()!;
    if (i < this.#heap.length) {
      this.#heap[i] = last;
      this.#down(i);
      this.#up(i);
    }
    return true;
  }

  #before(a: { task: T; seq: number }, b: { task: T; seq: number }): boolean {
    return a.task.priority > b.task.priority || (a.task.priority === b.task.priority && a.seq < b.seq);
  }

  #up(i: number): void {
    const h = this.#heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  #down(i: number): void {
    const h = this.#heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.#before(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.#before(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
