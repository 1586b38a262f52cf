'use strict';
// piscina worker script (cases/batch-*.js): named exports, selected with run(arg, { name }).
const { double, addPair } = require('./batch-tasks');

module.exports = { double, addPair };
