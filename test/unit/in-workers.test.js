'use strict';
// The scenarios of test/fixtures/scenarios.js inside workers: first in one worker, then in
// four workers started at once (several threads loading the addon concurrently and sharing
// the process-wide waiter table). One mocha test per scenario and worker.
const { scenarios } = require('../fixtures/scenarios');
const { runScenariosInWorkers, failure } = require('../helpers/run-in-worker');

const names = scenarios.map((s) => s.name);

for (const n of [1, 4]) {
  describe(`scenarios in ${n} worker${n > 1 ? 's at once' : ''}`, function () {
    this.timeout(60000);
    let perWorker;
    before(async () => {
      perWorker = await runScenariosInWorkers(names, n);
    });
    for (const name of names) {
      it(name, () => {
        perWorker.forEach((results, id) => {
          const r = results.find((x) => x.name === name);
          if (!r) throw new Error(`worker ${id} has no result for '${name}'`);
          if (!r.ok) throw failure(r, id);
        });
      });
    }
  });
}
