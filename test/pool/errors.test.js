'use strict';
// Errors thrown by tasks come back as the errors they were (name, message, stack, code,
// cause, own properties, built-in class); a thrown value that is not an Error comes back as
// a TaskError holding it. Either way only that task fails, once, and the worker lives on.
const assert = require('node:assert/strict');
const { rp, fixture, usePools, outcome } = require('./support');

const { pool, TaskError } = rp;
const methods = fixture('methods.js');

describe('pool: errors thrown by tasks', () => {
  const track = usePools();
  let p;
  beforeEach(() => {
    p = track(pool(methods, { maxWorkers: 1 }));
  });

  it('a custom error class keeps its name, message, stack, code and own properties', async () => {
    const r = await outcome(p.exec('throwCustom', ['bad address']));
    assert.equal(r.ok, false);
    const e = r.error;
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'ValidationError');
    assert.equal(e.message, 'bad address');
    assert.equal(e.code, 'E_VALIDATION');
    assert.equal(e.field, 'email');
    assert.match(e.stack, /ValidationError: bad address/);
    assert.match(e.stack, /methods\.js/, 'the stack is the worker\'s');
    assert.match(String(e), /^ValidationError: bad address/);
  });

  for (const kind of ['TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError']) {
    it(`a ${kind} is instanceof ${kind}, with its code and own properties`, async () => {
      const r = await outcome(p.exec('throwBuiltin', [kind, `a ${kind}`]));
      const e = r.error;
      assert.ok(e instanceof globalThis[kind], `${e && e.constructor.name}`);
      assert.equal(e.name, kind);
      assert.equal(e.message, `a ${kind}`);
      assert.equal(e.code, `E_${kind.toUpperCase()}`);
      assert.deepEqual(e.detail, { n: 1 });
      assert.match(e.stack, /methods\.js/);
    });
  }

  it('an async rejection, a cause chain and an AggregateError', async () => {
    await assert.rejects(p.exec('rejectValue', [new RangeError('later')]), (e) => e instanceof RangeError && e.message === 'later');
    const chained = await outcome(p.exec(() => {
      throw new Error('outer', { cause: new TypeError('inner') });
    }));
    assert.equal(chained.error.message, 'outer');
    assert.ok(chained.error.cause instanceof TypeError);
    assert.equal(chained.error.cause.message, 'inner');
    const agg = await outcome(p.exec(() => {
      throw new AggregateError([new Error('a'), new RangeError('b')], 'several');
    }));
    assert.ok(agg.error instanceof AggregateError);
    assert.deepEqual(agg.error.errors.map((x) => x.message), ['a', 'b']);
  });

  it('errors of built-in operations in function tasks', async () => {
    await assert.rejects(p.exec(() => null.x), TypeError);
    await assert.rejects(p.exec(() => new Array(-1)), RangeError);
    await assert.rejects(p.exec(() => JSON.parse('{')), SyntaxError);
  });

  describe('thrown values that are not Errors arrive as TaskError holding the value', () => {
    const cases = [
      ['a string', 'a string'],
      ['a number', 42],
      ['null', null],
      ['undefined', undefined],
      ['a plain object', { message: 'plain', extra: 1 }],
      ['an array', [1, 2]],
    ];
    for (const [what, v] of cases) {
      for (const method of ['throwValue', 'rejectValue']) {
        it(`${what} (${method === 'throwValue' ? 'thrown' : 'async rejection'})`, async () => {
          const r = await outcome(p.exec(method, [v]));
          assert.equal(r.ok, false);
          assert.ok(r.error instanceof TaskError, `got ${r.error && r.error.name}: ${r.error && r.error.message}`);
          assert.equal(r.error.code, 'ERR_RINGPOOL_TASK_FAILED');
          assert.deepStrictEqual(r.error.value, v);
        });
      }
    }
  });

  it('a failing task fails once, alone; the worker keeps running; stats count it', async () => {
    let exits = 0;
    p.on('workerExit', () => exits++);
    const tid = await p.exec('threadId');
    const all = await Promise.all([
      outcome(p.exec('echo', [1])),
      outcome(p.exec('throwCustom', ['x'])),
      outcome(p.exec('echo', [2])),
      outcome(p.exec('throwValue', ['y'])),
      outcome(p.exec('echo', [3])),
    ]);
    assert.deepEqual(all.map((r) => r.ok), [true, false, true, false, true]);
    assert.deepEqual(all.filter((r) => r.ok).map((r) => r.value), [1, 2, 3]);
    assert.equal(await p.exec('threadId'), tid);
    assert.equal(exits, 0);
    const s = p.stats();
    assert.equal(s.failedTasks, 2);
    assert.equal(s.completedTasks, 5);
  });
});
