// The package-level half of the dependency rule (Biome's noRestrictedImports is the import-level half):
// a package may only declare the workspace and third-party dependencies its layer allows.
import { readFileSync } from 'node:fs';

const forbidden = {
  core: [
    'axios',
    'tsyringe',
    'reflect-metadata',
    'nock',
    'pino',
    '@runner-core/adapter-http',
    '@runner-core/adapter-fake',
    '@runner-core/app',
  ],
  'adapter-http': ['tsyringe', 'reflect-metadata', '@runner-core/adapter-fake', '@runner-core/app'],
  'adapter-fake': ['axios', 'tsyringe', 'reflect-metadata', '@runner-core/adapter-http', '@runner-core/app'],
  app: [],
};

const problems = [];
for (const [dir, banned] of Object.entries(forbidden)) {
  const manifest = JSON.parse(readFileSync(new URL(`../packages/${dir}/package.json`, import.meta.url), 'utf8'));
  const declared = { ...manifest.dependencies, ...manifest.devDependencies, ...manifest.peerDependencies };
  for (const name of banned) {
    if (name in declared) problems.push(`packages/${dir}/package.json depends on ${name}, which its layer forbids`);
  }
}
if (problems.length > 0) {
  for (const problem of problems) console.error(`dependency rule: ${problem}`);
  process.exit(1);
}
