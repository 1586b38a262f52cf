'use strict';
/* transaction() / readTransaction(): all-or-nothing over several maps, throwing callbacks,
 * conflicts and retries, and transfers between accounts from several workers at once that
 * keep the total constant while auditors read consistent snapshots. */
const assert = require('node:assert/strict');
const { rp, runJob, testSeed } = require('./helpers');

const { SharedMap, SharedQueue, transaction, readTransaction, TransactionConflictError, TimeoutError } = rp;

describe('transaction', function () {
  this.timeout(30000);

  it('commits writes to several maps together, and reads its own writes', async () => {
    const a = new SharedMap();
    const b = new SharedMap();
    a.set('x', 1);
    const r = await transaction(() => {
      a.set('x', a.get('x') + 1);
      assert.equal(a.get('x'), 2, 'reads its own write');
      b.set('y', 'new');
      a.delete('gone');
      assert.equal(a.has('x'), true);
      b.set('tmp', 1);
      assert.equal(b.delete('tmp'), true);
      assert.equal(b.has('tmp'), false);
      assert.equal(b.get('y'), 'new');
      return 'result';
    });
    assert.equal(r, 'result');
    assert.equal(a.get('x'), 2);
    assert.equal(b.get('y'), 'new');
    assert.equal(b.has('tmp'), false);
    assert.equal(await transaction(() => a.update('x', (v) => v * 10)), 20);
    assert.equal(a.get('x'), 20);
  });

  it('a callback that throws changes nothing', async () => {
    const a = new SharedMap();
    a.set('x', 1);
    await assert.rejects(transaction(() => {
      a.set('x', 2);
      a.set('y', 3);
      throw new Error('abandon');
    }), /abandon/);
    assert.equal(a.get('x'), 1);
    assert.equal(a.has('y'), false);
    await assert.rejects(transaction(() => a.set('x', () => {})), (e) => e.code === 'ERR_RINGPOOL_DATA_CLONE');
    assert.equal(a.get('x'), 1);
    await assert.rejects(transaction(async () => a.set('x', 5)), (e) => e.code === 'ERR_RINGPOOL_INVALID_ARG_TYPE');
    assert.equal(a.get('x'), 1, 'async callbacks are refused, nothing committed');
  });

  it('retries on conflict, up to maxRetries, then TransactionConflictError', async () => {
    const a = new SharedMap();
    a.set('x', 0);
    let runs = 0;
    // conflicts on the first two attempts only: the third commits
    const v = await transaction(() => {
      runs++;
      const x = a.get('x');
      if (runs <= 2) conflictBehindTheBack(a);
      a.set('y', x);
      return runs;
    });
    assert.equal(v, 3);
    assert.equal(a.get('y'), a.get('x'), 'committed against the latest x');
    runs = 0;
    await assert.rejects(
      transaction(() => {
        runs++;
        a.get('x');
        a.set('z', runs);
        conflictBehindTheBack(a);
      }, { maxRetries: 3 }),
      (e) => e instanceof TransactionConflictError && e.code === 'ERR_RINGPOOL_TX_CONFLICT' && e.attempts === 4,
    );
    assert.equal(runs, 4);
    assert.equal(a.has('z'), false, 'nothing of a failed transaction is written');
  });

  it('timeout bounds all attempts', async () => {
    const a = new SharedMap();
    a.set('x', 0);
    await assert.rejects(transaction(() => {
      a.get('x');
      conflictBehindTheBack(a);
    }, { maxRetries: Infinity, timeout: 20 }), TimeoutError);
  });

  it('rejects bad arguments and queue operations', async () => {
    await assert.rejects(transaction(5), (e) => e.code === 'ERR_RINGPOOL_INVALID_ARG_TYPE');
    await assert.rejects(transaction(() => {}, 5), (e) => e.code === 'ERR_RINGPOOL_INVALID_ARG_TYPE');
    await assert.rejects(transaction(() => {}, { maxRetries: -1 }), (e) => e.code === 'ERR_RINGPOOL_OUT_OF_RANGE');
    await assert.rejects(transaction(() => {}, { maxRetries: 'x' }), (e) => e.code === 'ERR_RINGPOOL_INVALID_ARG_TYPE');
    await assert.rejects(transaction(() => {}, { timeout: 'x' }), (e) => e.code === 'ERR_RINGPOOL_INVALID_ARG_TYPE');
    const q = new SharedQueue({ capacity: 2 });
    await assert.rejects(transaction(() => q.enqueue(1)), (e) => e.code === 'ERR_RINGPOOL_INVALID_STATE');
    assert.equal(q.size, 0);
    const m = new SharedMap();
    await assert.rejects(readTransaction(() => m.set('a', 1)), (e) => e.code === 'ERR_RINGPOOL_INVALID_STATE');
    assert.equal(m.has('a'), false);
  });

  it('nested transactions join the outer one', async () => {
    const m = new SharedMap();
    await transaction(() => {
      m.set('a', 1);
      void transaction(() => m.set('b', 2));
    });
    assert.equal(m.get('a'), 1);
    assert.equal(m.get('b'), 2);
  });

  it('transfers between accounts from 4 workers keep the total; snapshots always see it', async () => {
    const seed = testSeed();
    const maps = [new SharedMap({ stripes: 4 }), new SharedMap({ stripes: 8 })];
    const accounts = 8;
    for (const m of maps) for (let i = 0; i < accounts; i++) m.set(`acct${i}`, 1000);
    const total = maps.length * accounts * 1000;
    const auditor = runJob('auditSnapshots', { maps, accounts, total, rounds: 300 });
    const retries = await Promise.all(Array.from({ length: 4 }, (_, w) => runJob('transfer', { maps, accounts, n: 1000, seed: seed + w })));
    assert.equal(await auditor, 300);
    let sum = 0;
    for (const m of maps) for (let i = 0; i < accounts; i++) sum += m.get(`acct${i}`);
    assert.equal(sum, total, `seed ${seed}, retries ${retries}`);
    const snap = await readTransaction(() => maps.map((m) => [...Array(accounts).keys()].map((i) => m.get(`acct${i}`))));
    assert.equal(snap.flat().reduce((x, y) => x + y, 0), total);
  });
});

/**
 * Commits a change to `x` of map m outside the running transaction: from this same thread,
 * a plain write inside the callback would be buffered, so the write goes through a second
 * view of the map whose calls are made outside the transaction context.
 */
function conflictBehindTheBack(m) {
  const { native } = require(require('path').join(require('./helpers').root, 'dist', 'shared', 'native-shared.js'));
  const kb = Buffer.from([1, 0x78]); // key 'x' as SharedMap encodes it (tag 1 = UTF-8 string)
  const enc = new (require(require('path').join(require('./helpers').root, 'dist', 'codec')).Encoder)();
  enc.writeValue(Math.random());
  native.mapSet(new Int32Array(m.handle), kb, 2, enc.bytes(), enc.length);
}
