/**
 * The script every pool worker runs. It loads the user's module, then loops: drain the task
 * channel, run each task, batch results into the result channel, ring the main thread's
 * doorbell if it sleeps. When idle it spins briefly, then sleeps in a native wait if it has
 * nothing of its own pending (no async task, no timers or handles the user started), else
 * in waitAsync so its event loop keeps running. No pool policy lives here.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { TransferListItem } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

import { DataCloneError, Decoder, Encoder, NeedsPortError, encodeError } from '../codec';
import { native } from '../native';
import { notify, waitAsync } from '../wait';
import {
  C_DOORBELL, C_MAIN_SLEEPING, K_BATCH, K_CALL, K_CANCEL, K_CTX, K_FN, K_PORT_TASK, K_STOP, M_EACH, M_REDUCE, M_REGION, R_EMIT, R_ERR, R_OK, R_PORT, R_READY,
  R_EMIT_PORT, R_SKIP, R_STDERR, R_STDOUT, cancelSlot, kMethodsMethod, W_SPACE_SEQ, W_SPACE_WAITERS, W_STARTED,
  kStageCtlBytes, kStagedKey,
} from './protocol';
import type { PortResult, PortTask, StagedArg, WorkerBoot } from './protocol';
import { installRuntime, isTransfer, takeRegisteredMethods } from './worker-api';
import { RingpoolError, RingpoolRangeError } from '../errors';
import { revive } from './revive';
import type { TaskContext, WorkerMethods } from './worker-api';

const boot = workerData as WorkerBoot;
const poolCtl = new Int32Array(boot.poolCtl);
const wctl = new Int32Array(boot.workerCtl);
const taskI32 = new Int32Array(boot.tasks);
const resI32 = new Int32Array(boot.results);
const port = boot.port;
const layout = native.channelLayout();
const maxResultRecord = native.channelMaxRecord(resI32);
const scratch = new Uint8Array(native.channelMaxRecord(taskI32));
const dec = new Decoder();
const out = new Encoder(1 << 14);
/** Flush a batch early past this size so records stay well under the channel's limit. */
const kFlushAt = Math.min(1 << 16, maxResultRecord >> 1);
/** Sync tasks that ran longer than this (ms) publish their result at once. */
const kEarlyFlushMs = 0.1;
/** Largest single message in a result record; bigger results take the port path. */
const kMaxMessage = maxResultRecord - kFlushAt - 64;
/**
 * Spin up to this long (ms) looking for work before sleeping. The budget adapts: it grows
 * when work arrives during a spin or soon after falling asleep (the spin would have caught
 * it), and shrinks when a spin finds nothing, so an oversubscribed machine does not lose a
 * core to spinning that does not pay.
 */
const kMaxSpinMs = 0.1;
let spinMs = 0.05;

let methods: WorkerMethods = {};
/** `require` inside function tasks, resolving from the process's working directory. */
const userRequire = createRequire(path.join(process.cwd(), 'noop.js'));
const fnCache = new Map<number, (...a: unknown[]) => unknown>();
let taken = 0; // tasks taken from the channel, = W_STARTED
let asyncPending = 0;
let stopping = false;
let flushQueued = false;
let baselineResources = 0;

class Context implements TaskContext {
  readonly id: number;
  readonly seq: number;
  /** exec's `context` option (getContext()). */
  userContext: unknown = undefined;
  #ac: AbortController | undefined;
  #listeners: (() => unknown)[] | undefined;
  constructor(id: number, seq: number) {
    this.id = id;
    this.seq = seq;
  }
  get signal(): AbortSignal {
    this.#ac ??= new AbortController();
    if (this.isCancelled() && !this.#ac.signal.aborted) this.#ac.abort(new Error('Task cancelled'));
    return this.#ac.signal;
  }
  isCancelled(): boolean {
    return Atomics.load(wctl, cancelSlot(this.seq)) === this.seq + 1;
  }
  emit(payload: unknown): void {
    writeEmit(this.id, payload);
  }
  get worker(): TaskContext['worker'] {
    return { addAbortListener: (fn) => (this.#listeners ??= []).push(fn), emit: (p) => this.emit(p) };
  }
  abort(): void {
    if (this.#ac && !this.#ac.signal.aborted) this.#ac.abort(new Error('Task cancelled'));
    for (const fn of this.#listeners ?? []) {
      try {
        void fn();
      } catch {
        /* an abort listener that throws changes nothing: the pool terminates the worker if the task does not end */
      }
    }
  }
}

const running = new Map<number, Context>(); // task id -> context, while running
/** Follows a task across awaits: workerEmit(), getContext() and stdout attribution after an await. */
let als: AsyncLocalStorage<Context> | undefined = new AsyncLocalStorage<Context>();
/** Context sent (K_CTX) for the task that comes next in the batch. */
let nextContext: { id: number; value: unknown } | undefined;
let syncCurrent: Context | undefined;

function current(): Context | undefined {
  return syncCurrent ?? als?.getStore();
}

installRuntime({
  emit(payload) {
    const ctx = current();
    if (!ctx) throw new RingpoolError('ERR_RINGPOOL_INVALID_STATE', 'workerEmit() called outside of a running task');
    writeEmit(ctx.id, payload);
  },
  currentContext: current,
  userContext: () => current()?.userContext,
});

// ---- output ----

function writeEmit(id: number, payload: unknown): void {
  const mark = out.mark();
  try {
    out.writeU8(R_EMIT);
    out.writeU32(id);
    out.writeValue(payload);
  } catch (err) {
    out.rewind(mark);
    if (!(err instanceof NeedsPortError)) throw err;
    // Shared memory or a host object: it travels on the port, in order with the records.
    try {
      port.postMessage({ emit: payload });
    } catch (e) {
      throw asCloneError(e);
    }
    out.writeU8(R_EMIT_PORT);
    out.writeU32(id);
    afterWrite();
    return;
  }
  if (out.length - mark > kMaxMessage) {
    out.rewind(mark);
    throw new RingpoolRangeError('ERR_RINGPOOL_TOO_LARGE', `workerEmit(): the payload encodes to more than ${kMaxMessage} bytes`);
  }
  afterWrite();
}

/** Keeps the batch below kFlushAt between messages, so any message up to kMaxMessage fits a record. */
function afterWrite(): void {
  if (out.length >= kFlushAt) flush();
  else scheduleFlush();
}

function writeResult(id: number, runMs: number, value: unknown): void {
  if (isTransfer(value)) {
    sendPortResult(id, { ok: true, runMs, value: value.message }, value.transfer as TransferListItem[]);
    return;
  }
  if (isLarge(value)) return sendPortResult(id, { ok: true, runMs, value }, []);
  const mark = out.mark();
  try {
    out.writeU8(R_OK);
    out.writeU32(id);
    out.writeF64(runMs);
    out.writeValue(value);
    if (out.length - mark > kMaxMessage) throw new NeedsPortError();
  } catch (err) {
    out.rewind(mark);
    if (err instanceof NeedsPortError) return sendPortResult(id, { ok: true, runMs, value }, []);
    return writeError(id, runMs, err);
  }
  if (out.length >= kFlushAt) flush();
}

/** A result that cannot fit a record anyway: skip encoding it only to throw the bytes away. */
function isLarge(v: unknown): boolean {
  if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return v.byteLength > kMaxMessage;
  return typeof v === 'string' && v.length > kMaxMessage;
}

function writeError(id: number, runMs: number, err: unknown): void {
  const mark = out.mark();
  out.writeU8(R_ERR);
  out.writeU32(id);
  out.writeF64(runMs);
  encodeError(out, err);
  if (out.length - mark > kMaxMessage) {
    out.rewind(mark);
    const e = new Encoder(256);
    encodeError(e, err);
    sendPortResult(id, { ok: false, runMs, error: e.bytes().slice() }, []);
  }
  if (out.length >= kFlushAt) flush();
}

/** postMessage refuses values with a DOMException named DataCloneError: give it our class and code. */
function asCloneError(err: unknown): unknown {
  return err instanceof Error && err.name === 'DataCloneError' && !(err instanceof DataCloneError) ? new DataCloneError(err.message) : err;
}

function sendPortResult(id: number, msg: PortResult, transfer: TransferListItem[]): void {
  try {
    port.postMessage(msg, transfer);
  } catch (err) {
    return writeError(id, msg.runMs, asCloneError(err));
  }
  out.writeU8(R_PORT);
  out.writeU32(id);
  // Publish now: the main thread takes the port message as soon as it reads the marker.
  flush();
}

function scheduleFlush(): void {
  if (flushQueued) return;
  flushQueued = true;
  queueMicrotask(flush);
}

/** Publishes the batch and rings the doorbell if the main thread sleeps. */
function flush(): void {
  flushQueued = false;
  if (out.length === 0) return;
  const bytes = out.bytes();
  while (!native.channelSend(resI32, bytes)) waitForSpace();
  out.reset();
  ringDoorbell();
}

function ringDoorbell(): void {
  if (Atomics.compareExchange(poolCtl, C_MAIN_SLEEPING, 1, 0) === 1) {
    Atomics.add(poolCtl, C_DOORBELL, 1);
    notify(poolCtl, C_DOORBELL, 1);
  }
}

function waitForSpace(): void {
  ringDoorbell();
  Atomics.add(wctl, W_SPACE_WAITERS, 1);
  const seq = Atomics.load(wctl, W_SPACE_SEQ);
  native.wait(wctl, W_SPACE_SEQ, seq, 20); // a bounded slice: the caller retries the send
  Atomics.sub(wctl, W_SPACE_WAITERS, 1);
}

// ---- running tasks ----

function run(id: number, fn: ((...a: unknown[]) => unknown) | undefined, args: unknown[], name: string): void {
  const seq = ++taken;
  Atomics.store(wctl, W_STARTED, taken);
  if (Atomics.load(wctl, cancelSlot(seq)) === seq + 1) {
    out.writeU8(R_SKIP);
    out.writeU32(id);
    if (out.length >= kFlushAt) flush();
    return;
  }
  if (!fn) {
    writeError(id, 0, Object.assign(new Error(`Unknown method "${name}"`), { code: 'ERR_RINGPOOL_UNKNOWN_METHOD' }));
    return;
  }
  const ctx = new Context(id, seq);
  let scoped = als !== undefined;
  if (nextContext !== undefined && nextContext.id === id) {
    ctx.userContext = nextContext.value;
    als ??= new AsyncLocalStorage<Context>();
    scoped = true;
  }
  nextContext = undefined;
  running.set(id, ctx);
  const t0 = performance.now();
  let result: unknown;
  syncCurrent = ctx;
  try {
    result = scoped && als ? als.run(ctx, () => fn.apply(ctx, args)) : fn.apply(ctx, args);
  } catch (err) {
    syncCurrent = undefined;
    running.delete(id);
    writeError(id, performance.now() - t0, err);
    return;
  }
  syncCurrent = undefined;
  if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
    asyncPending++;
    (result as PromiseLike<unknown>).then(
      (v) => {
        asyncPending--;
        running.delete(id);
        writeResult(id, performance.now() - t0, v);
        scheduleFlush();
      },
      (err: unknown) => {
        asyncPending--;
        running.delete(id);
        writeError(id, performance.now() - t0, err);
        scheduleFlush();
      },
    );
    return;
  }
  running.delete(id);
  const runMs = performance.now() - t0;
  writeResult(id, runMs, result);
  // A long task: publish now, so the main thread can refill this worker while it runs the
  // next one (short tasks keep batching their results).
  if (runMs > kEarlyFlushMs) flush();
}

function compile(fnId: number, source: string | undefined): ((...a: unknown[]) => unknown) | undefined {
  let fn = fnCache.get(fnId);
  if (!fn && source !== undefined) {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    fn = new Function('require', `return (${source});`)(userRequire) as (...a: unknown[]) => unknown;
    fnCache.set(fnId, fn);
  }
  return fn;
}

type Fn = (...a: unknown[]) => unknown;

function lookup(name: string): Fn | undefined {
  if (name === kMethodsMethod) return () => Object.keys(methods);
  return Object.prototype.hasOwnProperty.call(methods, name) ? (methods[name] as Fn) : undefined;
}

/** Counts a task that cannot even start (its function does not compile) and reports why. */
function failEarly(id: number, err: unknown): void {
  ++taken;
  Atomics.store(wctl, W_STARTED, taken);
  writeError(id, 0, err);
}

/** Runs a plain task (mode 0) or a batch chunk (mode M_*) once its target is known. */
function startTask(id: number, mode: number, fn: Fn | undefined, args: unknown[], name: string): void {
  if (mode === 0 || !fn) run(id, fn, args, name);
  else {
    run(id, batchRunner(mode, fn, args), [], name);
    // Publish a chunk's result before the next task starts: failFast, onProgress, onRegion and
    // mapStream must see it while this worker goes on with later chunks (or is held by one).
    flush();
  }
}

function readTarget(isFn: boolean): { fn: Fn | undefined; name: string; err?: unknown } {
  if (!isFn) {
    const name = dec.readString();
    return { fn: lookup(name), name };
  }
  const fnId = dec.readU32();
  const source = dec.readU8() === 1 ? dec.readString() : undefined;
  try {
    return { fn: compile(fnId, source), name: '<function>' };
  } catch (err) {
    return { fn: undefined, name: '<function>', err };
  }
}

function handle(kind: number): void {
  const id = dec.readU32();
  switch (kind) {
    case K_CALL:
    case K_FN:
    case K_BATCH: {
      const mode = kind === K_BATCH ? dec.readU8() : 0;
      const isFn = kind === K_BATCH ? dec.readU8() === 1 : kind === K_FN;
      const t = readTarget(isFn);
      const args = dec.readValue() as unknown[];
      if (t.err !== undefined) return failEarly(id, t.err);
      startTask(id, mode, t.fn, args, t.name);
      return;
    }
    case K_PORT_TASK: {
      const m = receiveMessageOnPort(port);
      const t = m?.message as PortTask | undefined;
      if (!t) return failEarly(id, new Error('ringpool: task message missing on the port'));
      if (t.stage !== undefined) stage = { ctl: new Int32Array(t.stage, 0, kStageCtlBytes >> 2), ring: new Uint8Array(t.stage, kStageCtlBytes) };
      if (t.staged) unstage(t.args); // first, whatever becomes of the task: the ring is consumed in post order
      revive(t.args);
      if (t.context !== undefined) nextContext = { id, value: t.context };
      if (t.method !== undefined) return startTask(id, t.mode, lookup(t.method), t.args, t.method);
      let fn: Fn | undefined;
      try {
        fn = compile(t.fnId ?? 0, t.source);
      } catch (err) {
        return failEarly(id, err);
      }
      startTask(id, t.mode, fn, t.args, '<function>');
      return;
    }
    case K_CTX:
      nextContext = { id, value: dec.readValue() };
      return;
    case K_CANCEL:
      running.get(id)?.abort();
      return;
    case K_STOP:
      stopping = true;
      return;
    default:
      throw new Error(`ringpool worker: unknown message kind ${kind}`);
  }
}

// ---- batch chunks ----

/** The staging area of large copied arguments (protocol.ts kStageBytes), once the pool sent it. */
let stage: { ctl: Int32Array; ring: Uint8Array } | undefined;

/** Replaces each StagedArg in args by a fresh copy of its bytes, and gives the ring space back. */
function unstage(args: unknown[]): void {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as Partial<StagedArg> | null;
    if (a === null || typeof a !== 'object' || a[kStagedKey] !== 1 || stage === undefined) continue; // a primitive
    const s = a as StagedArg;
    const ab = new ArrayBuffer(s.bytes);
    new Uint8Array(ab).set(stage.ring.subarray(s.off, s.off + s.bytes));
    // After the copy (seq_cst): the main thread reuses these bytes once it reads the new count.
    Atomics.add(stage.ctl, 0, s.adv);
    if (s.kind === 'ArrayBuffer') args[i] = ab;
    else if (s.kind === 'DataView') args[i] = new DataView(ab, s.byteOffset, s.length);
    else {
      const C = (globalThis as unknown as Record<string, new (b: ArrayBuffer, o: number, l: number) => unknown>)[s.kind];
      args[i] = new C(ab, s.byteOffset, s.length);
    }
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as PromiseLike<unknown>).then === 'function';
}

function cancelledError(): Error {
  return Object.assign(new Error('Task cancelled'), { name: 'CancellationError', code: 'ERR_RINGPOOL_CANCELLED' });
}

/** The region a mapRegions chunk works on (see lib/batch.ts). */
interface RegionArgs {
  index: number;
  buffer: SharedArrayBuffer;
  start: number;
  end: number;
  readStart: number;
  readEnd: number;
  versions: Int32Array;
}

/**
 * Wraps the user's function into the task body of one chunk. M_EACH / M_APPLY return
 * [results, errors | null] where errors are [offsetInChunk, error] pairs, so one failing
 * item does not lose the others; M_REDUCE returns the chunk's accumulator; M_REGION returns
 * the function's result after bumping the region's version counter.
 */
function batchRunner(mode: number, fn: Fn, args: unknown[]): (this: Context) => unknown {
  return function (this: Context): unknown {
    if (mode === M_REGION) {
      const r = args[0] as RegionArgs;
      const bytes = new Uint8Array(r.buffer, r.readStart, r.readEnd - r.readStart);
      const done = (v: unknown): unknown => {
        Atomics.add(r.versions, r.index, 1);
        notify(r.versions, r.index);
        return v;
      };
      const out = fn.call(this, { index: r.index, buffer: r.buffer, start: r.start, end: r.end, readStart: r.readStart, readEnd: r.readEnd, bytes });
      return isThenable(out) ? Promise.resolve(out).then(done) : done(out);
    }
    const items = args[0] as ArrayLike<unknown>;
    const offset = args[1] as number;
    const count = args[2] as number;
    const base = args[3] as number;
    // The per-item cancellation check reads this task's cancel word with a plain load: it is
    // a flag that only ever changes to `cancelled`, a load cannot be moved across the user's
    // function call, and Atomics.load is a builtin call in Node 20 (~10-15 ns per item).
    const cancelAt = cancelSlot(this.seq);
    const cancelledMark = this.seq + 1;
    if (mode === M_REDUCE) {
      // [acc, null], or [undefined, [offsetInChunk, error]] so that the main thread can name the item
      let acc: unknown = args[4];
      for (let i = 0; i < count; i++) {
        if (i > 0 && wctl[cancelAt] === cancelledMark) throw cancelledError();
        try {
          acc = fn.call(this, acc, items[offset + i], base + i);
        } catch (err) {
          return [undefined, [i, err]];
        }
        if (isThenable(acc)) return reduceAsync(this, fn, items, offset, count, base, i, acc);
      }
      return [acc, null];
    }
    // Dense from the start: a hole left by a failed item would send the whole chunk result
    // through the v8 serializer fallback, which drops the errors' name, code and own properties.
    const results = new Array<unknown>(count).fill(undefined);
    let errors: [number, unknown][] | null = null;
    let pending: Promise<void>[] | null = null;
    for (let i = 0; i < count; i++) {
      if (i > 0 && wctl[cancelAt] === cancelledMark) throw cancelledError(); // a cancelled chunk stops at its next item
      let r: unknown;
      try {
        r = mode === M_EACH ? fn.call(this, items[offset + i], base + i) : fn.apply(this, items[offset + i] as unknown[]);
      } catch (err) {
        (errors ??= []).push([i, err]);
        continue;
      }
      if (isThenable(r)) {
        const at = i;
        (pending ??= []).push(
          Promise.resolve(r).then(
            (v) => {
              results[at] = v;
            },
            (err: unknown) => {
              (errors ??= []).push([at, err]);
            },
          ),
        );
      } else results[i] = r;
    }
    if (pending) return Promise.all(pending).then(() => [results, errors]);
    return [results, errors];
  };
}

async function reduceAsync(ctx: Context, fn: Fn, items: ArrayLike<unknown>, offset: number, count: number, base: number, at: number, first: PromiseLike<unknown>): Promise<unknown> {
  let i = at;
  try {
    let acc = await first;
    for (i = at + 1; i < count; i++) {
      if (ctx.isCancelled()) throw cancelledError();
      acc = await fn.call(ctx, acc, items[offset + i], base + i);
    }
    return [acc, null];
  } catch (err) {
    if (ctx.isCancelled()) throw err;
    return [undefined, [i, err]];
  }
}

/** Takes every record that is there now; returns how many messages it handled. */
function drain(): number {
  let n = 0;
  for (;;) {
    const len = native.channelReceiveInto(taskI32, scratch);
    if (len < 0) break;
    dec.reset(scratch, 0, len);
    while (dec.remaining > 0) {
      handle(dec.readU8());
      n++;
    }
    if (out.length >= kFlushAt) flush();
  }
  flush();
  return n;
}

function hasOwnWork(): boolean {
  return asyncPending > 0 || process.getActiveResourcesInfo().length > baselineResources;
}

function spinForWork(): boolean {
  if (spinMs <= 0) return false;
  const until = performance.now() + spinMs;
  for (let i = 0; ; i++) {
    if (native.channelPeekSize(taskI32) >= 0) {
      spinMs = Math.min(kMaxSpinMs, spinMs * 1.5 + 0.005);
      return true;
    }
    if ((i & 7) === 7 && performance.now() >= until) break;
  }
  spinMs = spinMs < 0.004 ? 0 : spinMs / 2;
  return false;
}

function sleepNative(): void {
  Atomics.add(taskI32, layout.readerWaiters, 1);
  const seq = Atomics.load(taskI32, layout.dataSeq);
  if (native.channelPeekSize(taskI32) < 0) {
    const t0 = performance.now();
    native.wait(taskI32, layout.dataSeq, seq, Infinity);
    // Woken soon after falling asleep: a spin of that length would have saved the wake-up.
    if (performance.now() - t0 < 2 * kMaxSpinMs) spinMs = Math.max(spinMs, 0.05);
  }
  Atomics.sub(taskI32, layout.readerWaiters, 1);
}

function sleepAsync(): void {
  Atomics.add(taskI32, layout.readerWaiters, 1);
  const seq = Atomics.load(taskI32, layout.dataSeq);
  const r = native.channelPeekSize(taskI32) < 0 ? waitAsync(taskI32, layout.dataSeq, seq) : undefined;
  const resume = (): void => {
    Atomics.sub(taskI32, layout.readerWaiters, 1);
    loop();
  };
  if (r && r.async) void r.value.then(resume);
  else setImmediate(resume);
}

function loop(): void {
  for (;;) {
    drain();
    if (stopping && asyncPending === 0) {
      process.exit(0);
    }
    if (spinForWork()) continue;
    if (!hasOwnWork() && !stopping) {
      sleepNative();
      continue;
    }
    sleepAsync();
    return;
  }
}

// ---- start-up ----

function patchStream(stream: NodeJS.WriteStream, kind: number): void {
  const original = stream.write.bind(stream);
  stream.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
    const ctx = current();
    if (!ctx) return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString();
    // 4 bytes per UTF-16 unit at most: pieces of kMaxMessage / 4 units always fit a message.
    const piece = Math.max(1, Math.floor(kMaxMessage / 4) - 16);
    for (let at = 0; at < text.length || at === 0; at += piece) {
      out.writeU8(kind);
      out.writeU32(ctx.id);
      out.writeString(text.slice(at, at + piece));
      afterWrite();
      if (text.length === 0) break;
    }
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    if (cb) queueMicrotask(cb);
    return true;
  }) as typeof stream.write;
}

/** A real dynamic import (TypeScript's CommonJS output would turn `import()` into `require`). */
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const importModule = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<Record<string, unknown>>;

async function start(): Promise<void> {
  port.unref();
  // A task that calls process.exit() (or an uncaught throw) ends the thread at once: publish
  // the results of the tasks that finished before it, so they are not reported as lost.
  process.on('exit', () => {
    if (out.length > 0) native.channelSend(resI32, out.bytes());
    ringDoorbell();
  });
  if (boot.emitStdStreams) {
    patchStream(process.stdout, R_STDOUT);
    patchStream(process.stderr, R_STDERR);
  }
  baselineResources = process.getActiveResourcesInfo().length;
  if (boot.script !== null) {
    const url = boot.script.startsWith('file:') ? boot.script : pathToFileURL(boot.script).href;
    let ns: Record<string, unknown>;
    if (/\.(mjs|mts)$/.test(boot.script)) {
      ns = await importModule(url);
    } else {
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        ns = { default: require(boot.script) as unknown };
      } catch (err) {
        if ((err as { code?: string }).code !== 'ERR_REQUIRE_ESM') throw err;
        ns = await importModule(url);
      }
    }
    methods = collectMethods(ns);
  }
  const registered = takeRegisteredMethods();
  if (registered) methods = { ...methods, ...registered };
  out.writeU8(R_READY);
  out.writeU32(0);
  flush();
  loop();
}

function collectMethods(ns: Record<string, unknown>): WorkerMethods {
  const found: Record<string, (...p: never[]) => unknown> = {};
  const add = (obj: unknown): void => {
    if (obj === null || (typeof obj !== 'object' && typeof obj !== 'function')) return;
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
      if (typeof v === 'function' && k !== 'default') found[k] = v as (...p: never[]) => unknown;
    }
  };
  const def = ns.default;
  if (typeof def === 'function') found.default = def as (...p: never[]) => unknown;
  add(def);
  add(ns);
  return found;
}

void start();
