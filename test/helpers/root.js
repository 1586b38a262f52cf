'use strict';
// The package under test: the repository root (two levels up), or RINGPOOL_TEST_ROOT when set
// (lets the suite run against a built copy elsewhere, e.g. an installed tarball).
const path = require('node:path');

module.exports = path.resolve(process.env.RINGPOOL_TEST_ROOT || path.join(__dirname, '..', '..'));
