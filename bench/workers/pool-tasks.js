'use strict';
// Task bodies shared by every pool's worker script (bench/workers/pool-<lib>.js) and, for fib,
// by the main thread in cases/pool-cpu.js, so every subject runs exactly the same code.
// (A plain module, not a worker script.)

function noop() {}

function echo(x) {
  return x;
}

function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

module.exports = { noop, echo, fib };
