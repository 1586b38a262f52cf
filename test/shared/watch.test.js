'use strict';
/* watch(key) / watchAll(): events for sets, deletes and clears; coalescing that always ends on
 * the current value; across threads both ways; leaving the loop or aborting stops the watcher
 * (no waiter left behind). */
const assert = require('node:assert/strict');
const path = require('node:path');
const { rp, root, startJob } = require('./helpers');

const { SharedMap } = rp;
const { waitCount } = require(path.join(root, 'dist', 'wait.js'));

function waitersOn(buffer) {
  const i32 = new Int32Array(buffer);
  let n = 0;
  for (let i = 0; i < 4096 && i < i32.length; i++) n += waitCount(i32, i);
  return n;
}

describe('watch', function () {
  this.timeout(20000);

  it('reports sets, deletes and clears of one key', async () => {
    const m = new SharedMap();
    m.set('k', 'a');
    const it = m.watch('k');
    m.set('k', 'b');
    let e = (await it.next()).value;
    assert.equal(e.type, 'set');
    assert.equal(e.key, 'k');
    assert.equal(e.oldValue, 'a');
    assert.equal(e.newValue, 'b');
    assert.equal(typeof e.version, 'number');
    assert.equal(typeof e.timestamp, 'number');
    const v1 = e.version;
    m.delete('k');
    e = (await it.next()).value;
    assert.deepEqual([e.type, e.oldValue, e.newValue], ['delete', 'b', undefined]);
    assert.ok(e.version > v1);
    m.set('k', 'c');
    e = (await it.next()).value;
    assert.deepEqual([e.type, e.oldValue, e.newValue], ['set', undefined, 'c']);
    m.clear();
    e = (await it.next()).value;
    assert.deepEqual([e.type, e.oldValue, e.newValue], ['clear', 'c', undefined]);
    // a change to another key does not produce an event for this one
    const pending = it.next();
    m.set('other', 1);
    m.set('k', 'd');
    e = (await pending).value;
    assert.equal(e.newValue, 'd');
    assert.deepEqual(await it.return(), { done: true, value: undefined });
    assert.deepEqual(await it.next(), { done: true, value: undefined });
  });

  it('a slow watcher coalesces but always ends on the latest value (writer in a worker)', async () => {
    const m = new SharedMap();
    m.set('n', 0);
    const seen = [];
    const writer = startJob('countUp', { map: m, key: 'n', n: 2000 });
    for await (const e of m.watch('n')) {
      seen.push(e.newValue);
      if (e.newValue === 2000) break;
    }
    assert.equal(await writer.result, 2000);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] > seen[i - 1], 'values only move forward');
    assert.equal(seen.at(-1), 2000);
    assert.equal(waitersOn(m.handle), 0, 'leaving the loop removed the waiter');
  });

  it('a watcher in a worker sees the main thread\'s writes', async () => {
    const m = new SharedMap();
    const job = startJob('watchUntil', { map: m, key: 'cfg', until: 'final' });
    assert.equal(await job.nextMessage(), 'watching');
    m.set('cfg', 'first');
    m.set('cfg', 'final');
    const seen = await job.result;
    assert.equal(seen.at(-1), 'final');
    assert.ok(seen.length <= 2);
  });

  it('watchAll reports every key, clears, and ends on the current state', async () => {
    const m = new SharedMap();
    m.set('a', 1);
    const it = m.watchAll();
    m.set('b', 2);
    m.set('a', 10);
    m.delete('b');
    const events = [];
    const want = new Map([['a', 10]]);
    const state = new Map([['a', 1]]);
    while (!(state.size === want.size && [...want].every(([k, v]) => state.get(k) === v))) {
      const e = (await it.next()).value;
      events.push(e);
      if (e.type === 'set') state.set(e.key, e.newValue);
      else if (e.type === 'delete') state.delete(e.key);
      else state.clear();
    }
    m.clear();
    let e = (await it.next()).value;
    assert.equal(e.type, 'clear');
    m.set('z', 'zz');
    e = (await it.next()).value;
    assert.deepEqual([e.type, e.key, e.newValue], ['set', 'z', 'zz']);
    await it.return();
    assert.equal(waitersOn(m.handle), 0);
  });

  it('an AbortSignal ends the iteration; bad options throw', async () => {
    const m = new SharedMap();
    const ac = new AbortController();
    const loop = (async () => {
      let n = 0;
      for await (const _ of m.watch('k', { signal: ac.signal })) n++;
      return n;
    })();
    setImmediate(() => ac.abort());
    assert.equal(await loop, 0);
    assert.equal(waitersOn(m.handle), 0);
    assert.throws(() => m.watch('k', { signal: 5 }), (e) => e.code === 'ERR_RINGPOOL_INVALID_ARG_TYPE');
    assert.throws(() => m.watch({}), (e) => e.code === 'ERR_RINGPOOL_INVALID_ARG_TYPE');
    assert.throws(() => m.watchAll(5), (e) => e.code === 'ERR_RINGPOOL_INVALID_ARG_TYPE');
    const done = m.watch('k', { signal: AbortSignal.abort() });
    assert.deepEqual(await done.next(), { done: true, value: undefined });
  });
});
