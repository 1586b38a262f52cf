'use strict';
// Wrong use of the sync objects: table-driven (call, error class, code), for the public API and
// for each native function behind it. Every row must throw (or reject) before changing anything.
const assert = require('node:assert/strict');
const path = require('node:path');
const { rp, root } = require('./fixtures/helpers');

const { Mutex, RwLock, Semaphore, Barrier, Latch, Condition, RingpoolError, NotOwnerError, WouldDeadlockError, BlockingMainThreadError } = rp;
const { native } = require(path.join(root, 'dist', 'native.js'));

const T = 'ERR_RINGPOOL_INVALID_ARG_TYPE';
const R = 'ERR_RINGPOOL_OUT_OF_RANGE';
const L = 'ERR_RINGPOOL_BAD_LAYOUT';

async function outcome(fn) {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

function check(rows) {
  for (const [label, fn, Class, code] of rows) {
    it(`${label} -> ${Class.name} ${code}`, async () => {
      const err = await outcome(fn);
      assert.ok(err, 'did not throw');
      assert.ok(err instanceof Class, `${err && err.name}: ${err && err.message}`);
      assert.equal(err.code, code, err.message);
      assert.ok(err.message.length > 10);
    });
  }
}

describe('sync objects: bad input', () => {
  const mu = new Mutex();
  const rw = new RwLock();
  const sem = new Semaphore(3);
  const b = new Barrier(2);
  const l = new Latch(2);
  const cv = new Condition();

  describe('constructors', () => {
    check([
      ['new Semaphore()', () => new Semaphore(), TypeError, T],
      ["new Semaphore('3')", () => new Semaphore('3'), TypeError, T],
      ['new Semaphore(0)', () => new Semaphore(0), RangeError, R],
      ['new Semaphore(-1)', () => new Semaphore(-1), RangeError, R],
      ['new Semaphore(1.5)', () => new Semaphore(1.5), RangeError, R],
      ['new Semaphore(NaN)', () => new Semaphore(NaN), RangeError, R],
      ['new Semaphore(2 ** 28)', () => new Semaphore(2 ** 28), RangeError, R],
      ['new Semaphore(2, 5)', () => new Semaphore(2, 5), TypeError, T],
      ["new Semaphore(2, { initial: 'x' })", () => new Semaphore(2, { initial: 'x' }), TypeError, T],
      ['new Semaphore(2, { initial: 3 })', () => new Semaphore(2, { initial: 3 }), RangeError, R],
      ['new Semaphore(2, { initial: -1 })', () => new Semaphore(2, { initial: -1 }), RangeError, R],
      ['new Barrier(0)', () => new Barrier(0), RangeError, R],
      ['new Barrier(65536)', () => new Barrier(65536), RangeError, R],
      ["new Barrier('2')", () => new Barrier('2'), TypeError, T],
      ['new Latch(-1)', () => new Latch(-1), RangeError, R],
      ['new Latch(0.5)', () => new Latch(0.5), RangeError, R],
      ['new Latch(2 ** 31)', () => new Latch(2 ** 31), RangeError, R],
      ['new Latch(null)', () => new Latch(null), TypeError, T],
    ]);
  });

  describe('counts and options', () => {
    check([
      ['sem.acquire(0)', () => sem.acquire(0), RangeError, R],
      ['sem.acquire(-1)', () => sem.acquire(-1), RangeError, R],
      ['sem.acquire(1.5)', () => sem.acquire(1.5), RangeError, R],
      ['sem.acquire(4) (more than max 3)', () => sem.acquire(4), RangeError, R],
      ["sem.acquire('1')", () => sem.acquire('1'), TypeError, T],
      ['sem.tryAcquire(0)', () => sem.tryAcquire(0), RangeError, R],
      ['sem.acquireSync(0)', () => sem.acquireSync(0, { allowMainThread: true }), RangeError, R],
      ['sem.release(0)', () => sem.release(0), RangeError, R],
      ['sem.release(-2)', () => sem.release(-2), RangeError, R],
      ['sem.release(2.5)', () => sem.release(2.5), RangeError, R],
      ["sem.release('1')", () => sem.release('1'), TypeError, T],
      ['sem.release(1) when all permits are free', () => sem.release(1), RangeError, R],
      ['latch.countDown(0)', () => l.countDown(0), RangeError, R],
      ['latch.countDown(-1)', () => l.countDown(-1), RangeError, R],
      ["latch.countDown('1')", () => l.countDown('1'), TypeError, T],
      ['mu.lock(5)', () => mu.lock(5), TypeError, T],
      ["mu.lock({ timeout: '1' })", () => mu.lock({ timeout: '1' }), TypeError, T],
      ['mu.lock({ signal: {} })', () => mu.lock({ signal: {} }), TypeError, T],
      ["mu.lockSync({ allowMainThread: 'yes' })", () => mu.lockSync({ allowMainThread: 'yes' }), TypeError, T],
      ["rw.read({ timeout: 'x' })", () => rw.read({ timeout: 'x' }), TypeError, T],
      ['b.wait(null)', () => b.wait(null), TypeError, T],
      ['l.wait({ signal: 1 })', () => l.wait({ signal: 1 }), TypeError, T],
      ['mu.withLock()', () => mu.withLock(), TypeError, T],
      ["rw.withWrite('f')", () => rw.withWrite('f'), TypeError, T],
      ['cv.wait(rw)', () => cv.wait(rw), TypeError, T],
      ['cv.waitSync(null)', () => cv.waitSync(null), TypeError, T],
    ]);
  });

  describe('from(garbage)', () => {
    const zeros = new SharedArrayBuffer(128);
    check([
      ['Mutex.from(42)', () => Mutex.from(42), TypeError, L],
      ['Mutex.from(null)', () => Mutex.from(null), TypeError, L],
      ['Mutex.from({})', () => Mutex.from({}), TypeError, L],
      ['Mutex.from(zeroed buffer)', () => Mutex.from(zeros), TypeError, L],
      ['Mutex.from(64-byte buffer)', () => Mutex.from(new SharedArrayBuffer(64)), TypeError, L],
      ['Mutex.from(ArrayBuffer)', () => Mutex.from(new ArrayBuffer(128)), TypeError, L],
      ['Mutex.from(sem.handle)', () => Mutex.from(sem.handle), TypeError, L],
      ["Mutex.from({ kind: 'Mutex', buffer: sem.buffer })", () => Mutex.from({ kind: 'Mutex', buffer: sem.buffer }), TypeError, L],
      ['RwLock.from(mu.buffer)', () => RwLock.from(mu.buffer), TypeError, L],
      ['Semaphore.from(b.handle)', () => Semaphore.from(b.handle), TypeError, L],
      ['Barrier.from(undefined)', () => Barrier.from(undefined), TypeError, L],
      ["Latch.from('x')", () => Latch.from('x'), TypeError, L],
      ['Condition.from(l.handle)', () => Condition.from(l.handle), TypeError, L],
    ]);
  });

  describe('state errors', () => {
    check([
      ['mu.unlock() not held', () => mu.unlock(), NotOwnerError, 'ERR_RINGPOOL_NOT_OWNER'],
      ['rw.unlockRead() not held', () => rw.unlockRead(), NotOwnerError, 'ERR_RINGPOOL_NOT_OWNER'],
      ['rw.unlockWrite() not held', () => rw.unlockWrite(), NotOwnerError, 'ERR_RINGPOOL_NOT_OWNER'],
      ['cv.wait(mu) not held', () => cv.wait(mu), NotOwnerError, 'ERR_RINGPOOL_NOT_OWNER'],
      ['mu.lockSync() on the main thread', () => mu.lockSync(), BlockingMainThreadError, 'ERR_RINGPOOL_BLOCKING_MAIN_THREAD'],
      ['rw.readSync() on the main thread', () => rw.readSync(), BlockingMainThreadError, 'ERR_RINGPOOL_BLOCKING_MAIN_THREAD'],
      ['sem.acquireSync() on the main thread', () => sem.acquireSync(), BlockingMainThreadError, 'ERR_RINGPOOL_BLOCKING_MAIN_THREAD'],
      ['b.waitSync() on the main thread', () => b.waitSync(), BlockingMainThreadError, 'ERR_RINGPOOL_BLOCKING_MAIN_THREAD'],
      ['mu.lockSync() twice', () => {
        const g = mu.lockSync({ allowMainThread: true });
        try {
          mu.lockSync({ allowMainThread: true });
        } finally {
          g.unlock();
        }
      }, WouldDeadlockError, 'ERR_RINGPOOL_WOULD_DEADLOCK'],
    ]);
    it('the sync errors are RingpoolErrors', () => {
      for (const C of [NotOwnerError, WouldDeadlockError, BlockingMainThreadError]) assert.ok(C.prototype instanceof RingpoolError);
    });
  });

  describe('native functions', () => {
    const i32 = new Int32Array(new SharedArrayBuffer(128));
    native.syncInit(i32, 1, 0, 0);
    const owner = {}; // the record lives as long as its owner object
    const rec = native.syncOpen(owner, i32, 1);
    check([
      ['syncInit(small view)', () => native.syncInit(new Int32Array(new SharedArrayBuffer(64)), 1, 0, 0), TypeError, L],
      ['syncInit(Uint8Array)', () => native.syncInit(new Uint8Array(128), 1, 0, 0), TypeError, T],
      ['syncInit(kind 9)', () => native.syncInit(i32, 9, 0, 0), RangeError, R],
      ['syncInit(semaphore max 0)', () => native.syncInit(new Int32Array(new SharedArrayBuffer(128)), 3, 0, 0), RangeError, R],
      ['syncInit()', () => native.syncInit(), TypeError, T],
      ['syncOpen(1, i32, 1)', () => native.syncOpen(1, i32, 1), TypeError, T],
      ['syncOpen({}, zeros, 1)', () => native.syncOpen({}, new Int32Array(new SharedArrayBuffer(128)), 1), TypeError, L],
      ['syncOpen({}, i32, 2) (kind mismatch)', () => native.syncOpen({}, i32, 2), TypeError, L],
      ['syncTry(unknown record)', () => native.syncTry(99999, 1, 0), TypeError, T],
      ["syncTry('0', ...)", () => native.syncTry('0', 1, 0), TypeError, T],
      ['syncTry(rec, 0, 0)', () => native.syncTry(rec, 0, 0), RangeError, R],
      ['syncTry(rec, 4, 1) (semaphore op on a mutex)', () => native.syncTry(rec, 4, 1), TypeError, T],
      ['syncTry(rec, 1, -1)', () => native.syncTry(rec, 1, -1), RangeError, R],
      ['syncAcquire(rec, 1, 0)', () => native.syncAcquire(rec, 1, 0), TypeError, T],
      ['syncAcquire(rec, 1, 0, -1)', () => native.syncAcquire(rec, 1, 0, -1), RangeError, R],
      ['syncCancel(rec)', () => native.syncCancel(rec), TypeError, T],
      ["syncAcquireSync(rec, 1, 0, 'x')", () => native.syncAcquireSync(rec, 1, 0, 'x'), TypeError, T],
      ['syncRelease(rec, 2, 0)', () => native.syncRelease(rec, 2, 0), TypeError, T],
      ['syncCountDown(rec, 1) (not a latch)', () => native.syncCountDown(rec, 1), TypeError, T],
      ['syncNotify(rec, 1) (not a condition)', () => native.syncNotify(rec, 1), TypeError, T],
      ['syncLoad(rec, 32)', () => native.syncLoad(rec, 32), RangeError, R],
      ['syncHolder()', () => native.syncHolder(), TypeError, T],
      ['syncCondWaitSync(rec, rec, 0) (not a condition)', () => native.syncCondWaitSync(rec, rec, 0), TypeError, T],
      ['syncSetHolds(smaller table)', () => native.syncSetHolds(new Int32Array(4)), RangeError, R],
      ['syncSetup(0, table)', () => native.syncSetup(0, new Int32Array(64)), RangeError, R],
    ]);
    it('a record index works after the checks (sanity)', () => {
      assert.equal(native.syncTry(rec, 1, 0), 1);
      assert.equal(native.syncRelease(rec, 1, 0), 0);
      assert.equal(native.syncRelease(rec, 1, 0), -1);
      assert.ok(owner);
    });
  });
});
