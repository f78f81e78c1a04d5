import type { CommandName } from './command-configs.js';
import { COMMANDS } from './command-flags.js';
import { envName, type FlagSpec, flagName } from './flag-spec.js';

const EXIT_CODES = [
  'Exit codes:',
  '  0  done (run: stopped or --once finished; confirm: confirmed; demo: every scenario as expected)',
  '  1  failed (confirm: not confirmed; run: GitLab refused the token or a job could not be reported; demo: a',
  '     scenario ended otherwise than expected)',
  '  2  bad command line or environment (one line on stderr names the flag or variable)',
];

/** `runner-core --help`: the commands. */
export function globalHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  return [
    'runner-core: a GitLab CI runner core with job confirmation (two-phase job commit)',
    '',
    'Usage: runner-core <command> [flags]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`),
    '',
    'Every flag can also be set with an environment variable RUNNER_CORE_<FLAG>',
    '(--check-interval → RUNNER_CORE_CHECK_INTERVAL); a flag on the command line wins.',
    'Durations as gitlab-runner writes them: 500ms, 30s, 2m, 1h30m.',
    '',
    'Run "runner-core <command> --help" for its flags.',
    '',
    ...EXIT_CODES,
    '',
  ].join('\n');
}

/** `runner-core <command> --help`: every flag with its default and environment variable. */
export function commandHelp(name: CommandName): string {
  const command = COMMANDS[name];
  const entries = Object.entries(command.flags as Readonly<Record<string, FlagSpec>>);
  const lefts = entries.map(
    ([key, spec]) => `--${flagName(key)}${spec.valueName === undefined ? '' : ` ${spec.valueName}`}`,
  );
  const width = Math.max(...lefts.map((left) => left.length), '-h, --help'.length);
  const lines = [`Usage: ${command.usage}`, '', `${command.summary}.`, '', 'Flags:'];
  entries.forEach(([key, spec], index) => {
    lines.push(`  ${(lefts[index] ?? '').padEnd(width)}  ${spec.description}`);
    const facts = [
      spec.required === true
        ? 'required'
        : `default: ${spec.defaultHelp ?? (spec.default === undefined ? 'none' : spec.default)}`,
      `env: ${[envName(key), ...(spec.envAliases ?? [])].join(', ')}`,
    ];
    lines.push(`  ${''.padEnd(width)}  (${facts.join('; ')})`);
  });
  lines.push(`  ${'-h, --help'.padEnd(width)}  show this help`, '');
  if (name === 'sim') {
    lines.push(
      'The simulator is a fake GitLab for trying runner-core out: its runner token is printed on purpose.',
      'Control endpoints (POST, JSON) are listed when it starts. It runs until Ctrl-C.',
      '',
    );
  }
  lines.push(...EXIT_CODES, '');
  return lines.join('\n');
}
