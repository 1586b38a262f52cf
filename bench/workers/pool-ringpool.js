'use strict';
// ringpool pool worker script (cases/pool-*.js): workerpool-style worker({ ... }).
// echoMove returns the buffer with a transfer list (it travels back on the MessagePort path).
const path = require('node:path');
const { worker, Transfer } = require(path.resolve(__dirname, '..', '..'));
const { noop, echo, fib } = require('./pool-tasks');

worker({
  noop,
  echo,
  fib,
  echoMove: (ab) => new Transfer(ab, [ab]),
});
