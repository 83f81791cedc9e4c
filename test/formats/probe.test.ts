import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeNpy } from '../../src/formats/npy.js';
import { loadProbe } from '../../src/formats/probe.js';
import { tempDir } from './helpers.js';

const dir = tempDir();
const rows = [[0, 0], [16, 20], [-8.5, 40], [32, 60.25]];
const put = (name: string, content: unknown) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
};

describe('loadProbe', () => {
  it('reads (C, 2) .npy in C order, Fortran order and integer dtypes', async () => {
    const c = path.join(dir, 'c.npy');
    writeNpy(c, new Float64Array(rows.flat()), [4, 2]);
    expect(await loadProbe(c)).toEqual(rows);

    const f = path.join(dir, 'f.npy');
    writeNpy(f, new Float32Array([...rows.map((r) => r[0]), ...rows.map((r) => r[1])]), [4, 2], { fortranOrder: true });
    expect(await loadProbe(f)).toEqual(rows);

    const i = path.join(dir, 'i.npy');
    writeNpy(i, new Int16Array([0, 0, 10, -20, 30, 40]), [3, 2]);
    expect(await loadProbe(i)).toEqual([[0, 0], [10, -20], [30, 40]]);
  });

  it('reads probeinterface JSON, reordered by device_channel_indices', async () => {
    const probe = { ndim: 2, si_units: 'um', contact_positions: rows };
    const plain = put('pi.json', { specification: 'probeinterface', version: '0.2.21', probes: [probe] });
    expect(await loadProbe(plain)).toEqual(rows);

    // Contact k is wired to device channel idx[k]; row i of the result is the contact on channel i.
    const wired = put('wired.json', { probes: [{ ...probe, device_channel_indices: [2, 0, 3, 1] }] });
    expect(await loadProbe(wired)).toEqual([rows[1], rows[3], rows[0], rows[2]]);

    const partly = put('partly.json', { probes: [{ ...probe, device_channel_indices: [1, -1, 0, -1] }] });
    expect(await loadProbe(partly)).toEqual([rows[2], rows[0]]);
  });

  it('reads a plain JSON list whatever the extension', async () => {
    expect(await loadProbe(put('plain.json', rows))).toEqual(rows);
    expect(await loadProbe(put('plain.txt', rows))).toEqual(rows);
  });

  it('names the file and the problem', async () => {
    await expect(loadProbe(path.join(dir, 'absent.json'))).rejects.toThrow(/absent\.json: cannot be read \(no such file\)/);
    const bad = path.join(dir, 'bad.npy');
    writeNpy(bad, new Float32Array(6), [2, 3]);
    await expect(loadProbe(bad)).rejects.toThrow(/bad\.npy: has shape \(2, 3\); expected \(C, 2\)/);
    await expect(loadProbe(put('broken.json', '[[0, 0], '))).rejects.toThrow(/broken\.json: is neither a \.npy file nor valid JSON/);
    await expect(loadProbe(put('row3.json', [[0, 0], [1, 2, 3]]))).rejects.toThrow(/row3\.json: row 1 of the JSON list is of length 3/);
    await expect(loadProbe(put('str.json', [[0, 'a']]))).rejects.toThrow(/str\.json: row 0 \(channel 0\) .* has the coordinate "a" .*finite number of µm/);
    await expect(loadProbe(put('empty.json', []))).rejects.toThrow(/empty\.json: the JSON list is empty/);
    await expect(loadProbe(put('obj.json', { x: 1 }))).rejects.toThrow(/obj\.json: JSON is neither .* \(no 'probes' key\)/);
    await expect(loadProbe(put('nopos.json', { probes: [{}] }))).rejects.toThrow(/nopos\.json: probes\[0\] has no 'contact_positions'/);
    await expect(loadProbe(put('dup.json', { probes: [{ contact_positions: rows, device_channel_indices: [0, 0, 1, 2] }] })))
      .rejects.toThrow(/dup\.json: device channel 0 is assigned to more than one contact/);
    await expect(loadProbe(put('gap.json', { probes: [{ contact_positions: rows, device_channel_indices: [0, 1, 2, 7] }] })))
      .rejects.toThrow(/gap\.json: device_channel_indices contains 7, but only 4 contacts are wired/);
    await expect(loadProbe(put('len.json', { probes: [{ contact_positions: rows, device_channel_indices: [0, 1] }] })))
      .rejects.toThrow(/len\.json: probes\[0\]\.device_channel_indices must list one integer .* \(4 contacts\)/);
    await expect(loadProbe(put('3d.json', { probes: [{ ndim: 3, contact_positions: [[0, 0, 0]] }] })))
      .rejects.toThrow(/3d\.json: probes\[0\] has ndim 3/);
  });
});
