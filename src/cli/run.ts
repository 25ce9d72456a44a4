// Source entry for running the CLI without a build: `node --import tsx src/cli/run.ts …`
// (tests spawn it as a separate process; bin/odp.js runs the bundle in dist/cli/ instead).
import { main } from './main.js';

process.exitCode = await main(process.argv);
