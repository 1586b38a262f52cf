// ESM entry: the same names as the CommonJS entry (a test checks that the lists match).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const cjs = require('../dist/index.js');

export const {
  waitAsync,
  wait,
  notify,
  Ring,
  Channel,
  SlotAllocator,
  RingpoolError,
  RingpoolTypeError,
  RingpoolRangeError,
  AddonMissingError,
  AbortError,
  TimeoutError,
  pool,
  Pool,
  TaskPromise,
  worker,
  workerEmit,
  getTaskContext,
  getContext,
  Transfer,
  isMainThread,
  cpus,
  TaskError,
  CancellationError,
  WorkerExitError,
  WorkerSpawnError,
  QueueFullError,
  PoolTerminatedError,
  DataCloneError,
} = cjs;
export default cjs;
