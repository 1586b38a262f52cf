'use strict';
// piscina worker script (cases/pool-*.js): named exports, selected with run(arg, { name }).
const Piscina = require('piscina');
const { noop, echo, fib } = require('./pool-tasks');

module.exports = {
  noop,
  echo,
  fib,
  echoMove: (ab) => Piscina.move(ab),
};
