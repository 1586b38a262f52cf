#!/usr/bin/env node
'use strict';
/**
 * Benchmark runner: `npm run bench` / `node bench/run.js [options]`.
 *
 *   --quick               fewer/shorter samples (whole run < 2 min on 2 cores)
 *   --filter <substr>     run only cases whose name contains substr (repeatable, or a,b)
 *   --reps <n>            repetitions per subject (min 5)
 *   --baselines-only      do not load ringpool; ringpool rows show as skipped (harness dev)
 *   --list                list cases and exit
 *   --check               exit 2 if any target FAILs
 *
 * Every case is a file in bench/cases/ exporting { name, description, run(ctx), targets? }.
 */

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const h = require('./harness');

function parseArgs(argv) {
  const opts = { quick: false, filters: [], reps: undefined, baselinesOnly: false, list: false, check: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (a.includes('=')) return a.slice(a.indexOf('=') + 1);
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--quick') opts.quick = true;
    else if (a === '--filter' || a.startsWith('--filter=')) opts.filters.push(...value().split(',').filter(Boolean));
    else if (a === '--reps' || a.startsWith('--reps=')) opts.reps = Math.max(5, parseInt(value(), 10) || 5);
    else if (a === '--baselines-only') opts.baselinesOnly = true;
    else if (a === '--list') opts.list = true;
    else if (a === '--check') opts.check = true;
    else if (a === '--help' || a === '-h') opts.help = true;
    else throw new Error(`unknown option ${a} (try --help)`);
  }
  return opts;
}

function loadCases() {
  const dir = path.join(__dirname, 'cases');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.js') && !f.startsWith('_'))
    .sort()
    .map((f) => {
      const mod = require(path.join(dir, f));
      if (!mod || typeof mod.name !== 'string' || typeof mod.run !== 'function') {
        throw new Error(`bench/cases/${f} must export { name, description, run(ctx) }`);
      }
      return { file: f, order: mod.order ?? 100, ...mod, run: mod.run };
    })
    .sort((a, b) => a.order - b.order || a.file.localeCompare(b.file));
}

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: h.ROOT, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return null;
  }
}

function gitDirty() {
  try {
    return execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: h.ROOT, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim().length > 0;
  } catch {
    return null;
  }
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
  const cases = loadCases();
  if (opts.help) {
    console.log(fs.readFileSync(__filename, 'utf8').split('\n').slice(3, 13).map((l) => l.replace(/^ \*\s?/, '')).join('\n'));
    return;
  }
  if (opts.list) {
    for (const c of cases) console.log(`${c.name.padEnd(20)} ${c.description}`);
    return;
  }

  let ringpool = null;
  let ringpoolError = null;
  if (opts.baselinesOnly) {
    ringpoolError = 'skipped (--baselines-only)';
  } else {
    try {
      ringpool = require('..');
    } catch (err) {
      console.error(`bench: cannot load ringpool (require('..') from ${__dirname}): ${h.errorMessage(err)}`);
      console.error('bench: build the package first (npm run build), or use --baselines-only');
      process.exit(1);
    }
  }

  const selected = opts.filters.length ? cases.filter((c) => opts.filters.some((f) => c.name.includes(f))) : cases;
  if (!selected.length) {
    console.error(`bench: no case matches ${opts.filters.join(', ')}; cases: ${cases.map((c) => c.name).join(', ')}`);
    process.exit(1);
  }

  const meta = {
    node: process.version,
    v8: process.versions.v8,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    platform: process.platform,
    cpu: (os.cpus()[0] || {}).model || 'unknown',
    cores: os.cpus().length,
    availableParallelism: typeof os.availableParallelism === 'function' ? os.availableParallelism() : undefined,
    totalMemMiB: Math.round(os.totalmem() / 1048576),
    commit: gitCommit(),
    dirty: gitDirty(),
    argv: process.argv.slice(2),
    quick: opts.quick,
    startedAt: new Date().toISOString(),
  };
  const reps = opts.reps ?? (opts.quick ? 5 : 7);
  const warmup = opts.quick ? 1 : 2;
  console.log(
    `ringpool bench — ${meta.node}, ${meta.os}, ${meta.cpu} × ${meta.cores}, ` +
      `commit ${meta.commit ? meta.commit.slice(0, 12) : 'unknown'}${meta.dirty ? '+dirty' : ''}; ` +
      `${opts.quick ? 'quick' : 'full'} mode, ≥ ${reps} reps (cases may ask for more) + ${warmup} warm-up per subject`,
  );
  console.log('ratio column: speed-up vs the best baseline in the same group (> 1 = ringpool better)');

  const t0 = Date.now();
  const allResults = [];
  const allTargets = [];
  const caseTimes = {};
  for (const c of selected) {
    const ctx = new h.Context({ caseName: c.name, quick: opts.quick, reps, repsOverride: opts.reps, warmup, ringpool, ringpoolError });
    const tc = Date.now();
    process.stdout.write(`\n[${c.name}] running…`);
    try {
      await c.run(ctx);
    } catch (err) {
      // A case that dies outside compare() still gets a row.
      ctx.results.push({
        case: c.name, group: '(case)', subject: '(case)', role: 'baseline', metrics: {},
        error: h.errorMessage(err), errorStack: err && err.stack,
      });
    }
    caseTimes[c.name] = Date.now() - tc;
    process.stdout.write(` ${(caseTimes[c.name] / 1000).toFixed(1)} s\n`);
    h.printCaseTable(c, ctx.results);
    for (const r of ctx.results) if (r.metrics && !Object.keys(r.metrics).length && r.error) console.log(`  errored: ${r.error}`);
    allResults.push(...ctx.results);
    allTargets.push(...(c.targets || []).map((t) => ({ case: c.name, ...t })));
  }

  const evaluated = h.evaluateTargets(allTargets, allResults);
  if (evaluated.length) h.printTargets(evaluated);

  meta.finishedAt = new Date().toISOString();
  meta.durationMs = Date.now() - t0;
  meta.caseDurationsMs = caseTimes;
  const outDir = path.join(__dirname, 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const stamp = meta.startedAt.replace(/[:.]/g, '-');
  const file = path.join(outDir, `${stamp}.json`);
  const json = {
    meta,
    results: allResults.map(({ errorStack, ...r }) => ({ ...r, errorStack })),
    targets: evaluated,
  };
  fs.writeFileSync(file, JSON.stringify(json, (k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
  console.log(`\ntotal ${(meta.durationMs / 1000).toFixed(1)} s; results written to ${path.relative(process.cwd(), file)}`);

  if (opts.check && evaluated.some((t) => t.status === 'FAIL')) process.exitCode = 2;
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
