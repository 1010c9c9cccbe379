#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with node's test runner (Node 20's `--test` finds no .ts files
// by itself). Extra arguments are passed through, e.g. `npm test -- --test-name-pattern=plan`, and bare file
// paths narrow the run to those files.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';

function findTests(dir) {
  let files = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return files;
  }
  for (const entry of entries) {
    if (entry === 'node_modules' || entry === 'dist' || entry.startsWith('.')) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) files = files.concat(findTests(path));
    else if (entry.endsWith('.test.ts')) files.push(path);
  }
  return files;
}

/**
 * Files that need the machine to themselves: they hold a server to a latency bound, which a neighbouring
 * test file on two shared cores can break on its own. They run after the rest, one at a time.
 */
const ALONE = ['test/server/never-freezes.test.ts'];

const args = process.argv.slice(2);
const explicitFiles = args.filter((arg) => arg.endsWith('.ts'));
const flags = args.filter((arg) => !arg.endsWith('.ts'));
const files = explicitFiles.length > 0 ? explicitFiles : [...findTests('src'), ...findTests('test')].sort();
const isAlone = (file) => ALONE.includes(file.split(sep).join('/'));

const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const totals = { pass: 0, fail: 0, skipped: 0, todo: 0 };

/** Runs node's test runner, echoing its report and adding up its closing counts. */
function runTests(testFiles, concurrency) {
  if (testFiles.length === 0) return 0;
  const result = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      `--test-concurrency=${concurrency}`,
      '--test-timeout=300000',
      ...flags,
      ...testFiles,
    ],
    { stdio: ['inherit', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1024 * 1024 * 1024 },
  );
  process.stdout.write(result.stdout ?? '');
  for (const [, name, count] of (result.stdout ?? '').matchAll(/^# (pass|fail|skipped|todo) (\d+)$/gm))
    totals[name] += Number(count);
  return result.status ?? 1;
}

const statuses = [
  runTests(
    files.filter((file) => !isAlone(file)),
    2,
  ),
  runTests(files.filter(isAlone), 1),
];
// One closing line for both runs, in the form CI reads.
console.log(`${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped`);
process.exit(statuses.find((status) => status !== 0) ?? 0);
