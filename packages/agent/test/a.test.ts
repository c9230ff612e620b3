import assert from 'node:assert/strict';
import { test } from 'node:test';
import { make } from '../src/index.ts';

test('x', () => {
  assert.ok(make());
});
