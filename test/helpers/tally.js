'use strict';
/*
 * Checks what consumers saw against what producers sent, for tagged ring items
 * (tag << 24 | seq, see fixtures/payload.js#tagged):
 *   - every (tag, seq) for seq < counts[tag] was received exactly once (no loss, no duplicate)
 *   - within each consumer's stream, every producer's items come in increasing seq order
 * Throws one error that names the config, the first problems found, and the counts.
 */
function tallyTagged(streams, counts, label) {
  const problems = [];
  const seen = counts.map((n) => new Uint8Array(n));
  let total = 0;
  streams.forEach((stream, consumer) => {
    const last = counts.map(() => -1);
    for (const v of stream) {
      total++;
      const tag = v >>> 24;
      const seq = v & 0xffffff;
      if (tag >= counts.length || seq >= counts[tag]) {
        problems.push(`consumer ${consumer}: unexpected value 0x${v.toString(16)}`);
        continue;
      }
      if (seen[tag][seq]++) problems.push(`consumer ${consumer}: duplicate (producer ${tag}, seq ${seq})`);
      if (seq <= last[tag]) problems.push(`consumer ${consumer}: producer ${tag} seq ${seq} after ${last[tag]}`);
      last[tag] = seq;
    }
  });
  seen.forEach((marks, tag) => {
    const missing = marks.indexOf(0);
    if (missing !== -1) problems.push(`producer ${tag}: seq ${missing} never received (and ${marks.filter((m) => m === 0).length - 1} more)`);
  });
  if (problems.length > 0) {
    const err = new Error(
      `${label}: ${problems.length} problem(s); sent ${counts.join('+')} items, received ${total} ` +
        `(${streams.map((s) => s.length).join('+')} per consumer):\n  ${problems.slice(0, 10).join('\n  ')}`,
    );
    throw err;
  }
  return total;
}

module.exports = { tallyTagged };
