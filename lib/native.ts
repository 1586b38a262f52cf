/**
 * The only file that loads the compiled addon. Everything else imports the typed facade
 * below. The functions here do minimal checking of their own (they throw TypeError /
 * RangeError with ERR_RINGPOOL_* codes on bad views); the public classes validate first so
 * that users get messages phrased in terms of the public API.
 *
 * Conventions: every structure function takes, first, an Int32Array over the structure's
 * whole SharedArrayBuffer. Timeouts are milliseconds, already normalised (>= 0 or Infinity).
 */
import * as path from 'node:path';

import { AddonMissingError } from './errors';

export type WaitResult = 'ok' | 'not-equal' | 'timed-out';

export interface RingLayout {
  /** Bytes of header before the slot array. */
  readonly headerBytes: number;
  /** Int32 index of the "not empty" sequence word consumers wait on. */
  readonly notEmptySeq: number;
  /** Int32 index of the count of consumers that are (about to be) waiting. */
  readonly notEmptyWaiters: number;
  /** Int32 index of the "not full" sequence word producers wait on. */
  readonly notFullSeq: number;
  /** Int32 index of the count of producers that are (about to be) waiting. */
  readonly notFullWaiters: number;
}

export interface ChannelLayout {
  readonly headerBytes: number;
  /** Int32 index of the "data available" sequence word the reader waits on. */
  readonly dataSeq: number;
  /** Int32 index of the reader-waiting flag/count. */
  readonly readerWaiters: number;
}

export interface NativeBinding {
  // wait table (bind_wait.c)
  /** 'not-equal' when i32[index] !== value, else a promise that settles 'ok' or 'timed-out'. */
  /**
   * countIndex: a waiter count in i32 that the caller incremented for this wait; a wake-up by
   * notify decrements it (so 'ok' means it no longer counts this waiter); other outcomes leave it.
   */
  waitAsync(i32: Int32Array, index: number, value: number, token: number, countIndex?: number): 'not-equal' | Promise<'ok' | 'timed-out'>;
  /** Settles the async waiter `token` of this thread as 'timed-out' if it is still queued. */
  waitCancel(i32: Int32Array, index: number, token: number): boolean;
  wait(i32: Int32Array, index: number, value: number, timeoutMs: number): WaitResult;
  notify(i32: Int32Array, index: number, count: number): number;
  waitCount(i32: Int32Array, index: number): number;

  // ring (bind_ring.c)
  ringBytes(capacity: number): number;
  ringInit(i32: Int32Array, capacity: number): void;
  /** Validates magic/version/size and returns the capacity. */
  ringCheck(i32: Int32Array): number;
  ringLayout(): RingLayout;
  /** false when full. */
  ringPush(i32: Int32Array, value: number): boolean;
  /** -1 when empty, else the value (0 .. 2^32-1). */
  ringPop(i32: Int32Array): number;
  ringSize(i32: Int32Array): number;
  /** Blocks while full; false on timeout. */
  ringPushWait(i32: Int32Array, value: number, timeoutMs: number): boolean;
  /** Blocks while empty; -1 on timeout. */
  ringPopWait(i32: Int32Array, timeoutMs: number): number;

  // channel (bind_channel.c)
  channelBytes(dataBytes: number): number;
  channelInit(i32: Int32Array, dataBytes: number): void;
  /** Validates and returns the data capacity in bytes. */
  channelCheck(i32: Int32Array): number;
  channelLayout(): ChannelLayout;
  /** Largest record payload this channel can ever accept. */
  channelMaxRecord(i32: Int32Array): number;
  /** false when there is no room now; throws RangeError ERR_RINGPOOL_TOO_LARGE if it can never fit. */
  channelSend(i32: Int32Array, bytes: Uint8Array): boolean;
  channelReceive(i32: Int32Array): Uint8Array | undefined;
  /** Byte length, -1 when empty; RangeError ERR_RINGPOOL_TOO_LARGE (record kept) when `into` is too small. */
  channelReceiveInto(i32: Int32Array, into: Uint8Array): number;
  /** Size of the next record, -1 when empty. */
  channelPeekSize(i32: Int32Array): number;
  channelReceiveWait(i32: Int32Array, timeoutMs: number): Uint8Array | undefined;

  // slots (bind_slots.c)
  slotsBytes(slotSize: number, slots: number): number;
  slotsInit(i32: Int32Array, slotSize: number, slots: number): void;
  /** Validates; returns [slotSize, slots, dataOffset]. */
  slotsCheck(i32: Int32Array): [number, number, number];
  /** -1 when exhausted. */
  slotsAlloc(i32: Int32Array): number;
  /** RangeError for an index out of range, Error ERR_RINGPOOL_INVALID_STATE for a slot that is not allocated. */
  slotsFree(i32: Int32Array, index: number): void;
  slotsAvailable(i32: Int32Array): number;
}

function load(): NativeBinding {
  const root = path.join(__dirname, '..');
  const candidates = [
    path.join(root, 'build', 'Release', 'ringpool.node'),
    path.join(root, 'build', 'Debug', 'ringpool.node'),
  ];
  const causes: unknown[] = [];
  for (const file of candidates) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const addon = require(file) as NativeBinding;
      // A copy with fast properties: the addon's exports object has ~80 properties and is in
      // dictionary mode, so every `native.f(...)` on a hot path paid a generic property
      // lookup (~10 ns; 5% of a SharedMap.get).
      return { ...addon };
    } catch (err) {
      causes.push(err);
    }
  }
  throw new AddonMissingError(candidates, causes);
}

export const native: NativeBinding = load();
