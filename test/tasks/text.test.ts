// Python's str semantics as SentEval uses them; expected values are what CPython 3 returns
// (str.splitlines, str.split, str.strip, float, io.open(encoding='utf8')).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { UserError } from '../../src/errors.ts';
import { fileLines, normalizeSentence, parseGold, pySplit, pyStrip, readUtf8, splitLines } from '../../src/tasks/text.ts';

test('splitLines is str.splitlines()', (t) => {
  // [c for c in map(chr, range(0x110000)) if len(('a' + c + 'b').splitlines()) == 2]
  const breaks = [0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029];
  for (let c = 0; c < 0x3000; c++) t.is(splitLines(`a${String.fromCharCode(c)}b`).length, breaks.includes(c) ? 2 : 1, `U+${c.toString(16)}`);
  t.deepEqual(splitLines('a\r\nb\n'), ['a', 'b']);        // 'a\r\nb\n'.splitlines()
  t.deepEqual(splitLines('a\n\nb\n\n'), ['a', '', 'b', '']);
  t.deepEqual(splitLines('a\n\r'), ['a', '']);
  t.deepEqual(splitLines(''), []);
  t.deepEqual(splitLines('\n'), ['']);
});

test('fileLines is `for line in open(...)`: universal newlines only', (t) => {
  t.deepEqual(fileLines('a\tb\r\nc\rd\ne\x0bf\x85g'), ['a\tb', 'c', 'd', 'e\x0bf\x85g']);
  t.deepEqual(fileLines('x\n'), ['x']);
});

test('pySplit/pyStrip use str.isspace()', (t) => {
  // [hex(i) for i in range(0x110000) if chr(i).isspace()]
  const ws = [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
    0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000];
  for (let c = 0; c < 0x3001; c++) t.is(pySplit(`a${String.fromCharCode(c)}b`).length, ws.includes(c) ? 2 : 1, `U+${c.toString(16)}`);
  t.deepEqual(pySplit('\ufeffa b'), ['\ufeffa', 'b']); // BOM is not whitespace in Python
  t.deepEqual(pySplit('  '), []);
  t.is(pyStrip(' \t a b \r\n'), 'a b');
  t.is(normalizeSentence('  a \t b\u00a0c  '), 'a b c');
});

test('parseGold reads what float() reads, refuses the rest', (t) => {
  t.is(parseGold('3.8', 'f'), 3.8);
  t.is(parseGold('4.26666666666667', 'f'), 4.26666666666667);
  t.is(parseGold(' 5\t', 'f'), 5);
  t.is(parseGold('.5', 'f'), 0.5);
  t.is(parseGold('1_0', 'f'), 10);
  for (const bad of ['', 'x', '0x10', 'nan', 'inf', '1,5']) t.throws(() => parseGold(bad, 'f:3'), { instanceOf: UserError, message: /^f:3: gold score/ });
});

test('readUtf8 is strict and keeps a BOM and C1 controls as text', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bellm-utf8-'));
  writeFileSync(join(dir, 'ok.txt'), Buffer.from([0xef, 0xbb, 0xbf, 0x61, 0xc2, 0x92, 0x62]));
  t.is(readUtf8(join(dir, 'ok.txt')), '\ufeffa\u0092b');
  writeFileSync(join(dir, 'cp1252.txt'), Buffer.from([0x61, 0x92, 0x62])); // a cp1252 quote, invalid UTF-8
  t.throws(() => readUtf8(join(dir, 'cp1252.txt')), { instanceOf: UserError, message: /cp1252\.txt is not valid UTF-8/ });
});
