#!/usr/bin/env node
import 'reflect-metadata';
import { runCli } from './cli/cli.js';

// The `runner-core` bin. The exit code is set, not forced, so stdout drains; a handle left open by mistake cannot
// keep the process alive for more than a moment (the timer is unref'd, so it never holds the process either).
const code = await runCli(process.argv.slice(2));
process.exitCode = code;
setTimeout(() => process.exit(code), 2_000).unref();
