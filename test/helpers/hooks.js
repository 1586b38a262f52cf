'use strict';
/*
 * Mocha root hooks (loaded through .mocharc.json "require").
 *
 * Exit watchdog. Mocha runs with exit: false, so the process must end by itself once the
 * last test is done: a leaked handle (say an async waiter a failed test left queued, which
 * keeps its thread's event loop referenced) would otherwise hang the run silently. After the
 * last test an unref'd timer is armed; it can only fire if something else still keeps the
 * process alive, and then it names what and exits with code 1.
 */
const kGraceMs = 15000;

exports.mochaHooks = {
  afterAll() {
    const timer = setTimeout(() => {
      const what = typeof process.getActiveResourcesInfo === 'function' ? process.getActiveResourcesInfo().join(', ') : 'unknown';
      process.stderr.write(`\nringpool tests: the process is still alive ${kGraceMs} ms after the last test; active resources: ${what}\n`);
      process.exit(1);
    }, kGraceMs);
    timer.unref();
  },
};
