/**
 * Object ids of the value being encoded: the n-th object first met gets id n, and a
 * later meeting of the same object writes a back-reference to it (tags.ts). This is what
 * keeps shared references and cycles, as structured clone does.
 */

/** Objects tracked by a linear scan before a Map takes over. */
const kLinear = 16;
/** A slot array longer than this is dropped after use rather than kept for the next value. */
const kKeepSlots = 1024;

export class ObjectIds {
  /**
   * Objects with ids, in #slots[0, #count) (index = id). Slots past #count are undefined,
   * so user objects are not kept alive after clear(). (A count rather than
   * `length = 0`: truncating an array costs more than encoding a small value.)
   */
  #slots: Array<object | undefined> = [];
  #count = 0;
  /** Index over #slots once #count exceeds kLinear; else null. */
  #index: Map<object, number> | null = null;

  get count(): number {
    return this.#count;
  }

  /** The id of `o`, or -1 if it has none yet. */
  find(o: object): number {
    const index = this.#index;
    if (index === null) {
      const slots = this.#slots;
      for (let i = 0, n = this.#count; i < n; i++) if (slots[i] === o) return i;
      return -1;
    }
    const id = index.get(o);
    return id === undefined ? -1 : id;
  }

  /** Gives `o` the next id. */
  add(o: object): void {
    const id = this.#count;
    this.#slots[id] = o;
    this.#count = id + 1;
    if (this.#index !== null) this.#index.set(o, id);
    else if (id === kLinear) {
      const index = new Map<object, number>();
      for (let i = 0; i <= id; i++) index.set(this.#slots[i]!, i);
      this.#index = index;
    }
  }

  /** Forgets the ids >= count (an undone write); truncate(0) forgets everything. */
  truncate(count: number): void {
    const slots = this.#slots;
    const index = count === 0 ? null : this.#index;
    for (let i = count, n = this.#count; i < n; i++) {
      if (index !== null) index.delete(slots[i]!);
      slots[i] = undefined;
    }
    this.#count = count;
    if (count === 0) {
      this.#index = null;
      if (slots.length > kKeepSlots) this.#slots = [];
    }
  }
}
