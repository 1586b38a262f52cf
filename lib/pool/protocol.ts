/**
 * The wire protocol between the pool (main thread) and its workers.
 *
 * Per worker there are two Channels (lib/channel.ts, native byte rings in SABs):
 *   tasks   main -> worker     records are batches of messages K_*
 *   results worker -> main     records are batches of messages R_*
 * Every message starts with a u8 kind and a u32 task id, then kind-specific fields encoded
 * with the value codec (lib/codec). Messages of one worker are handled strictly in order,
 * so an emit always arrives before its task's result, and a task's stdout before both.
 *
 * A MessagePort beside the channels carries what cannot go as bytes (transfer lists,
 * SharedArrayBuffers, records larger than a channel record): the channel then carries a
 * K_PORT_TASK / R_PORT marker in the message's place, and the receiver takes exactly one
 * port message with receiveMessageOnPort when it reaches the marker, so ordering is the
 * same on both paths.
 *
 * Shared control words (Int32Array over a SAB):
 *   pool ctl    [C_DOORBELL] bumped by a worker that wrote results while the main thread
 *               sleeps; [C_MAIN_SLEEPING] 1 while the main thread is (about to be) parked on
 *               the doorbell. Protocol: main stores SLEEPING=1, reads DOORBELL, re-checks
 *               every result channel, then waits on DOORBELL; a worker, after publishing a
 *               record (whose native send ends with a seq_cst fence), does
 *               compareExchange(SLEEPING, 1, 0) and, if it won, bumps DOORBELL and notifies.
 *   worker ctl  [W_STARTED] number of tasks this worker has taken from its channel (started
 *               or skipped), in dispatch order: after a crash, tasks with a per-worker
 *               sequence number <= STARTED were running and are rejected, the others never
 *               ran and are queued again. [W_SPACE_WAITERS]/[W_SPACE_SEQ] let a worker sleep
 *               while its result channel is full. [W_CANCEL + (seq % kCancelSlots)] holds
 *               seq + 1 when the task with that sequence number was cancelled: a task reads
 *               its own slot for isCancelled(); stale values of older tasks never match.
 */

import type { MessagePort } from 'node:worker_threads';

export const K_CALL = 1; // u32 id, string method, value args
export const K_FN = 2; // u32 id, u32 fnId, u8 hasSource, [string source], value args
export const K_PORT_TASK = 3; // u32 id; port message { method | fnId+source, args }
export const K_CANCEL = 4; // u32 id: abort a running task (its signal fires)
export const K_STOP = 5; // u32 0: finish what is running, then exit
export const K_CTX = 7; // u32 id, value context: the next task with this id runs with it (getContext())
export const K_BATCH = 6; // u32 id, u8 mode (M_*), u8 isFn, (u32 fnId, u8 hasSource, [string source] | string method), value args

/** Batch modes: how a K_BATCH task applies its target to its items (see worker-entry.ts). */
export const M_EACH = 1; // args [items, start, count]: results[i] = fn(items[start + i], start + i)
export const M_APPLY = 2; // args [paramsList, start, count]: results[i] = fn(...paramsList[start + i])
export const M_REDUCE = 3; // args [items, start, count, initial]: acc = fn(acc, items[start + i], start + i)
export const M_REGION = 4; // args [region]: fn(region), then versions[index]++ and notify

export const R_OK = 1; // u32 id, f64 runMs, value
export const R_ERR = 2; // u32 id, f64 runMs, error
export const R_EMIT = 3; // u32 id, value
export const R_PORT = 4; // u32 id; port message { ok, runMs, value | error }
export const R_SKIP = 5; // u32 id: cancelled before it started
export const R_STDOUT = 6; // u32 id, string
export const R_STDERR = 7; // u32 id, string
export const R_READY = 8; // u32 0: the worker module loaded and the loop runs
export const R_EMIT_PORT = 9; // u32 id; port message { emit: payload } (payloads holding shared memory)

/** Built-in method that returns the worker's method names (for proxy()). */
export const kMethodsMethod = "__ringpool_methods__";

export const C_DOORBELL = 0;
export const C_MAIN_SLEEPING = 1;
export const kPoolCtlWords = 2;

export const W_STARTED = 0;
export const W_SPACE_WAITERS = 1;
export const W_SPACE_SEQ = 2;
export const W_CANCEL = 4;
/** Upper bound on tasks in flight at one worker (cancel slots are indexed by seq mod this). */
export const kCancelSlots = 4096;
export const kWorkerCtlWords = W_CANCEL + kCancelSlots;

/** The worker ctl word that marks the task dispatched as `seq` cancelled (it then holds seq + 1). */
export function cancelSlot(seq: number): number {
  return W_CANCEL + (seq % kCancelSlots);
}

/** Channel sizes per worker: tasks and results. */
export const kTaskChannelBytes = 1 << 18;
export const kResultChannelBytes = 1 << 18;

/**
 * Copied payload (bytes) a worker may have in flight on the MessagePort path before the pool
 * stops giving it tasks (WorkerHandle.portFull).
 */
export const kPortWindowBytes = 4 << 20;

/** What the main thread passes to a worker in workerData. */
export interface WorkerBoot {
  readonly kind: 'ringpool-worker';
  readonly script: string | null;
  readonly poolCtl: SharedArrayBuffer;
  readonly workerCtl: SharedArrayBuffer;
  readonly tasks: SharedArrayBuffer;
  readonly results: SharedArrayBuffer;
  readonly port: MessagePort;
  readonly emitStdStreams: boolean;
  readonly userData: unknown;
}

/**
 * Staging area for large copied binary arguments (main -> worker), one per worker, made on
 * first use: kStageCtlBytes of control (word 0: bytes the worker has consumed, a wrapping
 * int32), then a ring of kStageBytes (a power of two). The main thread copies an argument's
 * bytes into the ring and posts a StagedArg in its place; the worker copies them out as soon
 * as it takes the task's port message (in post order, so consumption is FIFO) and adds the
 * placeholder's `adv` to word 0. This replaces structured clone's serialisation into fresh
 * memory (page faults on every task) by a copy into memory that stays mapped.
 */
export const kStageBytes = 8 << 20;
export const kStageCtlBytes = 64;
/** Arguments at least this large (the whole underlying ArrayBuffer) are staged. */
export const kStageMinBytes = 64 << 10;
/** Marks a StagedArg (a plain object standing for a staged argument). */
export const kStagedKey = 'ringpool.staged';

/** What stands in a PortTask's args for a staged ArrayBuffer or view. */
export interface StagedArg {
  readonly [kStagedKey]: 1;
  /** 'ArrayBuffer', 'DataView' or a typed array's name (a Buffer arrives as a Uint8Array, as with structured clone). */
  readonly kind: string;
  /** Where the underlying buffer's bytes start in the ring, and how many. */
  readonly off: number;
  readonly bytes: number;
  /** Ring bytes to give back once copied out (bytes plus any skipped tail of the ring). */
  readonly adv: number;
  /** For views: byteOffset and length (elements; bytes for a DataView) within the buffer. */
  readonly byteOffset: number;
  readonly length: number;
}

/** Port message carrying a task (K_PORT_TASK). */
export interface PortTask {
  /** 0 for a plain call, else a batch mode M_*. */
  readonly mode: number;
  /** The worker's staging area, sent with the first task that uses it. */
  readonly stage?: SharedArrayBuffer;
  /** True when args hold StagedArgs (then every other argument is a primitive). */
  readonly staged?: boolean;
  /** exec's `context` option, when given. */
  readonly context?: unknown;
  readonly method?: string;
  readonly fnId?: number;
  readonly source?: string;
  readonly args: unknown[];
}

/** Port message carrying a result (R_PORT). */
export interface PortResult {
  readonly ok: boolean;
  readonly runMs: number;
  readonly value?: unknown;
  /** Errors travel encoded by the codec (bytes) so they rehydrate like channel errors. */
  readonly error?: Uint8Array;
}
