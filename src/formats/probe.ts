import * as fs from 'node:fs/promises';
import { decodeNpy } from './npy.js';
import { readSpikeGLXMeta } from './spikeglx.js';

/**
 * Loads probe geometry as C rows of [x, y] (µm) in file channel order from:
 * - .npy: shape (C, 2), any integer or float dtype, C or Fortran order;
 * - probeinterface .json: `probes[*].contact_positions`, reordered by `device_channel_indices`
 *   when present (row i is the contact wired to device channel i; contacts marked -1 are not
 *   wired and are dropped). Several probes are combined in file order, as probeinterface does;
 * - plain JSON: `[[x, y], ...]`.
 * - a SpikeGLX .meta: the saved AP channels in file column order (sync columns left out).
 * The format is recognised by content (the .npy magic, then JSON), so the extension does not
 * matter, except for .meta, which is text of key=value lines.
 */
export async function loadProbe(file: string): Promise<number[][]> {
  if (typeof file !== 'string' || file.length === 0) {
    throw new TypeError(`loadProbe: the probe file path must be a non-empty string, got ${String(file)}`);
  }
  if (/\.meta$/i.test(file)) {
    try {
      return readSpikeGLXMeta(file).positions;
    } catch (e) {
      throw new Error(`probe file ${file}: ${(e as Error).message}`);
    }
  }
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`probe file ${file}: cannot be read (${code === 'ENOENT' ? 'no such file' : code ?? String(e)}); check the path`);
  }
  if (bytes.byteLength >= 6 && bytes[0] === 0x93 && bytes.subarray(1, 6).toString('latin1') === 'NUMPY') {
    return fromNpy(bytes, file);
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new Error(`probe file ${file}: is neither a .npy file nor valid JSON (${(e as Error).message}); ` +
      'expected a (C, 2) .npy array, a probeinterface .json or a JSON list [[x, y], ...]');
  }
  if (Array.isArray(json)) return checkRows(json, file, 'the JSON list');
  if (json !== null && typeof json === 'object' && 'probes' in json) return fromProbeinterface(json as { probes: unknown }, file);
  throw new Error(`probe file ${file}: JSON is neither a list of [x, y] rows nor a probeinterface file (no 'probes' key)`);
}

function fromNpy(bytes: Uint8Array, file: string): number[][] {
  const arr = decodeNpy(bytes, `probe file ${file}`);
  if (arr.fields) throw new Error(`probe file ${file}: is a structured .npy array; expected a plain (C, 2) numeric array`);
  if (arr.dtype === '|b1') throw new Error(`probe file ${file}: has dtype bool; expected numeric (x, y) positions`);
  if (arr.shape.length !== 2 || arr.shape[1] !== 2 || arr.shape[0] < 1) {
    throw new Error(`probe file ${file}: has shape (${arr.shape.join(', ')}); expected (C, 2) with one [x, y] row per channel`);
  }
  const rows: number[][] = [];
  const d = arr.data as unknown as ArrayLike<number | bigint>; // decodeNpy returns C order
  for (let c = 0; c < arr.shape[0]; c++) rows.push([Number(d[2 * c]), Number(d[2 * c + 1])]);
  return checkRows(rows, file, 'the .npy array');
}

function checkRows(rows: unknown[], file: string, what: string): number[][] {
  if (rows.length === 0) throw new Error(`probe file ${file}: ${what} is empty; expected one [x, y] row per channel`);
  return rows.map((row, c) => {
    if (!Array.isArray(row) || row.length !== 2) {
      throw new Error(`probe file ${file}: row ${c} of ${what} is ${Array.isArray(row) ? `of length ${row.length}` : JSON.stringify(row)}; ` +
        'expected [x, y] (C x 2 positions in µm)');
    }
    for (const v of row) {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        const shown = typeof v === 'number' ? String(v) : v === null ? 'null' : JSON.stringify(v);
        throw new Error(`probe file ${file}: row ${c} (channel ${c}) of ${what} has the coordinate ${shown} ([x, y] = [${row.map((x) => (typeof x === 'number' ? String(x) : JSON.stringify(x))).join(', ')}]); every position must be a finite number of µm: fix that row of the probe file`);
      }
    }
    return [row[0] as number, row[1] as number];
  });
}

function fromProbeinterface(json: { probes: unknown }, file: string): number[][] {
  const probes = json.probes;
  if (!Array.isArray(probes) || probes.length === 0) {
    throw new Error(`probe file ${file}: probeinterface 'probes' is ${Array.isArray(probes) ? 'empty' : 'not a list'}; expected at least one probe`);
  }
  const positions: number[][] = [];
  const device: number[] = [];
  let withIndices = 0;
  probes.forEach((probe: unknown, p: number) => {
    if (probe === null || typeof probe !== 'object') throw new Error(`probe file ${file}: probes[${p}] is not an object`);
    const pr = probe as { contact_positions?: unknown; device_channel_indices?: unknown; ndim?: unknown };
    if (!Array.isArray(pr.contact_positions)) {
      throw new Error(`probe file ${file}: probes[${p}] has no 'contact_positions' list`);
    }
    if (pr.ndim !== undefined && pr.ndim !== 2) {
      throw new Error(`probe file ${file}: probes[${p}] has ndim ${JSON.stringify(pr.ndim)}; only 2-D probes (x, y) are supported`);
    }
    const rows = checkRows(pr.contact_positions, file, `probes[${p}].contact_positions`);
    const idx = pr.device_channel_indices;
    if (idx !== undefined && idx !== null) {
      if (!Array.isArray(idx) || idx.length !== rows.length || idx.some((v) => !Number.isSafeInteger(v) || v < -1)) {
        throw new Error(`probe file ${file}: probes[${p}].device_channel_indices must list one integer (>= 0, or -1 for unwired) ` +
          `per contact (${rows.length} contacts)`);
      }
      withIndices++;
      device.push(...(idx as number[]));
    }
    positions.push(...rows);
  });
  if (withIndices === 0) return positions;
  if (withIndices !== probes.length) {
    throw new Error(`probe file ${file}: only some probes have device_channel_indices; wire all probes or none`);
  }
  const wired = device.filter((v) => v >= 0).length;
  const out: (number[] | undefined)[] = new Array(wired);
  for (let k = 0; k < device.length; k++) {
    const ch = device[k];
    if (ch < 0) continue;
    if (ch >= wired) {
      throw new Error(`probe file ${file}: device_channel_indices contains ${ch}, but only ${wired} contacts are wired; ` +
        `the wired indices must be exactly 0..${wired - 1}`);
    }
    if (out[ch] !== undefined) throw new Error(`probe file ${file}: device channel ${ch} is assigned to more than one contact`);
    out[ch] = positions[k];
  }
  if (wired === 0) throw new Error(`probe file ${file}: no contact is wired (all device_channel_indices are -1)`);
  return out as number[][];
}
