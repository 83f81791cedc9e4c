// .npy files written piece by piece (header first, then the data in C order as it is
// produced), so exports of large arrays (templates at 1536 channels, per-spike features) never
// hold the whole array in memory. Also the one object-array file Kilosort folders carry
// (ops.npy, a pickled dict), which SpikeInterface reads for the template timing.

import fs from 'node:fs';

export type NpyDescr = '<f4' | '<f8' | '<i4' | '<i8' | '<u4' | '|O';

/** Version 1.0 header: magic, version, length, the dict padded so data starts at a multiple of 64. */
export function npyHeader(descr: NpyDescr, shape: readonly number[]): Buffer {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${dims}, }`;
  const total = 10 + dict.length + 1;
  dict += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = Buffer.alloc(10 + dict.length);
  out.write('\x93NUMPY', 0, 'latin1');
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(dict.length, 8);
  out.write(dict, 10, 'latin1');
  return out;
}

const ITEM_BYTES: Record<Exclude<NpyDescr, '|O'>, number> = { '<f4': 4, '<f8': 8, '<i4': 4, '<i8': 8, '<u4': 4 };

/** Appends C-order data to a .npy whose shape is known up front; close() checks the count. */
export class NpyWriter {
  private readonly fd: number;
  private written = 0;
  private readonly expected: number;
  private readonly item: number;

  constructor(readonly file: string, descr: Exclude<NpyDescr, '|O'>, readonly shape: readonly number[]) {
    this.item = ITEM_BYTES[descr];
    this.expected = shape.reduce((a, b) => a * b, 1) * this.item;
    this.fd = fs.openSync(file, 'w');
    fs.writeSync(this.fd, npyHeader(descr, shape));
  }

  write(data: ArrayBufferView): void {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let done = 0;
    while (done < bytes.byteLength) done += fs.writeSync(this.fd, bytes, done, bytes.byteLength - done);
    this.written += bytes.byteLength;
  }

  close(): void {
    fs.closeSync(this.fd);
    if (this.written !== this.expected) {
      throw new Error(`${this.file}: wrote ${this.written} data bytes, the header promises ${this.expected} (shape ${this.shape.join('x')})`);
    }
  }
}

/** Pickle (protocol 3) of a 0-d numpy object array holding a dict of integer values, as np.save writes it. */
function pickledIntDict(values: Record<string, number>): Buffer {
  const parts: Buffer[] = [];
  const op = (s: string) => parts.push(Buffer.from(s, 'latin1'));
  const str = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length, 0);
    parts.push(Buffer.from('X', 'latin1'), len, b);
  };
  const int = (v: number) => {
    const b = Buffer.alloc(5);
    b.write('J', 0, 'latin1');
    b.writeInt32LE(v, 1);
    parts.push(b);
  };
  // numpy.core.multiarray (not numpy._core) so that both numpy 1.x and 2.x unpickle it.
  op('\x80\x03cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85C\x01b\x87R(K\x01)cnumpy\ndtype\n');
  str('O8');
  op('\x89\x88\x87R(K\x03');
  str('|');
  op('NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tb\x89]}(');
  for (const [k, v] of Object.entries(values)) {
    str(k);
    int(v);
  }
  op('uatb.');
  return Buffer.concat(parts);
}

/** ops.npy with the Kilosort keys SpikeInterface's read_kilosort_as_analyzer reads (nt0min, nt) and fs. */
export function writeOpsNpy(file: string, values: Record<string, number>): void {
  fs.writeFileSync(file, Buffer.concat([npyHeader('|O', []), pickledIntDict(values)]));
}
