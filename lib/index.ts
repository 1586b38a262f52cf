/** ringpool's public API: re-exports only. */
export { waitAsync, wait, notify } from './wait';
export type { WaitAsyncResult } from './wait';
export { Ring } from './ring';
export type { RingOptions } from './ring';
export { Channel } from './channel';
export type { ChannelOptions } from './channel';
export { SlotAllocator } from './slot-allocator';
export type { SlotAllocatorOptions } from './slot-allocator';
export {
  RingpoolError,
  RingpoolTypeError,
  RingpoolRangeError,
  AddonMissingError,
  AbortError,
  TimeoutError,
} from './errors';
export type { RingpoolErrorCode } from './errors';
