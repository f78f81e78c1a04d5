#!/usr/bin/env node
// What a user would install: packs every publishable package as `pnpm publish` would (its prepack builds, and pnpm
// rewrites `workspace:` and `catalog:` specifiers and applies `publishConfig`), reads each tarball, then installs them
// all with npm into an empty project and uses them there.
//
// Fails, naming the package and the file, when a tarball
// - holds a test file, a fixture, a benchmark or a soak run;
// - lacks README.md, LICENSE, or a file its `exports`, `main`, `types` or `bin` names;
// - has a bin without the `#!/usr/bin/env node` line or the run bit;
// - has a manifest with a `workspace:` or `catalog:` specifier, or without license, repository.directory,
//   publishConfig.access public, sideEffects or files;
// or when, installed from the tarballs, an export does not import, its types do not resolve, or `runner-core --version`
// does not print the app's version.
//
// Usage: node scripts/check-pack.mjs [--keep] (needs the build: `tsc -b`, which each prepack runs anyway)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const keep = process.argv.includes('--keep');
const work = mkdtempSync(join(tmpdir(), 'runner-core-pack-'));
const problems = [];
const problem = (name, file, what) => problems.push(`${name}: ${file}: ${what}`);

// Test files, fixtures, benchmarks and soak runs, wherever they sit (`testing/` is core's public ./testing export).
const NOT_SHIPPED =
  /(^|\/)(test|tests|__tests__|__fixtures__|fixtures|bench|soak)(\/|$)|\.(test|spec|bench|soak)\.[^/]*$|(^|\/)\.tsbuildinfo$/;
const SPECIFIER_LEAK = /^(workspace|catalog):/;
const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'];

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.error) throw result.error;
  return result;
}

/** The entries of a .tgz: path (without the leading `package/`) → { mode, data }. ustar, with pax and GNU long names. */
function readTarball(path) {
  const tar = gunzipSync(readFileSync(path));
  const entries = new Map();
  let longName;
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const text = (start, length) => header.toString('utf8', start, start + length).replace(/\0.*$/s, '');
    const size = Number.parseInt(text(124, 12).trim() || '0', 8);
    const type = text(156, 1);
    const data = tar.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x' || type === 'L') {
      const value = data.toString('utf8');
      longName = type === 'L' ? value.replace(/\0.*$/s, '') : /(?:^|\n)\d+ path=([^\n]*)\n/.exec(value)?.[1];
      continue;
    }
    const prefix = text(345, 155);
    const name = longName ?? (prefix ? `${prefix}/${text(0, 100)}` : text(0, 100));
    longName = undefined;
    if (type === '0' || type === '') {
      entries.set(name.replace(/^package\//, ''), { mode: Number.parseInt(text(100, 8).trim() || '0', 8), data });
    }
  }
  return entries;
}

/** Every file an `exports` value names (all conditions, all subpaths). */
function exportTargets(value) {
  if (typeof value === 'string') return [value];
  if (value === null || typeof value !== 'object') return [];
  return Object.values(value).flatMap(exportTargets);
}
const relative = (target) => target.replace(/^\.\//, '');

const publishable = readdirSync(join(root, 'packages'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => {
    const dir = join(root, 'packages', entry.name);
    return { folder: entry.name, dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) };
  })
  .filter((pkg) => pkg.manifest.private !== true);

const tarballs = join(work, 'tarballs');
mkdirSync(tarballs);
const packed = [];
for (const { folder, dir, manifest } of publishable) {
  const name = manifest.name;
  const before = new Set(readdirSync(tarballs));
  // NOTE: pnpm lists every file it packs; that output is shown only when packing fails.
  const pack = run('pnpm', ['pack', '--pack-destination', tarballs], { cwd: dir });
  const made = readdirSync(tarballs).filter((file) => !before.has(file));
  if (pack.status !== 0 || made.length !== 1) {
    problem(name, dir, `pnpm pack failed (exit code ${pack.status}):\n${pack.stdout}${pack.stderr}`);
    continue;
  }
  const tarball = join(tarballs, made[0]);
  const entries = readTarball(tarball);
  const files = [...entries.keys()];

  for (const file of files) {
    if (NOT_SHIPPED.test(file)) problem(name, file, 'a test, fixture, benchmark or soak file would be published');
  }
  for (const file of ['package.json', 'README.md', 'LICENSE']) {
    if (!entries.has(file)) problem(name, file, 'missing from the tarball');
  }
  const text = entries.get('package.json')?.data.toString('utf8') ?? '{}';
  const published = JSON.parse(text);
  for (const field of DEPENDENCY_FIELDS) {
    for (const [dependency, spec] of Object.entries(published[field] ?? {})) {
      if (SPECIFIER_LEAK.test(spec))
        problem(name, 'package.json', `${field}.${dependency} is "${spec}" once published`);
    }
  }
  if (/"(workspace|catalog):/.test(text)) problem(name, 'package.json', 'a workspace: or catalog: specifier remains');
  if (published.license !== 'MIT') problem(name, 'package.json', `license is ${published.license}, not MIT`);
  if (published.repository?.directory !== `packages/${folder}`) {
    problem(name, 'package.json', `repository.directory is not packages/${folder}`);
  }
  if (published.publishConfig?.access !== 'public') problem(name, 'package.json', 'publishConfig.access is not public');
  if (published.sideEffects === undefined) problem(name, 'package.json', 'no sideEffects field');
  if (!Array.isArray(published.files)) problem(name, 'package.json', 'no files field');

  const targets = [
    ...exportTargets(published.exports),
    ...['main', 'types', 'typings'].map((field) => published[field]).filter((target) => typeof target === 'string'),
  ];
  if (targets.length === 0) problem(name, 'package.json', 'no entry point (exports, main or types)');
  for (const target of new Set(targets.map(relative))) {
    if (!entries.has(target)) problem(name, target, 'an entry point the manifest names is missing from the tarball');
  }
  const bins = typeof published.bin === 'string' ? { [name]: published.bin } : (published.bin ?? {});
  for (const [command, target] of Object.entries(bins)) {
    const entry = entries.get(relative(target));
    if (entry === undefined) {
      problem(name, relative(target), `the ${command} bin is missing from the tarball`);
      continue;
    }
    if (!entry.data.toString('utf8').startsWith('#!/usr/bin/env node\n')) {
      problem(name, relative(target), `the ${command} bin does not start with #!/usr/bin/env node`);
    }
    if ((entry.mode & 0o111) === 0) {
      problem(name, relative(target), `the ${command} bin lacks the run bit (mode ${entry.mode.toString(8)})`);
    }
    // pnpm pack gives bins the run bit in the tarball by itself; the prepack gives it to the built file too.
    if ((statSync(join(dir, target)).mode & 0o111) === 0) {
      problem(name, relative(target), `the built ${command} bin lacks the run bit: the prepack script sets it`);
    }
  }
  const kilobytes = Math.round(readFileSync(tarball).length / 1024);
  console.log(`check-pack: ${name}@${published.version}: ${files.length} files, ${kilobytes} kB packed`);
  packed.push({ name, tarball, published });
}

// Installed from the tarballs alone (each other's dependency included), as a user's project would have them.
if (packed.length === publishable.length) {
  const project = join(work, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), '{ "name": "pack-check", "private": true, "type": "module" }\n');
  // NOTE: --prefer-offline: the npm cache when it has the third-party packages, the registry otherwise.
  const install = run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', ...packed.map(({ tarball }) => tarball)],
    { cwd: project },
  );
  if (install.status !== 0) {
    problem('npm install', project, `installing the tarballs failed (exit code ${install.status}):\n${install.stderr}`);
  } else {
    const specifiers = packed.flatMap(({ name, published }) =>
      Object.keys(published.exports ?? { '.': null }).map((subpath) =>
        subpath === '.' ? name : `${name}/${subpath.slice(2)}`,
      ),
    );
    for (const specifier of specifiers) {
      const imported = run(
        process.execPath,
        ['--input-type=module', '-e', `await import(${JSON.stringify(specifier)});`],
        {
          cwd: project,
        },
      );
      if (imported.status !== 0) {
        const reason =
          imported.stderr
            .trim()
            .split('\n')
            .find((line) => /Error/.test(line)) ?? imported.stderr.trim();
        problem(specifier, 'import', reason);
      }
    }
    // The types, as a consumer's TypeScript (nodenext) sees them; the declarations are checked too (no skipLibCheck).
    writeFileSync(
      join(project, 'check.ts'),
      `${specifiers.map((specifier, i) => `import * as m${i} from '${specifier}';`).join('\n')}\nexport const all = [${specifiers.map((_, i) => `m${i}`).join(', ')}];\n`,
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'ES2023',
          lib: ['ES2023'],
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(root, 'node_modules/@types')],
        },
        files: ['check.ts'],
      }),
    );
    const types = run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', project], {
      cwd: project,
    });
    if (types.status !== 0) problem('types', 'check.ts', `tsc found errors:\n${types.stdout}${types.stderr}`);

    const app = packed.find(({ published }) => published.bin !== undefined);
    for (const [command] of Object.entries(app?.published.bin ?? {})) {
      const version = run(join(project, 'node_modules/.bin', command), ['--version'], { cwd: project });
      const expected = `${command} ${app.published.version}\n`;
      if (version.status !== 0 || version.stdout !== expected) {
        const got = JSON.stringify(version.stdout || version.stderr);
        problem(
          app.name,
          `bin ${command}`,
          `--version exited ${version.status} printing ${got}, expected ${JSON.stringify(expected)}`,
        );
      } else {
        console.log(
          `check-pack: installed from the tarballs: ${specifiers.length} exports import, their types check, ${version.stdout.trim()}`,
        );
      }
    }
  }
}

if (problems.length > 0) {
  for (const line of problems) console.error(`check-pack: ${line}`);
  console.error(`check-pack: ${problems.length} problem(s); the tarballs and the project are in ${work}`);
  process.exit(1);
}
if (!keep) rmSync(work, { recursive: true, force: true });
