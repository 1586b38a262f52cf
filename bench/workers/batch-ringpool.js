'use strict';
// ringpool worker script (cases/batch-*.js): map / execBatch / mapRegions run these by name.
const path = require('node:path');
const { worker } = require(path.resolve(__dirname, '..', '..'));
const { double, add, brighten } = require('./batch-tasks');

worker({
  double,
  add,
  /** mapRegions: region offsets are into region.buffer, which starts with the frame. */
  brightenRegion(region) {
    brighten(new Uint8Array(region.buffer), region.start, region.end);
    return region.end - region.start;
  },
});
