/**
 * The main thread's side of one worker: its thread, its channels and control words, the
 * tasks in flight there, and the encoding of task batches / decoding of result batches.
 * Scheduling decisions belong to the pool; this file only moves bytes.
 */
import * as path from 'node:path';
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort, TransferListItem, WorkerOptions } from 'node:worker_threads';

import { Decoder, Encoder, NeedsPortError } from '../codec';
import { TaskError } from './errors';
import { revive } from './revive';
import { native } from '../native';
import { notify } from '../wait';
import {
  K_BATCH, K_CALL, K_CANCEL, K_CTX, K_FN, K_PORT_TASK, K_STOP, R_EMIT, R_EMIT_PORT, R_ERR, R_OK, R_PORT, R_READY, R_SKIP, R_STDERR, R_STDOUT,
  W_SPACE_SEQ, W_SPACE_WAITERS, W_STARTED, cancelSlot, kPortWindowBytes, kResultChannelBytes, kStageBytes, kStageCtlBytes,
  kStageMinBytes, kStagedKey, kTaskChannelBytes, kWorkerCtlWords,
} from './protocol';
import type { PortResult, PortTask, StagedArg, WorkerBoot } from './protocol';
import type { Task } from './task';
import { TaskTable } from './task-table';

/** What the handle reports back to the pool while decoding results. */
export interface ResultSink {
  onReady(h: WorkerHandle): void;
  onDone(h: WorkerHandle, task: Task, ok: boolean, value: unknown, runMs: number): void;
  onSkip(h: WorkerHandle, task: Task): void;
  onEmit(task: Task, payload: unknown): void;
}

function makeChannel(bytes: number): Int32Array {
  const sab = new SharedArrayBuffer(native.channelBytes(bytes));
  const i32 = new Int32Array(sab);
  native.channelInit(i32, bytes);
  return i32;
}

export class WorkerHandle {
  readonly worker: Worker;
  readonly threadId: number;
  readonly tasks: Int32Array;
  readonly results: Int32Array;
  readonly ctl: Int32Array;
  readonly port: MessagePort;
  /** Dispatched tasks the worker has not reported done, by task id (a Map without its per-task garbage). */
  readonly inflight = new TaskTable();
  /** Function ids whose source this worker has already received. */
  readonly knownFns = new Set<number>();
  readonly maxTaskRecord: number;
  ready = false;
  /** No new tasks: stopping (idle, recycled, terminating) or dead. */
  retiring = false;
  exited = false;
  /** Tasks dispatched so far (the next task gets seq + 1). */
  seq = 0;
  /** Tasks finished here, for maxTasksPerWorker. */
  finished = 0;
  /** Start-up burst this worker belongs to (see Pool: one error per failed burst). */
  burst = 0;
  /** Set by the 'error' event that precedes an abnormal exit. */
  lastError: unknown;
  idleTimer: NodeJS.Timeout | undefined;
  killTimer: NodeJS.Timeout | undefined;
  #refed = true;
  /** Copied port-path bytes per task id, for tasks not reported yet; their sum is portBytes. */
  readonly #portCosts = new Map<number, number>();
  /** Copied bytes posted on the port for tasks in flight here (see portFull). */
  portBytes = 0;
  /** Staging area for large copied arguments (protocol.ts kStageBytes), made on first use. */
  #stage: Stage | undefined;
  /** Ring bytes handed out so far (wrapping int32; the worker's count is ctl[0]). */
  #stageHead = 0;

  constructor(script: string | null, poolCtl: SharedArrayBuffer, emitStdStreams: boolean, opts: WorkerOptions) {
    this.tasks = makeChannel(kTaskChannelBytes);
    this.results = makeChannel(kResultChannelBytes);
    this.ctl = new Int32Array(new SharedArrayBuffer(kWorkerCtlWords * 4));
    this.maxTaskRecord = native.channelMaxRecord(this.tasks);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    port1.unref();
    const boot: WorkerBoot = {
      kind: 'ringpool-worker',
      script,
      poolCtl,
      workerCtl: this.ctl.buffer as SharedArrayBuffer,
      tasks: this.tasks.buffer as SharedArrayBuffer,
      results: this.results.buffer as SharedArrayBuffer,
      port: port2,
      emitStdStreams,
      userData: opts.workerData,
    };
    this.worker = new Worker(path.join(__dirname, 'worker-entry.js'), {
      ...opts,
      workerData: boot,
      transferList: [...(opts.transferList ?? []), port2],
    });
    this.threadId = this.worker.threadId;
  }

  /**
   * True while enough copied payload is in flight on the port path that this worker should
   * take no more tasks: a posted message is serialized into fresh memory that stays
   * allocated until the worker reads it, so hundreds of big payloads posted at once cost
   * page faults on both sides (several ms per MiB here, against well under one when a few
   * buffers are recycled). The window still lets the worker hold the next payload while it
   * runs one.
   */
  get portFull(): boolean {
    return this.portBytes >= kPortWindowBytes;
  }

  get started(): number {
    return Atomics.load(this.ctl, W_STARTED);
  }

  /** Keeps the process alive only while the worker has work. */
  setRef(on: boolean): void {
    if (on === this.#refed) return;
    this.#refed = on;
    if (on) this.worker.ref();
    else this.worker.unref();
  }

  /**
   * Appends a task to the batch in `enc` and returns -1; or, when the task must take the port
   * path (then nothing was appended), returns the bytes that path copies, for encodePortTask.
   * Throws the codec's DataCloneError for values that cannot be cloned (nothing appended either).
   */
  encodeTask(enc: Encoder, task: Task): number {
    const transfer = task.x?.transfer;
    if (transfer !== undefined && transfer.length > 0) return copiedBytes(task.args, transfer);
    // Arguments that cannot fit a record anyway go straight to the port path, unencoded.
    for (const a of task.args) {
      if ((a instanceof ArrayBuffer || ArrayBuffer.isView(a)) && a.byteLength > this.maxTaskRecord >> 1) {
        return copiedBytes(task.args, undefined);
      }
    }
    const mark = enc.mark();
    try {
      const context = task.x?.context;
      if (context !== undefined) {
        enc.writeU8(K_CTX);
        enc.writeU32(task.id);
        enc.writeValue(context);
      }
      if (task.mode !== 0) {
        enc.writeU8(K_BATCH);
        enc.writeU32(task.id);
        enc.writeU8(task.mode);
        enc.writeU8(task.method === undefined ? 1 : 0);
      } else {
        enc.writeU8(task.method === undefined ? K_FN : K_CALL);
        enc.writeU32(task.id);
      }
      if (task.method !== undefined) {
        enc.writeString(task.method);
      } else {
        enc.writeU32(task.fnId);
        if (this.knownFns.has(task.fnId)) enc.writeU8(0);
        else {
          enc.writeU8(1);
          enc.writeString(task.fnSource ?? '');
        }
      }
      enc.writeValue(task.args);
    } catch (err) {
      enc.rewind(mark);
      if (err instanceof NeedsPortError) return 0; // shared memory: structured clone shares it, nothing big is copied
      throw err;
    }
    if (enc.length > this.maxTaskRecord - 64) {
      // Too big for the record this batch goes in: the task takes the port path instead.
      const cost = enc.length - mark;
      enc.rewind(mark);
      return cost;
    }
    if (task.method === undefined) this.knownFns.add(task.fnId);
    return -1;
  }

  /**
   * Port path: posts the task on the port and appends the marker to the batch; `cost` is what
   * encodeTask returned. Throws DataCloneError-like errors from postMessage.
   */
  encodePortTask(enc: Encoder, task: Task, cost: number): void {
    const transfer = task.x?.transfer as TransferListItem[] | undefined;
    const headBefore = this.#stageHead;
    const args = transfer === undefined || transfer.length === 0 ? this.#stageArgs(task.args) : task.args;
    const staged = args !== task.args;
    const stage = staged && !this.#stage!.sent ? this.#stage!.sab : undefined;
    const msg: PortTask =
      task.method !== undefined
        ? { mode: task.mode, context: task.x?.context, stage, staged, method: task.method, args }
        : { mode: task.mode, context: task.x?.context, stage, staged, fnId: task.fnId, source: this.knownFns.has(task.fnId) ? undefined : task.fnSource, args };
    try {
      this.port.postMessage(msg, transfer);
    } catch (err) {
      this.#stageHead = headBefore; // nothing was posted: the ring bytes are ours again
      throw err;
    }
    if (stage !== undefined) this.#stage!.sent = true;
    if (cost > 0) {
      this.#portCosts.set(task.id, cost);
      this.portBytes += cost;
    }
    if (task.method === undefined) this.knownFns.add(task.fnId);
    enc.writeU8(K_PORT_TASK);
    enc.writeU32(task.id);
    // Publish the batch so far at once: the worker starts taking the port message while the
    // main thread goes on. Holding the marker back until the batch ends would leave the worker
    // idle while big payloads pile up unread in the port (fresh memory for each of them).
    if (this.send(enc.bytes())) enc.reset();
  }

  /**
   * task.args with each large copied binary argument (ArrayBuffer or a view of one, not
   * shared) copied into the staging ring and replaced by a StagedArg; task.args itself when
   * nothing is staged. Only when every argument is such a binary or a primitive: identity
   * between arguments (the same buffer twice, or inside another argument) is structured
   * clone's to keep, so anything else takes the plain port path. A ring too full for an
   * argument leaves it to structured clone.
   */
  #stageArgs(args: readonly unknown[]): unknown[] {
    let big = 0;
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (a === null || (typeof a !== 'object' && typeof a !== 'function')) continue;
      const buf = copiedBuffer(a);
      if (buf === undefined || buf.byteLength < kStageMinBytes || buf.byteLength > kStageBytes / 2) return args as unknown[];
      for (let j = 0; j < i; j++) if (copiedBuffer(args[j]) === buf) return args as unknown[];
      big++;
    }
    if (big === 0) return args as unknown[];
    const st = (this.#stage ??= makeStage());
    const out = args.slice();
    for (let i = 0; i < out.length; i++) {
      const a = out[i];
      const buf = copiedBuffer(a); // the first pass saw only primitives and such binaries
      if (buf === undefined) continue;
      const view = ArrayBuffer.isView(a) ? a : undefined;
      const bytes = buf.byteLength;
      // A record never wraps: if it does not fit before the end of the ring, skip the tail.
      const at = this.#stageHead & (kStageBytes - 1);
      const skip = at + bytes > kStageBytes ? kStageBytes - at : 0;
      const adv = (skip + bytes + 15) & ~15;
      const used = (this.#stageHead - Atomics.load(st.ctl, 0)) | 0;
      if (used + adv > kStageBytes) continue; // full for now: structured clone copies this one
      const off = skip === 0 ? at : 0;
      st.ring.set(new Uint8Array(buf), off);
      this.#stageHead = (this.#stageHead + adv) | 0;
      const dv = view instanceof DataView;
      const kind = view === undefined ? 'ArrayBuffer' : dv ? 'DataView' : (view as Uint8Array)[Symbol.toStringTag];
      const length = view === undefined ? bytes : dv ? view.byteLength : (view as Uint8Array).length;
      const staged: StagedArg = { [kStagedKey]: 1, kind, off, bytes, adv, byteOffset: view?.byteOffset ?? 0, length };
      out[i] = staged;
    }
    return out;
  }

  /** Publishes a batch; false if the channel has no room now. */
  send(bytes: Uint8Array): boolean {
    return native.channelSend(this.tasks, bytes);
  }

  /** Marks a dispatched task cancelled in shared memory and asks the worker to abort it. */
  cancel(enc: Encoder, task: Task): void {
    Atomics.store(this.ctl, cancelSlot(task.seq), task.seq + 1);
    enc.reset();
    enc.writeU8(K_CANCEL);
    enc.writeU32(task.id);
    this.send(enc.bytes()); // best effort: if full, the flag alone still stops it before start
  }

  stop(enc: Encoder): boolean {
    enc.reset();
    enc.writeU8(K_STOP);
    enc.writeU32(0);
    return this.send(enc.bytes());
  }

  /** Decodes every result record there now; returns the number of messages handled. */
  drain(scratch: Uint8Array, dec: Decoder, sink: ResultSink): number {
    let n = 0;
    let got = false;
    for (;;) {
      const len = native.channelReceiveInto(this.results, scratch);
      if (len < 0) break;
      got = true;
      dec.reset(scratch, 0, len);
      while (dec.remaining > 0) {
        this.#handle(dec, sink);
        n++;
      }
    }
    if (got && Atomics.load(this.ctl, W_SPACE_WAITERS) !== 0) {
      Atomics.add(this.ctl, W_SPACE_SEQ, 1);
      notify(this.ctl, W_SPACE_SEQ);
    }
    return n;
  }

  #portDone(id: number): void {
    const cost = this.#portCosts.get(id);
    if (cost === undefined) return;
    this.#portCosts.delete(id);
    this.portBytes -= cost;
  }

  #handle(dec: Decoder, sink: ResultSink): void {
    const kind = dec.readU8();
    const id = dec.readU32();
    if (kind === R_READY) {
      this.ready = true;
      sink.onReady(this);
      return;
    }
    const task = this.inflight.get(id);
    if (this.portBytes !== 0 && kind !== R_EMIT && kind !== R_EMIT_PORT && kind !== R_STDOUT && kind !== R_STDERR) this.#portDone(id);
    switch (kind) {
      case R_OK: {
        const runMs = dec.readF64();
        const value = dec.readValue();
        if (task) sink.onDone(this, task, true, value, runMs);
        return;
      }
      case R_ERR: {
        const runMs = dec.readF64();
        const err = asError(dec.readValue());
        if (task) sink.onDone(this, task, false, err, runMs);
        return;
      }
      case R_PORT: {
        const m = receiveMessageOnPort(this.port)?.message as PortResult | undefined;
        if (!task) return;
        if (!m) {
          sink.onDone(this, task, false, new Error('ringpool: result message missing on the port'), 0);
        } else if (m.ok) {
          sink.onDone(this, task, true, revive(m.value), m.runMs);
        } else {
          const d = new Decoder();
          d.reset(m.error ?? new Uint8Array(0));
          sink.onDone(this, task, false, asError(d.readValue()), m.runMs);
        }
        return;
      }
      case R_SKIP:
        if (task) sink.onSkip(this, task);
        return;
      case R_EMIT_PORT: {
        const m = receiveMessageOnPort(this.port)?.message as { emit?: unknown } | undefined;
        if (task && m) sink.onEmit(task, revive(m.emit));
        return;
      }
      case R_EMIT: {
        const payload = dec.readValue();
        if (task) sink.onEmit(task, payload);
        return;
      }
      case R_STDOUT:
      case R_STDERR: {
        const text = dec.readString();
        if (task) sink.onEmit(task, kind === R_STDOUT ? { stdout: text } : { stderr: text });
        return;
      }
      default:
        throw new Error(`ringpool: unknown result kind ${kind}`);
    }
  }
}

/** The (not shared) ArrayBuffer whose bytes a copy of `a` copies, if `a` is binary. */
function copiedBuffer(a: unknown): ArrayBuffer | undefined {
  if (a instanceof ArrayBuffer) return a;
  return ArrayBuffer.isView(a) && a.buffer instanceof ArrayBuffer ? a.buffer : undefined;
}

/** Bytes of the binary arguments at the top level of `args` that a postMessage copies (not in `transfer`). */
function copiedBytes(args: readonly unknown[], transfer: readonly unknown[] | undefined): number {
  let n = 0;
  for (const a of args) {
    const buf = copiedBuffer(a);
    if (buf !== undefined && !transfer?.includes(buf)) n += (a as ArrayBuffer | ArrayBufferView).byteLength;
  }
  return n;
}

/** Errors thrown in a worker arrive as themselves; anything else thrown arrives as a TaskError holding it. */
function asError(v: unknown): Error {
  return v instanceof Error ? v : new TaskError(v);
}

/** A worker's staging ring: control words, then the ring; `sent` once the worker has the buffer. */
interface Stage {
  sab: SharedArrayBuffer;
  ctl: Int32Array;
  ring: Uint8Array;
  sent: boolean;
}

function makeStage(): Stage {
  const sab = new SharedArrayBuffer(kStageCtlBytes + kStageBytes);
  return { sab, ctl: new Int32Array(sab, 0, kStageCtlBytes >> 2), ring: new Uint8Array(sab, kStageCtlBytes, kStageBytes), sent: false };
}
