#!/usr/bin/env node
// Copies the tables of benchmarks/results/<suite>.md into README.md, between
// <!-- bench:<suite> --> and <!-- /bench:<suite> --> markers.
import { readFileSync, writeFileSync } from 'node:fs';

const readmePath = new URL('../README.md', import.meta.url);
let readme = readFileSync(readmePath, 'utf8');
const suites = [...readme.matchAll(/<!-- bench:([\w-]+) -->/g)].map((m) => m[1]);
for (const suite of suites) {
  const result = readFileSync(new URL(`../benchmarks/results/${suite}.md`, import.meta.url), 'utf8');
  const body = result
    .split('\n')
    .slice(1)
    .join('\n')
    .replace(/\]\(\.\//g, '](benchmarks/results/')
    .trim();
  const start = `<!-- bench:${suite} -->`;
  const end = `<!-- /bench:${suite} -->`;
  const from = readme.indexOf(start) + start.length;
  const to = readme.indexOf(end);
  if (to === -1) throw new Error(`README.md has ${start} without ${end}`);
  readme = `${readme.slice(0, from)}\n${body}\n${readme.slice(to)}`;
}
writeFileSync(readmePath, readme);
console.log(`README.md: ${suites.join(', ') || 'no bench markers'}`);
