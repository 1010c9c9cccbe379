// `jarvis` run from the TypeScript sources (through tsx), so that the tests that start `jarvis serve` as a
// child process test this tree without a build of dist/ first.
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
