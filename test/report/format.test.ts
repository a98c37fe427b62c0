import test from 'ava';
import { avgOfPrinted, fixed, round2, signed, stsTableRow, x100 } from '../../src/report/format.ts';

test('x100 rounds as "%.2f" % (v * 100): 0.78364 -> 78.36', (t) => {
  t.is(x100(0.78364), 78.36);
  t.is(x100(0.888851), 88.89);
  t.is(x100(-0.00001), 0); // no -0
  t.is(fixed(x100(0.8)), '80.00');
});

test('round2 matches Python "%.2f" on exact binary ties and near-ties', (t) => {
  // From CPython: '%.2f' % 0.125 == '0.12', '%.2f' % 0.375 == '0.38', '%.2f' % 2.675 == '2.67',
  // '%.2f' % 78.365 == '78.36' (78.365 is stored just below), '%.2f' % -0.125 == '-0.12'
  t.is(round2(0.125), 0.12);
  t.is(round2(0.375), 0.38);
  t.is(round2(2.675), 2.67);
  t.is(round2(78.365), 78.36);
  t.is(round2(-0.125), -0.12);
  t.is(round2(-0.001), 0);
});

test('Avg is the mean of the printed numbers (paper row: 86.29)', (t) => {
  t.is(avgOfPrinted([78.36, 90.88, 86.28, 89.89, 86.59, 88.89, 83.17]), 86.29);
  t.is(avgOfPrinted([]), null);
});

test('stsTableRow: Avg from printed values, not raw ones', (t) => {
  // printed: 70.01 + six 70.00 -> mean 70.0014 -> 70.00; the raw mean would be 70.0063 -> 70.01
  const labels = ['STS12', 'STS13', 'STS14', 'STS15', 'STS16', 'STS-B', 'SICK-R'];
  const row = stsTableRow(labels.map((label, i) => ({ label, main: i === 0 ? 0.700149 : 0.700049 })));
  t.deepEqual(row, { STS12: 70.01, STS13: 70, STS14: 70, STS15: 70, STS16: 70, 'STS-B': 70, 'SICK-R': 70, Avg: 70 });
});

test('signed deltas', (t) => {
  t.is(signed(1.5), '+1.50');
  t.is(signed(-0.4), '-0.40');
  t.is(signed(0), '0.00');
  t.is(signed(-0.001), '0.00');
  t.is(signed(null), '—');
});
