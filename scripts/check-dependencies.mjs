// The package-level half of the dependency rule (Biome's noRestrictedImports is the import-level half):
// a package may only declare the workspace and third-party dependencies its layer allows, and no production
// source file imports the test helpers (`@runner-core/core/testing`, or core's own `testing/` folder).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  // An embedder's program: the core, adapters, and nothing of the command line.
  'examples/embedded-runner': ['tsyringe', 'reflect-metadata', '@runner-core/app'],
};

const problems = [];
for (const [dir, banned] of Object.entries(forbidden)) {
  const manifest = JSON.parse(
    readFileSync(
      new URL(`../${dir.startsWith('examples/') ? dir : `packages/${dir}`}/package.json`, import.meta.url),
      'utf8',
    ),
  );
  const declared = { ...manifest.dependencies, ...manifest.devDependencies, ...manifest.peerDependencies };
  for (const name of banned) {
    if (name in declared) problems.push(`${dir}/package.json depends on ${name}, which its layer forbids`);
  }
}
const root = fileURLToPath(new URL('..', import.meta.url));
const isTestFile = (path) => /\.test\.ts$/.test(path) || path.includes(`${join('core', 'src', 'testing')}`);
function* sourceFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}
const testingImport = /from '(@runner-core\/core\/testing|(?:\.\.?\/)+testing\/[^']*)'/;
for (const dir of Object.keys(forbidden)) {
  for (const path of sourceFiles(join(root, dir.startsWith('examples/') ? dir : join('packages', dir), 'src'))) {
    if (isTestFile(path)) continue;
    const match = testingImport.exec(readFileSync(path, 'utf8'));
    if (match !== null)
      problems.push(`${relative(root, path)} imports ${match[1]}: production code never imports test helpers`);
  }
}

if (problems.length > 0) {
  for (const problem of problems) console.error(`dependency rule: ${problem}`);
  process.exit(1);
}
