'use strict';
// Worker side of cases/channel-stream.js.
//   mode 'ringpool': streams into a ringpool Channel (Channel.from(workerData.chan)); echoes
//                    records from workerData.req to workerData.resp.
//   mode 'port':     streams with port.postMessage(Uint8Array) (a structured-clone copy per
//                    message); echoes every message it receives on the same port.
// Flow control (both modes, same rule): when there is no room — the channel refuses the record,
// or more than `window` messages are unconsumed on a port — spin briefly, then set WAITING and
// Atomics.wait on CONSUMED, which main bumps (and notifies if WAITING) as it consumes.
const { workerData } = require('node:worker_threads');
const { serve } = require('../harness');
const L = require('../cases/channel-stream').layout;

const { mode, pkg, ctl: ctlSab } = workerData;
const ctl = new Int32Array(ctlSab);
const SPIN = 200;

function waitForRoom(hasRoom) {
  for (let i = 0; i < SPIN; i++) if (hasRoom()) return;
  for (;;) {
    // Dekker pair with publish() in cases/channel-stream.js: we store WAITING then re-check
    // the room; main stores CONSUMED then reads (and clears) WAITING. Seq_cst Atomics: either
    // we see the new room or main sees WAITING and notifies. Wait returns early anyway if
    // CONSUMED moved since `seen`.
    const seen = Atomics.load(ctl, L.CONSUMED);
    Atomics.store(ctl, L.WAITING, 1);
    if (hasRoom()) break;
    if (Atomics.load(ctl, L.ABORT)) throw new Error('aborted by main');
    Atomics.wait(ctl, L.CONSUMED, seen, 50);
  }
  Atomics.store(ctl, L.WAITING, 0);
}

function payload(size) {
  const buf = new Uint8Array(size);
  for (let i = 0; i < size; i++) buf[i] = (i * 31 + 7) & 255;
  return buf;
}

// Sequence number in the first 4 bytes (little endian) so main can check order and loss.
function stampSeq(buf, i) {
  buf[0] = i & 255;
  buf[1] = (i >>> 8) & 255;
  buf[2] = (i >>> 16) & 255;
  buf[3] = (i >>> 24) & 255;
}

let handlers;
if (mode === 'ringpool') {
  const { Channel } = require(pkg);
  const chan = workerData.chan ? Channel.from(workerData.chan) : null;
  const req = workerData.req ? Channel.from(workerData.req) : null;
  const resp = workerData.resp ? Channel.from(workerData.resp) : null;
  handlers = {
    stream({ count, size }) {
      const buf = payload(size);
      let sent = false;
      const trySend = () => (sent = chan.send(buf));
      for (let i = 0; i < count; i++) {
        stampSeq(buf, i);
        if (!chan.send(buf)) {
          sent = false;
          waitForRoom(trySend);
          if (!sent) throw new Error('internal: room reported without a send');
        }
      }
      return { sent: count };
    },
    echo() {
      let n = 0;
      for (;;) {
        const m = req.receiveWait(100);
        if (m === undefined) {
          if (Atomics.load(ctl, L.ABORT)) return { echoed: n, aborted: true };
          continue;
        }
        if (m.length === 1) return { echoed: n }; // stop record
        while (!resp.send(m)) if (Atomics.load(ctl, L.ABORT)) return { echoed: n, aborted: true };
        n++;
      }
    },
  };
} else {
  const port = workerData.port;
  // Echo: every message on the port is sent straight back (ping-pong baseline).
  if (workerData.echo) port.on('message', (m) => port.postMessage(m));
  handlers = {
    stream({ count, size, window }) {
      const buf = payload(size);
      let i = 0;
      const hasRoom = () => i - Atomics.load(ctl, L.CONSUMED) < window;
      for (; i < count; i++) {
        stampSeq(buf, i);
        if (window > 0 && !hasRoom()) waitForRoom(hasRoom);
        port.postMessage(buf);
      }
      return { sent: count };
    },
    __stop() {
      port.close();
    },
  };
}

serve(handlers);
