// NumPy's .npy format (version 1.0) for embeddings: a float32 little-endian matrix, one row per
// sentence. Written by hand because it is a 10-byte prefix and one line of Python-literal header
// (numpy/lib/format.py): magic "\x93NUMPY", version 1.0, header length (uint16 LE), then
// "{'descr': '<f4', 'fortran_order': False, 'shape': (N, D), }" padded with spaces to a multiple of 64
// bytes in all and ended with "\n", then the data in C order.
import { UserError } from '../../errors.ts';

export function npyFloat32(rows: readonly Float32Array[], dim: number): Buffer {
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`npy: dimension ${dim} is not a positive integer`);
  for (const [i, r] of rows.entries()) {
    if (r.length !== dim) throw new UserError(`npy: row ${i} has ${r.length} values, the matrix has ${dim} columns`);
  }
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows.length}, ${dim}), }`;
  const prefix = 10;
  const total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  const header = `${dict}${' '.repeat(total - prefix - dict.length - 1)}\n`;
  if (header.length > 0xffff) throw new Error('npy: header too long for format 1.0');
  const out = Buffer.alloc(total + rows.length * dim * 4);
  out.write('\x93NUMPY', 0, 'latin1');
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, prefix, 'latin1');
  let at = total;
  for (const r of rows) for (const v of r) { out.writeFloatLE(v, at); at += 4; }
  return out;
}
