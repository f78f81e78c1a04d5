// Every reference to a document must resolve inside the repository: relative links in Markdown, and the
// `docs/….md` / `ARCHITECTURE.md` paths that comments and tests cite. A citation of a document the repository
// does not hold (`DESIGN §2`, `gitlab-protocol §7`) is refused too.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const skip = new Set(['node_modules', 'dist', '.git', 'coverage']);
// Generated, and not committed: the API reference (`pnpm docs:api`) copies the documents its comments link to.
const generated = new Set([join(root, 'docs', 'api')]);

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (skip.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (generated.has(path)) continue;
    if (entry.isDirectory()) yield* files(path);
    else if (/\.(md|ts|mjs|json)$/.test(entry.name) || entry.name === 'run') yield path;
  }
}

const markdownLink = /\[[^\]]*\]\(([^)\s]+)\)/g;
const cited = /(?<![\w/.-])((?:\.\.\/)*(?:docs\/[\w./-]+\.md|ARCHITECTURE\.md))/g;
const foreign = /\b(DESIGN §|DESIGN\.md|reference\/[\w-]+\.md|(?<!docs\/)gitlab-protocol §|(?<!docs\/)style-anchors)/;

const problems = [];
for (const path of files(root)) {
  if (path === fileURLToPath(import.meta.url)) continue;
  const text = readFileSync(path, 'utf8');
  const where = relative(root, path);
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    const at = `${where}:${index + 1}`;
    if (path.endsWith('.md')) {
      for (const [, target] of line.matchAll(markdownLink)) {
        if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
        const file = target.split('#')[0];
        if (!existsSync(join(dirname(path), file))) problems.push(`${at}: link to ${target}, which does not exist`);
      }
    }
    for (const [, target] of line.matchAll(cited)) {
      const fromRoot = join(root, target.replace(/^(\.\.\/)+/, ''));
      const fromHere = join(dirname(path), target);
      if (!existsSync(fromRoot) && !existsSync(fromHere)) problems.push(`${at}: cites ${target}, which does not exist`);
    }
    const outside = foreign.exec(line);
    if (outside !== null) problems.push(`${at}: cites "${outside[1]}", a document outside the repository`);
  });
}
if (problems.length > 0) {
  for (const problem of problems) console.error(`links: ${problem}`);
  process.exit(1);
}
