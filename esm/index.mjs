// ESM entry: the same names as the CommonJS entry (test/unit/exports.test.js checks that).
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
} = cjs;
export default cjs;
