/**
 * `pnpm soak [--seed N] [--jobs N] [--ci] [--json] [--profile …]`: thousands of jobs per server profile through the
 * real run loop against the fake GitLab, on one fake clock, with a seeded mix of faults and runner crashes; exits 1
 * on any invariant violation, printing the seed to replay it with. Progress goes to stderr, the report to stdout
 * (with `--json`, one JSON object as its last line).
 */
import { formatReport, jsonReport } from './report.js';
import { readSoakOptions, type SoakOptions } from './soak-options.js';
import { runSoak } from './soak-suite.js';

let options: SoakOptions;
try {
  options = readSoakOptions(process.argv.slice(2));
} catch (error) {
  // A usage error is the user's to fix: the message says what, a stack trace would only hide it.
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(2);
}
console.log(`soak: seed ${options.seed}`);
const report = await runSoak(options, (line) => process.stderr.write(`${line}\n`));
console.log(formatReport(report));
if (options.json) console.log(JSON.stringify(jsonReport(report)));
process.exitCode = report.results.every((result) => result.violationCount === 0) ? 0 : 1;
