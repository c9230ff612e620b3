import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseServerDelay } from '@ky-resilience/retry';
import { parseHttpDate, pauseMs } from '../src/retry-after.ts';

const now = Date.UTC(2026, 11, 6, 12, 0, 0);

describe('pause headers: HTTP-dates', () => {
  it('reads the three RFC 9110 forms of an HTTP-date', () => {
    const later = now + 90_000;
    assert.equal(parseHttpDate('Sun, 06 Dec 2026 12:01:30 GMT', now), later);
    assert.equal(parseHttpDate('Sunday, 06-Dec-26 12:01:30 GMT', now), later);
    assert.equal(parseHttpDate('Sun Dec  6 12:01:30 2026', now), later);
    assert.equal(pauseMs(new Headers({ 'retry-after': 'Sun, 06 Dec 2026 12:01:30 GMT' }), now), 90_000);
  });

  it('does not read other date formats that Date.parse would take', () => {
    for (const value of [
      '2026-12-06T12:01:30Z',
      '2026-12-07',
      'December 7, 2026',
      'Sun, 06 Dec 2026 12:01:30 +0000',
      'Sun, 6 Dec 2026 12:01:30 GMT',
      'Wed, 31 Feb 2027 12:01:30 GMT',
    ]) {
      assert.equal(Date.parse(value) > now, true, `Date.parse reads ${value} as later`);
      assert.equal(pauseMs(new Headers({ 'retry-after': value }), now), undefined, value);
    }
    assert.equal(pauseMs(new Headers({ 'retry-after': 'Sun, 06 Dec 2026 24:01:30 GMT' }), now), undefined);
  });

  it('reads every value as @ky-resilience/retry does (same delay, or neither reads it)', () => {
    const values = [
      '0',
      '5',
      ' 7 ',
      '1.5',
      '-3',
      '1e3',
      'soon',
      '',
      String(now / 1000 + 30),
      'Sun, 06 Dec 2026 12:01:30 GMT',
      'Sun, 06 Dec 2026 11:59:00 GMT',
      'Sunday, 06-Dec-26 12:01:30 GMT',
      'Sun Dec  6 12:01:30 2026',
      'Sun, 06 Dec 2026 12:00:00 GMT',
      'Sun, 06 Dec 2026 12:00:00 +0000',
      '2026-12-06T12:01:30Z',
      'Thu, 31 Dec 2026 23:59:60 GMT',
      '99999999999999999999999',
    ];
    const names = [
      'retry-after',
      'ratelimit-reset',
      'x-ratelimit-retry-after',
      'x-ratelimit-reset',
      'x-rate-limit-reset',
    ];
    for (const name of names) {
      for (const value of values) {
        const headers = new Headers({ [name]: value });
        const retry = parseServerDelay(headers, now);
        // The retry tier gives 0 for a zero or past value (retry at once); the limiter does not pause.
        const expected = retry === undefined || retry.delay === 0 ? undefined : retry.delay;
        assert.equal(pauseMs(headers, now), expected, `${name}: ${JSON.stringify(value)}`);
      }
    }
  });
});
