'use strict';
// The package entry points: `require('ringpool')` and `import('ringpool')` resolve through
// package.json "exports" (self-reference from inside the package) to the same API as the
// files they point at. The per-name type checks are the 'exports:' scenarios.
const assert = require('node:assert/strict');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { rp, root } = require('../helpers/ringpool');

const kNames = ['waitAsync', 'wait', 'notify', 'Ring', 'Channel', 'SlotAllocator', 'RingpoolError', 'RingpoolTypeError', 'RingpoolRangeError', 'AddonMissingError', 'AbortError', 'TimeoutError'];

describe('package entry points', () => {
  it('the CommonJS entry exports every public name and nothing undefined', () => {
    for (const name of kNames) assert.ok(name in rp, `missing export ${name}`);
    for (const [name, v] of Object.entries(rp)) assert.notEqual(v, undefined, `export ${name} is undefined`);
  });

  it('the ESM entry has the same named exports, the same objects, and a default export', async () => {
    const esm = await import(pathToFileURL(path.join(root, 'esm', 'index.mjs')).href);
    assert.deepEqual(Object.keys(esm).filter((k) => k !== 'default').sort(), Object.keys(rp).sort());
    for (const name of Object.keys(rp)) assert.equal(esm[name], rp[name], name);
    assert.equal(esm.default, rp);
  });

  const selfRef = path.resolve(__dirname, '..', '..') === root;
  (selfRef ? it : it.skip)("require('ringpool') and import('ringpool') go through package.json exports", async () => {
    assert.equal(require('ringpool'), rp);
    const esm = await import('ringpool');
    assert.equal(esm.Ring, rp.Ring);
    assert.deepEqual(Object.keys(esm).filter((k) => k !== 'default').sort(), Object.keys(rp).sort());
    assert.throws(() => require('ringpool/dist/wait.js'), (e) => e.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED');
  });
});
