/**
 * The CommonJS entry point (package.json "main" / "exports".require): the exports of
 * ./index, but each module is loaded the first time one of its names is read. A pool worker
 * script that only calls worker() then loads the worker API instead of the whole package
 * (about 50 modules, a large share of a worker's start-up time), and so does any program
 * that uses one part of ringpool. The native addon is loaded at once, so a missing build
 * still fails at require time with AddonMissingError.
 *
 * Types come from ./index (types/index.d.ts). Keep kFrom in step with ./index:
 * test/pool/port-copy.test.js checks that both export the same names and the same objects.
 */
import './native';

/** Module (relative to this file) -> the names ./index re-exports from it. */
const kFrom: Readonly<Record<string, readonly string[]>> = {
  './wait': ['waitAsync', 'wait', 'notify'],
  './ring': ['Ring'],
  './channel': ['Channel'],
  './slot-allocator': ['SlotAllocator'],
  './sync': [
    'Mutex', 'RwLock', 'Semaphore', 'Barrier', 'Latch', 'Condition', 'LockGuard', 'SemaphorePermit',
    'NotOwnerError', 'WouldDeadlockError', 'BlockingMainThreadError',
  ],
  './errors': ['RingpoolError', 'RingpoolTypeError', 'RingpoolRangeError', 'AddonMissingError', 'AbortError', 'TimeoutError'],
  './pool/pool': ['pool', 'Pool'],
  './pool/exec-promise': ['TaskPromise'],
  './pool/worker-api': ['worker', 'workerEmit', 'getTaskContext', 'getContext', 'Transfer', 'isMainThread', 'cpus'],
  './pool/errors': ['TaskError', 'CancellationError', 'WorkerExitError', 'WorkerSpawnError', 'QueueFullError', 'PoolTerminatedError'],
  './codec': ['DataCloneError'],
  './shared': [
    'SharedMap', 'SharedQueue', 'SharedArray', 'SharedRecord', 'transaction', 'readTransaction', 'QueueClosedError',
    'TransactionConflictError',
  ],
};

const target = module.exports as Record<string, unknown>;
Object.defineProperty(target, '__esModule', { value: true });
for (const [from, names] of Object.entries(kFrom)) {
  for (const name of names) {
    Object.defineProperty(target, name, {
      enumerable: true,
      configurable: true,
      get(): unknown {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const value = (require(from) as Record<string, unknown>)[name];
        // Later reads are plain data reads (the same read-only binding ./index gives).
        Object.defineProperty(target, name, { enumerable: true, configurable: false, writable: false, value });
        return value;
      },
    });
  }
}
