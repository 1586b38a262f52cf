'use strict';
// Every scenario of test/fixtures/scenarios.js on the main thread. The same scenarios run in
// one worker and in four workers at once in in-workers.test.js.
const { scenarios } = require('../fixtures/scenarios');

describe('scenarios on the main thread', () => {
  for (const s of scenarios) it(s.name, s.fn);
});
