import { describe, expect, it } from 'vitest';
import type { CliIo } from '../src/cli/cli-io.js';
import { demoCommand } from '../src/commands/demo.command.js';
import { DEMO_SCENARIOS } from '../src/commands/demo-scenarios.js';
import { LogCapture } from './support/scene.js';

describe('runner-core demo', () => {
  it('plays every scenario over real HTTP and ends with a table of expected outcomes', async () => {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const io: CliIo = {
      env: {},
      stdout: (text) => stdout.push(text),
      stderr: (text) => stderr.push(text),
      onSignal: () => () => {},
      logDestination: new LogCapture(),
    };
    const code = await demoCommand({ command: 'demo', logLevel: 'info' }, io);
    const table = stdout.join('');
    expect(code, table + stderr.join('')).toBe(0);
    expect(table).toMatch(/^\nscenario +profile +outcome +mode +strategy +attempts +ms +result\n/);
    const rows = table
      .split('\n')
      .slice(3)
      .filter((line) => /^\S+ +(legacy|two-phase|runner-status) /.test(line))
      .map((line) => line.split(/ +/));
    expect(
      rows.map(([scenario, profile, outcome, mode, , , , result]) => [scenario, profile, outcome, mode, result]),
    ).toEqual([
      ['confirmed', 'two-phase', 'confirmed', 'two-phase', 'ok'],
      ['canceled', 'legacy', 'canceled', 'legacy', 'ok'],
      ['conflict', 'two-phase', 'conflict', 'unknown', 'ok'],
      ['flapping', 'two-phase', 'confirmed', 'unknown', 'ok'],
      ['legacy', 'legacy', 'confirmed', 'legacy', 'ok'],
      ['runner-status', 'runner-status', 'confirmed', 'two-phase', 'ok'],
      ['expired', 'two-phase', 'gone', 'unknown', 'ok'],
    ]);
    expect(table).toContain(`all ${DEMO_SCENARIOS.length} scenarios ended as expected`);
    // One progress line when a scene starts and one when it ends.
    expect(stderr.filter((line) => /^\[\d\/\d\] /.test(line))).toHaveLength(2 * DEMO_SCENARIOS.length);
  }, 60_000);
});
