'use strict';
// Table-driven bad-input tests (table: test/fixtures/bad-input.js): each row must throw the
// expected class, code and message, and leave its fixture exactly as it was.
const { allRows, runRow } = require('../fixtures/bad-input');

describe('bad input', () => {
  const byGroup = new Map();
  for (const row of allRows()) {
    if (!byGroup.has(row.group)) byGroup.set(row.group, []);
    byGroup.get(row.group).push(row);
  }
  for (const [group, rows] of byGroup) {
    describe(group, () => {
      for (const row of rows) it(row.name, () => runRow(row));
    });
  }
});
