import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hostOf } from '../src/call.ts';

describe('hostOf (the budget key of a request)', () => {
  const urls = [
    'http://127.0.0.1:8080/',
    'https://Example.COM/a?b=c#d',
    'http://user:p%40ss@host:81/x',
    'http://user@host/path@x',
    'http://[::1]:3000/p',
    'https://bücher.de/x',
    'HTTP://A.b:80/',
    'https://a.b:443?x',
    'http://u@h',
    'http://a/b@c',
    'https://x.y/?q=@z',
    'https://x.y:8443/p/q?r=s@t#u@v',
    'file:///tmp/x',
    'data:text/plain,hi',
  ];
  for (const given of urls) {
    test(`is new URL().host for ${given}`, () => {
      // Serialised by the URL parser, as a Request's url is.
      const url = new URL(given).href;
      assert.equal(hostOf(url), new URL(url).host);
    });
  }

  test('is new URL().host for a string URL not serialised by the parser', () => {
    assert.equal(hostOf('http://u@h'), 'h');
    assert.equal(hostOf('https://a.b?x'), 'a.b');
  });

  test('is empty for what is not a URL', () => {
    assert.equal(hostOf('not a url'), '');
    assert.equal(hostOf(''), '');
  });
});
