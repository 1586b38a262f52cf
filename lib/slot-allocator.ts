/**
 * SlotAllocator: an arena of equal-size slots in a SharedArrayBuffer with a lock-free free
 * list, usable from any number of threads at once. `alloc` never blocks: a full arena
 * returns -1. The allocator is native (src/slots.c); this class validates arguments and
 * hands out views of the slots' bytes.
 */
import { RingpoolError, RingpoolRangeError, RingpoolTypeError } from './errors';
import { native } from './native';
import { assertInt, assertOptionsObject, assertSharedBuffer } from './validate';

/** Options of `new SlotAllocator(options)`. */
export interface SlotAllocatorOptions {
  /** Bytes per slot: a multiple of 8 from 8 to 2^30. */
  readonly slotSize: number;
  /** Number of slots: 1 to 2^24. */
  readonly slots: number;
}

const kMaxSlotSize = 2 ** 30;
const kMaxSlots = 2 ** 24;
/** Key of the private constructor argument used by SlotAllocator.from. */
const kAttach = Symbol('kAttach');

interface Geometry {
  readonly buffer: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly slotSize: number;
  readonly slots: number;
  readonly dataOffset: number;
}

interface Attach {
  readonly [kAttach]: Geometry;
}

function isAttach(options: object): options is Attach {
  return kAttach in options;
}

function codeOf(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
}

/** A fixed-size block allocator over shared memory. */
export class SlotAllocator {
  /** Header, free-list metadata, then the slots' data. */
  readonly #buffer: SharedArrayBuffer;
  /** Int32 view over the whole region; every native call takes it. */
  readonly #i32: Int32Array;
  /** Multiple of 8; fixed at creation. */
  readonly #slotSize: number;
  /** Fixed at creation; indices are 0 .. slots - 1. */
  readonly #slots: number;
  /** Byte offset of slot 0's data in the buffer (a multiple of 64). */
  readonly #dataOffset: number;

  /**
   * Creates an arena of `slots` free slots of `slotSize` bytes in a new SharedArrayBuffer.
   * @throws RingpoolTypeError ERR_RINGPOOL_INVALID_ARG_TYPE for options of the wrong type
   * @throws RingpoolRangeError ERR_RINGPOOL_OUT_OF_RANGE for sizes out of range
   */
  constructor(options: SlotAllocatorOptions) {
    assertOptionsObject(options);
    if (isAttach(options)) {
      const g = options[kAttach];
      this.#buffer = g.buffer;
      this.#i32 = g.i32;
      this.#slotSize = g.slotSize;
      this.#slots = g.slots;
      this.#dataOffset = g.dataOffset;
      return;
    }
    const { slotSize, slots } = options;
    assertInt(slotSize, 'slotSize', 8, kMaxSlotSize);
    if (slotSize % 8 !== 0) {
      throw new RingpoolRangeError('ERR_RINGPOOL_OUT_OF_RANGE', `slotSize must be a multiple of 8, got ${slotSize}`);
    }
    assertInt(slots, 'slots', 1, kMaxSlots);
    // Mirrors rp_slots_bytes: header + 8 bytes of metadata per slot, 64-byte aligned data.
    if (Math.ceil((256 + 8 * slots) / 64) * 64 + slotSize * slots > Number.MAX_SAFE_INTEGER) {
      throw new RingpoolRangeError(
        'ERR_RINGPOOL_OUT_OF_RANGE',
        `${slots} slots of ${slotSize} bytes are more than a buffer can hold`,
      );
    }
    const bytes = native.slotsBytes(slotSize, slots);
    let buffer: SharedArrayBuffer;
    try {
      buffer = new SharedArrayBuffer(bytes);
    } catch {
      throw new RingpoolRangeError(
        'ERR_RINGPOOL_OUT_OF_RANGE',
        `${slots} slots of ${slotSize} bytes need ${bytes} bytes, more than can be allocated`,
      );
    }
    this.#buffer = buffer;
    this.#i32 = new Int32Array(buffer);
    native.slotsInit(this.#i32, slotSize, slots);
    this.#slotSize = slotSize;
    this.#slots = slots;
    this.#dataOffset = native.slotsCheck(this.#i32)[2];
  }

  /**
   * Attaches to an arena created elsewhere (e.g. `allocator.buffer` received through
   * workerData or postMessage).
   * @throws RingpoolTypeError ERR_RINGPOOL_NOT_SHARED when buffer is not a SharedArrayBuffer
   * @throws RingpoolTypeError ERR_RINGPOOL_BAD_LAYOUT when it does not hold a slot arena
   */
  static from(buffer: SharedArrayBuffer): SlotAllocator {
    assertSharedBuffer(buffer);
    const i32 = new Int32Array(buffer, 0, Math.floor(buffer.byteLength / 4));
    let geo: [number, number, number];
    try {
      geo = native.slotsCheck(i32);
    } catch (err) {
      if (codeOf(err) === 'ERR_RINGPOOL_BAD_LAYOUT') {
        throw new RingpoolTypeError(
          'ERR_RINGPOOL_BAD_LAYOUT',
          'SlotAllocator.from: buffer does not hold a ringpool SlotAllocator (wrong magic, version or size)',
        );
      }
      throw err;
    }
    const attach: Attach = { [kAttach]: { buffer, i32, slotSize: geo[0], slots: geo[1], dataOffset: geo[2] } };
    return new SlotAllocator(attach as unknown as SlotAllocatorOptions);
  }

  /** The SharedArrayBuffer holding the arena; pass it to another thread and call from(). */
  get buffer(): SharedArrayBuffer {
    return this.#buffer;
  }

  /** Bytes per slot. */
  get slotSize(): number {
    return this.#slotSize;
  }

  /** Number of slots. */
  get slots(): number {
    return this.#slots;
  }

  /** Free slots right now (a snapshot when other threads are active). */
  get available(): number {
    return native.slotsAvailable(this.#i32);
  }

  /**
   * Takes a free slot and returns its index, or -1 when every slot is in use. Never blocks.
   * The slot's bytes are whatever its previous owner left there.
   */
  alloc(): number {
    return native.slotsAlloc(this.#i32);
  }

  /**
   * Returns slot `index` to the arena. The caller must not use its view afterwards.
   * @throws RingpoolRangeError ERR_RINGPOOL_OUT_OF_RANGE for an index outside 0 .. slots - 1
   * @throws RingpoolError ERR_RINGPOOL_INVALID_STATE when the slot is not allocated (nothing changes)
   */
  free(index: number): void {
    this.#assertIndex(index);
    try {
      native.slotsFree(this.#i32, index);
    } catch (err) {
      if (codeOf(err) === 'ERR_RINGPOOL_INVALID_STATE') {
        throw new RingpoolError('ERR_RINGPOOL_INVALID_STATE', `free(${index}): slot ${index} is not allocated`);
      }
      throw err;
    }
  }

  /**
   * A Uint8Array of `slotSize` bytes over slot `index` in the shared buffer. Views stay
   * valid for the life of the buffer; only the slot's current owner should use one.
   * @throws RingpoolRangeError ERR_RINGPOOL_OUT_OF_RANGE for an index outside 0 .. slots - 1
   */
  view(index: number): Uint8Array {
    this.#assertIndex(index);
    return new Uint8Array(this.#buffer, this.#dataOffset + index * this.#slotSize, this.#slotSize);
  }

  #assertIndex(index: unknown): asserts index is number {
    assertInt(index, 'index', 0, this.#slots - 1);
  }
}
