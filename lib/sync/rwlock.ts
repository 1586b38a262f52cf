/**
 * RwLock: many readers or one writer, across threads, FIFO between readers and writers (a
 * queued writer holds back readers that come after it; readers queued together enter
 * together). Read holds are counted per thread; the writer is a thread. A writer whose thread
 * dies releases the lock with an "owner died" mark (the next guard says `ownerDied: true`);
 * the read holds of a dead thread are simply released.
 */
import { RingpoolTypeError, TimeoutError } from '../errors';
import { native } from '../native';
import { describe } from '../validate';
import {
  acquireAsync,
  blocking,
  type Core,
  createCore,
  kDispose,
  kGuardRelease,
  LockGuard,
  readBlockingOptions,
  readWaitOptions,
  type SyncBlockingOptions,
  type SyncHandle,
  type SyncWaitOptions,
  AttachSlot,
} from './common';
import { NotOwnerError } from './errors';
import { Kind, kDied, kState, kThreadId, Op } from './native-sync';

export type RwLockHandle = SyncHandle<'RwLock'>;

const kWriter = 4; /* RP_RW_WR */
const kReaderShift = 5; /* RP_RW_SHIFT */

const attach = new AttachSlot();

export class RwLock {
  readonly #core: Core;
  /** Guard serials for the write lock, as in Mutex. */
  #serial = 0;
  #current = 0;

  /** Creates an unlocked RwLock in a new SharedArrayBuffer. */
  constructor() {
    this.#core = attach.core(this, Kind.RwLock, () => createCore(this, Kind.RwLock, 0, 0));
  }

  /** The same lock from `rw.handle` (or `rw.buffer`). @throws RingpoolTypeError ERR_RINGPOOL_BAD_LAYOUT */
  static from(handle: RwLockHandle | SharedArrayBuffer): RwLock {
    return attach.run(handle, () => new RwLock());
  }

  get handle(): RwLockHandle {
    return { kind: 'RwLock', buffer: this.#core.buffer };
  }

  get buffer(): SharedArrayBuffer {
    return this.#core.buffer;
  }

  /** Number of read holds right now, over all threads (a snapshot). */
  get readers(): number {
    return native.syncLoad(this.#core.rec, kState) >>> kReaderShift;
  }

  /** Whether a writer holds it right now (a snapshot). */
  get writeLocked(): boolean {
    return (native.syncLoad(this.#core.rec, kState) & kWriter) !== 0;
  }

  /** Whether the calling thread is the writer. */
  get writeHeldByCurrentThread(): boolean {
    return this.writeLocked && native.syncHolder(this.#core.rec) === kThreadId;
  }

  tryRead(): LockGuard | null {
    const r = native.syncTry(this.#core.rec, Op.Read, 0);
    return r === 0 ? null : this.#readGuard((r & kDied) !== 0);
  }

  tryWrite(): LockGuard | null {
    const r = native.syncTry(this.#core.rec, Op.Write, 0);
    return r === 0 ? null : this.#writeGuard((r & kDied) !== 0);
  }

  /** Resolves with a read guard; waits on the event loop. Rejects with AbortError / TimeoutError. */
  async read(options?: SyncWaitOptions): Promise<LockGuard> {
    const { signal, timeout } = readWaitOptions(options);
    const rec = this.#core.rec;
    const fast = signal?.aborted ? 0 : native.syncTry(rec, Op.Read, 0);
    const r = fast !== 0 ? fast : await acquireAsync(rec, Op.Read, 0, signal, timeout, 'RwLock.read');
    return this.#readGuard((r & kDied) !== 0);
  }

  /** Resolves with a write guard; waits on the event loop. Rejects with AbortError / TimeoutError. */
  async write(options?: SyncWaitOptions): Promise<LockGuard> {
    const { signal, timeout } = readWaitOptions(options);
    const rec = this.#core.rec;
    const fast = signal?.aborted ? 0 : native.syncTry(rec, Op.Write, 0);
    const r = fast !== 0 ? fast : await acquireAsync(rec, Op.Write, 0, signal, timeout, 'RwLock.write');
    return this.#writeGuard((r & kDied) !== 0);
  }

  /** Blocking read (workers; see Mutex.lockSync for the main-thread rule and errors). */
  readSync(options?: SyncBlockingOptions): LockGuard {
    const timeout = readBlockingOptions(options, 'RwLock.readSync');
    const rec = this.#core.rec;
    const r = blocking('RwLock.readSync', () => native.syncAcquireSync(rec, Op.Read, 0, timeout));
    if (r === 0) throw new TimeoutError(timeout, 'RwLock.readSync');
    return this.#readGuard((r & kDied) !== 0);
  }

  /** Blocking write (workers; see Mutex.lockSync). */
  writeSync(options?: SyncBlockingOptions): LockGuard {
    const timeout = readBlockingOptions(options, 'RwLock.writeSync');
    const rec = this.#core.rec;
    const r = blocking('RwLock.writeSync', () => native.syncAcquireSync(rec, Op.Write, 0, timeout));
    if (r === 0) throw new TimeoutError(timeout, 'RwLock.writeSync');
    return this.#writeGuard((r & kDied) !== 0);
  }

  /** Releases one read hold of this thread. Throws NotOwnerError when it has none. */
  unlockRead(): void {
    if (native.syncRelease(this.#core.rec, Op.Read, 0) === -1) {
      throw new NotOwnerError('RwLock.unlockRead: this thread holds no read lock');
    }
  }

  /** Releases the write lock of this thread. Throws NotOwnerError when it is not the writer. */
  unlockWrite(): void {
    if (native.syncRelease(this.#core.rec, Op.Write, 0) === -1) {
      throw new NotOwnerError('RwLock.unlockWrite: this thread does not hold the write lock');
    }
    this.#current = 0;
  }

  /** Runs fn under a read lock, released afterwards. */
  async withRead<T>(fn: (guard: LockGuard) => T | PromiseLike<T>, options?: SyncWaitOptions): Promise<T> {
    assertFn(fn);
    const guard = await this.read(options);
    try {
      return await fn(guard);
    } finally {
      guard[kDispose]();
    }
  }

  /** Runs fn under the write lock, released afterwards. */
  async withWrite<T>(fn: (guard: LockGuard) => T | PromiseLike<T>, options?: SyncWaitOptions): Promise<T> {
    assertFn(fn);
    const guard = await this.write(options);
    try {
      return await fn(guard);
    } finally {
      guard[kDispose]();
    }
  }

  /** Each read guard releases exactly one read hold (release each hold once: through its
   * guard or through unlockRead(), not both). */
  #readGuard(ownerDied: boolean): LockGuard {
    return new LockGuard(ownerDied, this, 0);
  }

  #writeGuard(ownerDied: boolean): LockGuard {
    const serial = ++this.#serial;
    this.#current = serial;
    return new LockGuard(ownerDied, this, serial);
  }

  /** @internal A guard's release. Serial 0: a read guard; else a write guard, released only
   * while its acquisition is the current one (see Mutex). */
  [kGuardRelease](serial: number, strict: boolean): void {
    if (serial === 0) {
      this.unlockRead();
      return;
    }
    if (serial !== this.#current) {
      if (strict) throw new NotOwnerError('this guard\'s write lock was already released through RwLock.unlockWrite()');
      return;
    }
    this.unlockWrite();
  }
}

function assertFn(fn: unknown): void {
  if (typeof fn !== 'function') {
    throw new RingpoolTypeError('ERR_RINGPOOL_INVALID_ARG_TYPE', `fn must be a function, got ${describe(fn)}`);
  }
}
