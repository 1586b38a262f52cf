/**
 * Barrier: `parties` threads (or tasks) meet; each wait() returns once all have arrived.
 * Reusable: every trip starts a new generation. A wait that is aborted or times out takes its
 * arrival back (unless its generation already tripped: then it succeeded).
 */
import { TimeoutError } from '../errors';
import { native } from '../native';
import {
  acquireAsync,
  assertCount,
  type Core,
  createCore,
  readBlockingOptions,
  readWaitOptions,
  type SyncBlockingOptions,
  type SyncHandle,
  type SyncWaitOptions,
  AttachSlot,
} from './common';
import { Kind, kLeader, kParam, kState, Op } from './native-sync';

export type BarrierHandle = SyncHandle<'Barrier'>;

const kMaxParties = 65535;

const attach = new AttachSlot();

export class Barrier {
  readonly #core: Core;
  readonly #parties: number;

  /** @param parties how many arrivals trip the barrier: an integer from 1 to 65535 */
  constructor(parties: number) {
    this.#core = attach.core(this, Kind.Barrier, () => {
      assertCount(parties, 'parties', kMaxParties);
      return createCore(this, Kind.Barrier, parties, 0);
    });
    this.#parties = native.syncLoad(this.#core.rec, kParam);
  }

  /** The same barrier from `b.handle` (or `b.buffer`). @throws RingpoolTypeError ERR_RINGPOOL_BAD_LAYOUT */
  static from(handle: BarrierHandle | SharedArrayBuffer): Barrier {
    return attach.run(handle, () => new Barrier(1));
  }

  get handle(): BarrierHandle {
    return { kind: 'Barrier', buffer: this.#core.buffer };
  }

  get buffer(): SharedArrayBuffer {
    return this.#core.buffer;
  }

  get parties(): number {
    return this.#parties;
  }

  /** Arrivals in the current generation (a snapshot). */
  get waiting(): number {
    return Atomics.load(this.#core.i32, kState) & 0xffff;
  }

  /** Generations tripped so far, modulo 2^16 (a snapshot). */
  get generation(): number {
    return (Atomics.load(this.#core.i32, kState) >>> 16) & 0xffff;
  }

  /**
   * Arrives and resolves once all parties of this generation have arrived: with true for
   * exactly one of them (the last to arrive, the "leader"), false for the others.
   */
  async wait(options?: SyncWaitOptions): Promise<boolean> {
    const { signal, timeout } = readWaitOptions(options);
    const r = await acquireAsync(this.#core.rec, Op.Barrier, 0, signal, timeout, 'Barrier.wait');
    return (r & kLeader) !== 0;
  }

  /** Blocking wait for workers (main-thread rule: see Mutex.lockSync). */
  waitSync(options?: SyncBlockingOptions): boolean {
    const timeout = readBlockingOptions(options, 'Barrier.waitSync');
    const r = native.syncAcquireSync(this.#core.rec, Op.Barrier, 0, timeout);
    if (r === 0) throw new TimeoutError(timeout, 'Barrier.waitSync');
    return (r & kLeader) !== 0;
  }
}
