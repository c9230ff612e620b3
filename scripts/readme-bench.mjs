#!/usr/bin/env node
// Copies the tables of benchmarks/results/<suite>.md into README.md, between
// <!-- bench:<suite> --> and <!-- /bench:<suite> --> markers. A suite whose results file does not
// exist yet is skipped with a note (its markers keep what they held). Then formats README.md with
// the repository's Biome, so that `biome check` stays clean (results files are not formatted).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const readmePath = new URL('../README.md', import.meta.url);
let readme = readFileSync(readmePath, 'utf8');
const suites = [...readme.matchAll(/<!-- bench:([\w-]+) -->/g)].map((m) => m[1]);
const filled = [];
const skipped = [];
for (const suite of suites) {
  const start = `<!-- bench:${suite} -->`;
  const end = `<!-- /bench:${suite} -->`;
  const from = readme.indexOf(start) + start.length;
  const to = readme.indexOf(end, from);
  if (to === -1) throw new Error(`README.md has ${start} without ${end} after it`);
  const resultPath = new URL(`../benchmarks/results/${suite}.md`, import.meta.url);
  if (!existsSync(resultPath)) {
    console.log(`README.md: ${suite}: no benchmarks/results/${suite}.md yet, skipped`);
    skipped.push(suite);
    continue;
  }
  const body = readFileSync(resultPath, 'utf8')
    .split('\n')
    .slice(1)
    .join('\n')
    .replace(/\]\(\.\//g, '](benchmarks/results/')
    .trim();
  readme = `${readme.slice(0, from)}\n${body}\n${readme.slice(to)}`;
  filled.push(suite);
}
writeFileSync(readmePath, readme);
if (suites.length === 0) console.log('README.md: no bench markers');
else
  console.log(
    `README.md: filled ${filled.join(', ') || 'nothing'}${skipped.length ? `; skipped ${skipped.join(', ')}` : ''}`,
  );

const biome = fileURLToPath(new URL('../node_modules/.bin/biome', import.meta.url));
if (existsSync(biome)) {
  execFileSync(biome, ['format', '--write', fileURLToPath(readmePath)], {
    stdio: 'pipe',
  });
  console.log('README.md: formatted with biome');
} else {
  console.log('README.md: biome not installed (run pnpm install), not formatted');
}
