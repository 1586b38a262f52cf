'use strict';
// Ring stress: producers in workers push tagged items (producer << 24 | seq); consumers on
// the main thread (popAsync) or in workers (popWait, until a sentinel). Sweeps producers x
// consumers x capacity, including capacities 1 and 2. Checked: no loss, no duplicate,
// per-producer order within each consumer. Bounded to a few seconds in total.
const assert = require('node:assert/strict');
const { rp, totalWaiters } = require('../helpers/ringpool');
const { startTask } = require('../helpers/workers');
const { tallyTagged } = require('../helpers/tally');

const { Ring } = rp;
const kSentinel = 0xffffffff;

const collect = () => {
  if (typeof global.gc === 'function') global.gc();
};

describe('stress: Ring', function () {
  this.timeout(60000);
  afterEach(collect);

  for (const [capacity, perProducer] of [[1, 4000], [2, 4000], [64, 20000]]) {
    it(`2 producer workers -> main thread consumer (popAsync), capacity ${capacity}, ${perProducer} items each`, async () => {
      const r = new Ring({ capacity });
      const producers = [0, 1].map((tag) => startTask('ringProduce', { buffer: r.buffer, tag, count: perProducer }));
      const got = [];
      const total = 2 * perProducer;
      while (got.length < total) {
        const v = r.pop();
        got.push(v !== undefined ? v : await r.popAsync());
      }
      await Promise.all(producers.map((p) => p.result));
      assert.equal(r.pop(), undefined, `capacity ${capacity}: an extra item was left in the ring`);
      tallyTagged([got], [perProducer, perProducer], `capacity ${capacity}, 2 producers x main`);
      assert.equal(totalWaiters(r.buffer), 0);
    });
  }

  for (const [producers, consumers, capacity, perProducer] of [[2, 2, 1, 3000], [2, 2, 8, 10000], [3, 1, 2, 4000], [1, 3, 4, 10000]]) {
    it(`${producers} producer workers -> ${consumers} consumer workers (popWait), capacity ${capacity}`, async () => {
      const r = new Ring({ capacity });
      const cons = Array.from({ length: consumers }, () => startTask('ringConsumeUntil', { buffer: r.buffer, sentinel: kSentinel }));
      const prods = Array.from({ length: producers }, (_, tag) => startTask('ringProduce', { buffer: r.buffer, tag, count: perProducer }));
      await Promise.all(prods.map((p) => p.result));
      for (let k = 0; k < consumers; k++) await r.pushAsync(kSentinel);
      const streams = await Promise.all(cons.map((c) => c.result));
      const counts = new Array(producers).fill(perProducer);
      const label = `${producers}P x ${consumers}C, capacity ${capacity}`;
      assert.equal(tallyTagged(streams, counts, label), producers * perProducer);
      assert.equal(r.size, 0, `${label}: ring not empty at the end`);
      assert.equal(totalWaiters(r.buffer), 0);
    });
  }

  for (const capacity of [1, 4]) {
    it(`2 producer workers -> main thread (popAsync) and 2 worker consumers (popWait) together, capacity ${capacity}`, async () => {
      const r = new Ring({ capacity });
      const perProducer = 5000;
      const cons = [0, 1].map(() => startTask('ringConsumeUntil', { buffer: r.buffer, sentinel: kSentinel }));
      const prods = [0, 1].map((tag) => startTask('ringProduce', { buffer: r.buffer, tag, count: perProducer }));
      const mine = [];
      const consumeHere = (async () => {
        for (;;) {
          const v = await r.popAsync();
          if (v === kSentinel) return;
          mine.push(v);
        }
      })();
      await Promise.all(prods.map((p) => p.result));
      for (let k = 0; k < 3; k++) await r.pushAsync(kSentinel);
      await consumeHere;
      const streams = [mine, ...(await Promise.all(cons.map((c) => c.result)))];
      assert.equal(tallyTagged(streams, [perProducer, perProducer], `2P x (main + 2C), capacity ${capacity}`), 2 * perProducer);
      assert.equal(r.size, 0);
      assert.equal(totalWaiters(r.buffer), 0);
    });
  }

  it('main thread producer (pushAsync) -> 2 consumer workers, capacity 1', async () => {
    const r = new Ring({ capacity: 1 });
    const cons = [0, 1].map(() => startTask('ringConsumeUntil', { buffer: r.buffer, sentinel: kSentinel }));
    const n = 4000;
    for (let seq = 0; seq < n; seq++) {
      const v = (7 * 2 ** 24 + seq) >>> 0;
      if (!r.tryPush(v)) await r.pushAsync(v);
    }
    await r.pushAsync(kSentinel);
    await r.pushAsync(kSentinel);
    const streams = await Promise.all(cons.map((c) => c.result));
    const shifted = streams.map((s) => s.map((v) => (v & 0xffffff) >>> 0));
    assert.equal(tallyTagged(shifted, [n], 'main x 2C, capacity 1'), n);
  });
});
