'use strict';
// A bad-arguments test per native function (STYLE: Tests): every function of the binding,
// called directly with wrong types, out-of-range values and buffers that are not (or not
// wholly) the structure it expects, must throw a TypeError / RangeError / Error carrying an
// ERR_RINGPOOL_* code, and never crash the process or touch memory outside the view. The
// probes run in a child process (fixtures/native-probe.js) so that a crash is reported with
// the probe that caused it instead of killing mocha.
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const kProbe = path.join(__dirname, '..', 'fixtures', 'native-probe.js');

describe('native binding: bad arguments, function by function', function () {
  this.timeout(60000);
  let lines;
  let summary;
  before(() => {
    const r = spawnSync(process.execPath, [kProbe], { encoding: 'utf8', timeout: 50000 });
    const out = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    summary = out.pop();
    lines = out;
    if (r.status !== 0 || !summary || summary.done === undefined) {
      const last = r.stderr.trim().split('\n').filter((l) => l.startsWith('probe: ')).pop();
      throw new Error(`the probe process died (status ${r.status}, signal ${r.signal}) during "${last}"\n${r.stderr.slice(-2000)}`);
    }
  });

  it('ran every probe', () => {
    assert.equal(lines.length, summary.done);
    assert.ok(lines.length > 150, `${lines.length} probes`);
  });

  it('every function that takes a structure is covered by the layout probes', () => {
    const structureLike = summary.functions.filter((n) => /^(ring|channel|slots)/.test(n) && !/(Bytes|Layout|Init)$/.test(n));
    assert.deepEqual(structureLike.filter((n) => !summary.covered.includes(n)), [], 'add these to structureFns in fixtures/native-probe.js');
  });

  it('every probe threw the expected class and code', () => {
    const bad = [];
    for (const l of lines) {
      const where = `${l.fn}(${l.label})`;
      if (l.outcome !== 'threw') {
        bad.push(`${where}: returned ${l.value} instead of throwing`);
        continue;
      }
      if (l.expect.cls && l.errClass !== l.expect.cls) bad.push(`${where}: ${l.errClass} instead of ${l.expect.cls} (${l.code}: ${l.message})`);
      const code = l.expect.code;
      const codeOk = code === undefined ? /^ERR_RINGPOOL_/.test(String(l.code)) : typeof code === 'object' ? new RegExp(code.re).test(String(l.code)) : l.code === code;
      if (!codeOk) bad.push(`${where}: code ${l.code} instead of ${typeof code === 'object' ? code.re : code || 'ERR_RINGPOOL_*'} (${l.message})`);
      if (typeof l.message !== 'string' || l.message.length < 8) bad.push(`${where}: no useful message`);
    }
    assert.equal(bad.length, 0, `${bad.length} of ${lines.length} probes failed:\n  ${bad.join('\n  ')}`);
  });
});
