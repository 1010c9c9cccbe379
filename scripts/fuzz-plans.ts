/**
 * `npm run fuzz`: generated and mutated LLM replies and plans through the whole plan-reading path.
 * Options: --seed N (default 15), --count N (default 10000), --workers N (default 2), --deadline MS (5000),
 * --budget S (time budget in seconds, default 600), --only I,J (replay cases). Exit 1 when a case threw,
 * hung, took over 100 ms or an invalid plan was accepted.
 */
import { parseArgs } from 'node:util';
import { formatSummary, runFuzz } from '../test/fuzz/plan-fuzzer.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '15' },
    count: { type: 'string', default: '10000' },
    workers: { type: 'string', default: '2' },
    deadline: { type: 'string', default: '5000' },
    budget: { type: 'string', default: '600' },
    only: { type: 'string' },
  },
});

const summary = await runFuzz({
  seed: Number(values.seed),
  count: Number(values.count),
  workers: Number(values.workers),
  deadlineMs: Number(values.deadline),
  timeBudgetMs: Number(values.budget) * 1000,
  ...(values.only ? { only: values.only.split(',').map(Number) } : {}),
});
console.log(formatSummary(summary));
const failed =
  summary.uncaught.length + summary.hangs.length + summary.slow.length + summary.invalidAccepted.length > 0;
process.exitCode = failed ? 1 : 0;
