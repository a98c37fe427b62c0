import test from 'ava';
import { createHash } from 'node:crypto';
import { canonicalJson, identityHash, shortHash } from '../../src/experiments/results/identity.ts';

test('canonical JSON sorts keys at every level and keeps array order', (t) => {
  t.is(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } }), '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  t.is(canonicalJson({ a: undefined, b: 2 }), '{"b":2}');
});

test('key order does not change the hash; any value does', (t) => {
  t.is(identityHash({ x: 1, y: 'a' }), identityHash({ y: 'a', x: 1 }));
  t.not(identityHash({ x: 1, y: 'a' }), identityHash({ x: 2, y: 'a' }));
  t.not(identityHash({ k: null }), identityHash({ k: 0 }));
  t.is(identityHash({ x: 1 }), createHash('sha256').update('{"x":1}').digest('hex'));
  t.is(shortHash({ x: 1 }), identityHash({ x: 1 }).slice(0, 8));
  t.is(shortHash({ x: 1 }, 12).length, 12);
});
