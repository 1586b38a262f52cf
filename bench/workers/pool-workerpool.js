'use strict';
// workerpool worker script (cases/pool-*.js), run with workerType: 'thread'.
const workerpool = require('workerpool');
const { noop, echo, fib } = require('./pool-tasks');

workerpool.worker({
  noop,
  echo,
  fib,
  echoMove: (ab) => new workerpool.Transfer(ab, [ab]),
});
