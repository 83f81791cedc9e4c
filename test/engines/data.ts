// Shared generators for the preprocess and GPU tests (deterministic, seeded).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Recording } from '../../src/formats/recording.js';

import { mulberry32 as rng } from '../random.js';
export { rng };

/** int16-valued sample-major noise, rows x C, uniform in [-amp, amp] plus a per-channel offset. */
export function noise(rows: number, C: number, amp: number, seed: number, offset = 0): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(rows * C);
  for (let t = 0; t < rows; t++) for (let c = 0; c < C; c++) out[t * C + c] = Math.round((r() * 2 - 1) * amp + offset * (c % 7 - 3));
  return out;
}

/** Noise plus ~1 ms negative spikes of -200..-600 on random channels (int16-valued). */
export function spiky(rows: number, C: number, S: number, seed: number): Float64Array {
  const x = noise(rows, C, 30, seed, 50);
  const r = rng(seed + 1);
  const nSpikes = Math.floor((rows / S) * 0.05 * C) + 3;
  for (let k = 0; k < nSpikes; k++) {
    const t0 = Math.floor(r() * (rows - 2 * S));
    const c = Math.floor(r() * C);
    const amp = 200 + r() * 400;
    for (let j = 0; j < S; j++) {
      const shape = -Math.exp(-((j - S / 3) ** 2) / (S / 8) ** 2) + 0.3 * Math.exp(-((j - S / 1.5) ** 2) / (S / 5) ** 2);
      x[(t0 + j) * C + c] = Math.max(-32768, Math.min(32767, Math.round(x[(t0 + j) * C + c] + amp * shape)));
    }
  }
  return x;
}

export function toInt16(x: Float64Array): Int16Array {
  return Int16Array.from(x);
}

/** Direct convolution (used to build the closed-form kernel independently of the library). */
export function convolve(a: number[], b: number[]): number[] {
  const out = new Array<number>(a.length + b.length - 1).fill(0);
  for (let i = 0; i < a.length; i++) for (let j = 0; j < b.length; j++) out[i + j] += a[i] * b[j];
  return out;
}

/** Closed-form DoG impulse response, centred, length 8w+1 (spec §3 from first principles). */
export function closedFormDog(S: number): number[] {
  const n = Math.floor(S / 9.5);
  const w = Math.floor(S / 4.75);
  const gauss = (k: number): number[] => {
    const box = new Array<number>(2 * k + 1).fill(1);
    let g = [1];
    for (let i = 0; i < 4; i++) g = convolve(g, box);
    return g.map((v) => v / (2 * k + 1) ** 4);
  };
  const gw = gauss(w);
  const gn = gauss(n);
  const shift = 4 * (w - n);
  return gw.map((v, j) => v - (j >= shift && j - shift < gn.length ? gn[j - shift] : 0));
}

export interface TempRecording { rec: Recording; dir: string; cleanup(): void }

/** Writes sample-major values as `dataType` little-endian to a temp file and opens it. */
export function writeRecording(values: ArrayLike<number>, C: number, fs: number, dataType: 'int16' | 'float32' | 'uint8' | 'int32' | 'float64' | 'uint16' | 'int8', header = 0): TempRecording {
  const dir = mkdtempSync(join(tmpdir(), 'spikesift-pre-'));
  const ctor = { int16: Int16Array, float32: Float32Array, uint8: Uint8Array, int32: Int32Array, float64: Float64Array, uint16: Uint16Array, int8: Int8Array }[dataType];
  const arr = ctor.from(values as ArrayLike<number>);
  const bytes = new Uint8Array(header + arr.byteLength);
  bytes.set(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength), header);
  const file = join(dir, 'rec.bin');
  writeFileSync(file, bytes);
  const geometry = Array.from({ length: C }, (_, c) => [(c % 2) * 16, Math.floor(c / 2) * 20]);
  const rec = new Recording({ binaryFile: file, dataType, probeGeometry: geometry, samplingFrequency: fs, header });
  return { rec, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Worst absolute difference of two equally long arrays (a loop: toEqual is slow on big arrays). */
export function worstDiff(a: ArrayLike<number>, b: ArrayLike<number>, offsetB = 0, count = a.length): number {
  let w = 0;
  for (let i = 0; i < count; i++) {
    const d = Math.abs(a[i] - b[offsetB + i]);
    if (d > w || Number.isNaN(d)) w = Number.isNaN(d) ? Infinity : d;
  }
  return w;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
