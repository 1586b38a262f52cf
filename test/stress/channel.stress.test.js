'use strict';
// Channel stress: several writer workers send variable-size records (fixtures/payload.js)
// into one channel; the main thread reads them (receive, receiveAsync when empty) and checks
// every byte, then per-writer order, no loss and no duplicate. Writers that find the channel
// full sleep on a "room" cell the reader bumps and notifies. The seed is printed on failure
// and can be fixed with RINGPOOL_SEED.
const assert = require('node:assert/strict');
const { rp, totalWaiters, sharedInt32 } = require('../helpers/ringpool');
const { startTask } = require('../helpers/workers');
const { checkRecord } = require('../fixtures/payload');

const { Channel, notify } = rp;

const seed = Number(process.env.RINGPOOL_SEED) || (Math.random() * 2 ** 31) >>> 0;

const collect = () => {
  if (typeof global.gc === 'function') global.gc();
};

describe(`stress: Channel (seed ${seed})`, function () {
  this.timeout(60000);
  afterEach(collect);

  for (const [writers, bytes, perWriter, bodyCap] of [[1, 256, 4000, 100], [3, 256, 2000, 100], [3, 4096, 5000, 600], [4, 1024, 3000, 1000]]) {
    it(`${writers} writer workers -> main thread reader, ${bytes}-byte channel, ${perWriter} records each`, async function () {
      const c = new Channel({ bytes });
      const maxBody = Math.min(bodyCap, c.maxRecordBytes - 5);
      const room = sharedInt32(1);
      const label = `seed ${seed}, ${writers} writers, ${bytes} bytes`;
      const ws = Array.from({ length: writers }, (_, writer) =>
        startTask('channelWrite', { buffer: c.buffer, writer, count: perWriter, seed, maxBody, room, end: true }),
      );
      const next = new Array(writers).fill(0);
      let ended = 0;
      let received = 0;
      let bytesSeen = 0;
      while (ended < writers) {
        let rec = c.receive();
        if (rec === undefined) rec = await c.receiveAsync();
        Atomics.add(room, 0, 1);
        notify(room, 0);
        received++;
        if (rec.length === 1) {
          const w = rec[0];
          assert.ok(w < writers, `${label}: end record from unknown writer ${w}`);
          assert.equal(next[w], perWriter, `${label}: writer ${w} ended after ${next[w]} of ${perWriter} records`);
          next[w]++;
          ended++;
          continue;
        }
        let id;
        try {
          id = checkRecord(seed, rec, maxBody);
        } catch (err) {
          err.message = `${label}, record #${received}: ${err.message}; per-writer progress ${next.join(',')}`;
          throw err;
        }
        assert.ok(id.writer < writers, `${label}: record from unknown writer ${id.writer}`);
        assert.equal(id.seq, next[id.writer], `${label}: writer ${id.writer} sent seq ${id.seq} when ${next[id.writer]} was due (loss, duplicate or reordering)`);
        next[id.writer]++;
        bytesSeen += rec.length;
      }
      const stats = await Promise.all(ws.map((w) => w.result));
      assert.equal(c.receive(), undefined, `${label}: records left after every writer ended`);
      assert.equal(received, writers * (perWriter + 1));
      assert.ok(bytesSeen > writers * perWriter * 5);
      assert.equal(totalWaiters(c.buffer), 0);
      this.test.title += ` [writers slept on a full channel ${stats.map((st) => st.sleeps).join('/')} times]`;
    });
  }
});
