import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

// Node does not strip types under node_modules: an installed copy must run compiled JavaScript. In the
// workspace, `bin` and `exports` point at the TypeScript sources; the published manifest (pnpm applies
// `publishConfig` when it packs) must point at what `tsc -b` emits from those same sources.
const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  bin: Record<string, string>;
  files: string[];
  exports: Record<string, { types: string; default: string }>;
  publishConfig: {
    bin: Record<string, string>;
    exports: Record<string, { types: string; default: string }>;
  };
};

function emitted(source: string): string {
  const match = /^\.\/src\/(.+)\.ts$/.exec(source);
  assert.ok(match, `${source} is not a TypeScript file under src/`);
  return `./dist/${match[1]}.js`;
}

test('the published bin runs the compiled CLI, which starts with a shebang', () => {
  assert.deepEqual(Object.keys(manifest.bin), ['ky-resilience-upstream']);
  for (const [name, source] of Object.entries(manifest.bin)) {
    assert.equal(manifest.publishConfig.bin[name], emitted(source), name);
    const text = readFileSync(new URL(`../${source}`, import.meta.url), 'utf8');
    assert.ok(text.startsWith('#!/usr/bin/env node\n'), `${source} starts with a shebang`);
  }
  assert.ok(manifest.files.includes('dist'));
});

test('the published exports point at the compiled entry and its declarations', () => {
  for (const [entry, target] of Object.entries(manifest.exports)) {
    const published = manifest.publishConfig.exports[entry];
    assert.ok(published, entry);
    assert.equal(published.default, emitted(target.default));
    assert.equal(published.types, emitted(target.types).replace(/\.js$/, '.d.ts'));
  }
});
