import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { armedSharedTimers, startTimer } from '../src/timer.ts';

const timeouts = armedSharedTimers;

/** The timers under test are unref'd: something must keep the event loop alive while a test waits for them. */
function keepAlive(t: TestContext): void {
  const handle = setInterval(() => {}, 1_000);
  t.after(() => clearInterval(handle));
}

function settled(count: () => number, target: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let tries = 0;
    const check = (): void => {
      if (count() === target) resolve();
      else if (++tries > 400) reject(new Error(`expected ${target}, have ${count()}`));
      else setImmediate(check);
    };
    check();
  });
}

test('timers of one duration share one Node timer, fire in start order, a cleared one never fires', async (t) => {
  keepAlive(t);
  const before = timeouts();
  const fired: string[] = [];
  const started = performance.now();
  const a = startTimer(undefined, 30, () => fired.push('a'));
  const b = startTimer(undefined, 30, () => fired.push('b'));
  const c = startTimer(undefined, 30, () => fired.push('c'));
  assert.equal(timeouts(), before + 1, 'one handle for the three');
  b.clear();
  b.clear();
  await new Promise<void>((resolve) => {
    startTimer(undefined, 30, () => {
      fired.push('d');
      resolve();
    });
  });
  assert.deepEqual(fired, ['a', 'c', 'd']);
  assert.ok(performance.now() - started >= 30, 'never before its duration');
  a.clear();
  c.clear();
  await settled(timeouts, before);
});

test('the shared Node timer is cleared when every timer of the duration is cleared, and armed again after', () => {
  const before = timeouts();
  const fired: string[] = [];
  const first = startTimer(undefined, 600_000, () => fired.push('first'));
  const second = startTimer(undefined, 600_000, () => fired.push('second'));
  assert.equal(timeouts(), before + 1);
  second.clear();
  assert.equal(timeouts(), before + 1);
  first.clear();
  assert.equal(timeouts(), before, 'no handle left behind');
  const again = startTimer(undefined, 600_000, () => fired.push('again'));
  assert.equal(timeouts(), before + 1);
  again.clear();
  assert.equal(timeouts(), before);
  assert.deepEqual(fired, []);
});

test('a timer started by a firing callback, and timers of other durations, run on their own schedule', async (t) => {
  keepAlive(t);
  const fired: string[] = [];
  await new Promise<void>((resolve) => {
    startTimer(undefined, 5, () => {
      fired.push('outer');
      startTimer(undefined, 5, () => {
        fired.push('inner');
        resolve();
      });
    });
    startTimer(undefined, 1, () => fired.push('short'));
  });
  assert.deepEqual(fired, ['short', 'outer', 'inner']);
});

test('a timer started by a firing callback does not delay a pending earlier timer of its duration', async (t) => {
  keepAlive(t);
  const fired: string[] = [];
  await new Promise<void>((resolve) => {
    // a: due at +40. b: started 10 ms later, due at +50, so not yet due when a fires. a's callback
    // starts c (due at +80). A marker of another duration is due at +65: b must fire before it
    // (Node runs timers in deadline order, however late they run).
    startTimer(undefined, 40, () => {
      fired.push('a');
      startTimer(undefined, 40, () => {
        fired.push('c');
        resolve();
      });
    });
    const spinUntil = performance.now() + 10;
    while (performance.now() < spinUntil) {
      // a gap between a's and b's deadlines that no scheduling delay can close
    }
    startTimer(undefined, 40, () => fired.push('b'));
    startTimer(undefined, 55, () => fired.push('marker'));
  });
  assert.deepEqual(fired, ['a', 'b', 'marker', 'c']);
});

test('replaced global timer functions (fake timers) and given timers are used as they are', () => {
  const asked: number[] = [];
  let cleared = 0;
  const timers = {
    setTimeout: (_callback: () => void, ms: number) => {
      asked.push(ms);
      return asked.length;
    },
    clearTimeout: () => {
      cleared += 1;
    },
  };
  startTimer(timers, 50, () => {}).clear();
  const original = globalThis.setTimeout;
  globalThis.setTimeout = ((callback: () => void, ms: number) =>
    timers.setTimeout(callback, ms)) as unknown as typeof globalThis.setTimeout;
  const originalClear = globalThis.clearTimeout;
  globalThis.clearTimeout = (() => timers.clearTimeout()) as typeof globalThis.clearTimeout;
  try {
    startTimer(undefined, 70, () => {}).clear();
  } finally {
    globalThis.setTimeout = original;
    globalThis.clearTimeout = originalClear;
  }
  assert.deepEqual(asked, [50, 70]);
  assert.equal(cleared, 2);
});
