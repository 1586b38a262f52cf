'use strict';
// tinypool worker script (cases/pool-*.js): named exports, selected with run(arg, { name }).
// tinypool is ESM-only, so Tinypool.move is loaded with import() when the worker starts.
const { noop, echo, fib } = require('./pool-tasks');

let move = null;
const loaded = import('tinypool').then((m) => {
  move = m.default.move;
});

module.exports = {
  noop,
  echo,
  fib,
  async echoMove(ab) {
    if (move === null) await loaded;
    return move(ab);
  },
};
