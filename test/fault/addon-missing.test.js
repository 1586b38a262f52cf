'use strict';
// Without a built addon, loading the package fails at once with AddonMissingError
// (code ERR_RINGPOOL_ADDON_MISSING) whose message says where it looked and how to build,
// instead of a bare "Cannot find module". Checked on a copy of dist/ in a temporary folder
// that has no build/ next to it.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { rp, root } = require('../helpers/ringpool');

describe('fault: the native addon is missing', () => {
  let dir;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringpool-noaddon-'));
    fs.cpSync(path.join(root, 'dist'), path.join(dir, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('require() throws AddonMissingError naming the paths it tried and the build command', () => {
    assert.throws(
      () => require(path.join(dir, 'dist', 'index.js')),
      (err) => {
        assert.equal(err.name, 'AddonMissingError');
        assert.equal(err.code, 'ERR_RINGPOOL_ADDON_MISSING');
        assert.ok(err instanceof Error);
        assert.match(err.message, /ringpool\.node/);
        assert.ok(err.message.includes(path.join(dir, 'build')), `message does not name ${path.join(dir, 'build')}: ${err.message}`);
        assert.match(err.message, /node-gyp|npm install/);
        assert.ok(err.cause !== undefined, 'the loader error is kept as the cause');
        return true;
      },
    );
  });

  it('the working package is unaffected', () => {
    assert.equal(typeof rp.Ring, 'function');
    assert.equal(new rp.Ring({ capacity: 1 }).capacity, 1);
  });
});
