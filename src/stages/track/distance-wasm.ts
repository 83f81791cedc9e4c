/**
 * WebAssembly SIMD version of the linking cost (spec §10): every Euclidean distance between
 * the drift-shifted amplitude vectors of two segments, 13 times per segment pair at the
 * default maxDrift. At 1536 channels this was the largest single cost of a sort on the calling
 * thread (11.5 s of a 60-s recording in plain TypeScript).
 *
 * Bit-identical to the TypeScript definition (assignment.ts `euclideanDistances`): each sum
 * runs over the channels in ascending order in float64, d = a - b of the float32 values
 * promoted to float64, sum += d * d, then sqrt; WebAssembly rounds every f64x2 lane exactly
 * as a scalar float64 operation, and nothing is fused. The two lanes hold two columns of the
 * cost matrix; one row against eight columns keeps four independent sums in flight.
 *
 * The module is assembled from a short instruction list (no toolchain, no binary blob).
 */
import { Code, exportSection, moduleHeader, section, sharedMemorySection, uleb } from '../../core/wasm-assembler.js';

const I32 = 0x7f;
const V128 = 0x7b;
const F64_LOAD = 0x2b;
const SIMD = { load: 0x00, store: 0x0b, f64splat: 0x14, sqrt: 0xef, add: 0xf0, sub: 0xf1, mul: 0xf2 };

// dist(a, k1, b, groups, C, out): a = k1 rows of C f64. b = `groups` groups of eight columns;
// group g holds, for each channel c, four f64x2 pairs (columns 8g+2q at lane 0 and 8g+2q+1 at
// lane 1, q = 0..3): 64 bytes per channel, so the four loads take constant offsets.
// out = k1 rows of 8*groups f64.
const P_A = 0, P_K1 = 1, P_B = 2, P_G = 3, P_C = 4, P_OUT = 5;
const L_I = 6, L_G = 7, L_C = 8, L_PA = 9, L_PB = 10, L_O = 11;
const N_I32 = 6;
const V_X = 12, V_D = 13, V_S0 = 14;
const N_V128 = 6;

function assemble(): Uint8Array {
  const f = new Code();
  const sums = [V_S0, V_S0 + 1, V_S0 + 2, V_S0 + 3];
  f.get(P_OUT).set(L_O);
  f.i32(0).set(L_I);
  f.loop(() => {
    f.get(L_I).get(P_K1).geU().exitIf();
    f.get(P_B).set(L_PB);
    f.i32(0).set(L_G);
    f.loop(() => {
      f.get(L_G).get(P_G).geU().exitIf();
      for (const s of sums) f.simd(0x0c, ...new Array(16).fill(0)).set(s);
      f.get(P_A).get(L_I).get(P_C).mul().i32(3).shl().add().set(L_PA);
      f.i32(0).set(L_C);
      f.loop(() => {
        f.get(L_C).get(P_C).geU().exitIf();
        f.get(L_PA).op(F64_LOAD, 0x03, 0x00).simd(SIMD.f64splat).set(V_X);
        sums.forEach((s, q) => {
          // s += d * d with d = x - b (two columns at once)
          f.get(s).get(V_X).get(L_PB).mem(SIMD.load, 16 * q).simd(SIMD.sub).tee(V_D).get(V_D).simd(SIMD.mul).simd(SIMD.add).set(s);
        });
        f.get(L_PA).i32(8).add().set(L_PA);
        f.get(L_PB).i32(64).add().set(L_PB);
        f.get(L_C).i32(1).add().set(L_C);
      });
      sums.forEach((s, q) => {
        f.get(L_O).get(s).simd(SIMD.sqrt).mem(SIMD.store, 16 * q);
      });
      f.get(L_O).i32(64).add().set(L_O);
      f.get(L_G).i32(1).add().set(L_G);
    });
    f.get(L_I).i32(1).add().set(L_I);
  });

  const out = moduleHeader();
  section(1, [0x01, 0x60, 0x06, I32, I32, I32, I32, I32, I32, 0x00], out); // (i32 x6) -> ()
  section(3, [0x01, 0x00], out);
  sharedMemorySection(out); // one memory, exported and grown from JS
  exportSection([['dist', 0, 0], ['memory', 2, 0]], out);
  const fn: number[] = [0x02, N_I32, I32, N_V128, V128, ...f.b, 0x0b];
  const code: number[] = [];
  uleb(1, code);
  uleb(fn.length, code);
  code.push(...fn);
  section(10, code, out);
  return Uint8Array.from(out);
}

/** The little of WebAssembly used here (the project's lib settings do not declare it). */
interface WasmMemory { readonly buffer: ArrayBuffer; grow(pages: number): number }
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
type DistFn = (a: number, k1: number, b: number, groups: number, C: number, out: number) => void;

let cached: { memory: WasmMemory; dist: DistFn } | null | undefined;

function kernel(): { memory: WasmMemory; dist: DistFn } | null {
  if (cached !== undefined) return cached;
  try {
    if (!WA) throw new Error('no WebAssembly');
    const e = new WA.Instance(new WA.Module(assemble()), {}).exports as { memory: WasmMemory; dist: DistFn };
    cached = { memory: e.memory, dist: e.dist };
  } catch {
    cached = null;
  }
  return cached;
}

/**
 * cost[i * k2 + j] = sqrt(sum_c (a[i, c] - b[j, c])^2) as assignment.ts `euclideanDistances`
 * defines it, bit for bit. Returns false (cost untouched) where WebAssembly SIMD is unavailable.
 */
export function euclideanDistancesWasm(a: Float32Array, k1: number, b: Float32Array, k2: number, C: number, cost: Float64Array): boolean {
  const k = kernel();
  if (k === null) return false;
  const groups = Math.ceil(k2 / 8);
  const aBytes = k1 * C * 8;
  const bBytes = groups * C * 64;
  const outBytes = k1 * groups * 64;
  const need = aBytes + bBytes + outBytes;
  if (need > 2 ** 31) return false;
  const have = k.memory.buffer.byteLength;
  if (need > have) k.memory.grow(Math.ceil((need - have) / 65536));
  const mem = k.memory.buffer;
  packRows(a, new Float64Array(mem, 0, k1 * C));
  packColumns(b, k2, C, new Float64Array(mem, aBytes, groups * C * 8));
  k.dist(0, k1, aBytes, groups, C, aBytes + bBytes);
  const out = new Float64Array(mem, aBytes + bBytes, k1 * groups * 8);
  const row = groups * 8;
  for (let i = 0; i < k1; i++) cost.set(out.subarray(i * row, i * row + k2), i * k2);
  return true;
}

// The two packing loops are functions of their own (see "Code shape" in stages/sort/kernels-cpu.ts).

/** A[i] = a[i] for the first A.length values, in float64. */
function packRows(a: Float32Array, A: Float64Array): void {
  for (let i = 0; i < A.length; i++) A[i] = a[i];
}

/**
 * Column j of b (k2 vectors of C values) into B's group j >> 3, lane pair (j & 7) >> 1, lane
 * j & 1, interleaved by channel; columns past k2 are zero vectors (their distances are computed
 * and dropped).
 */
function packColumns(b: Float32Array, k2: number, C: number, B: Float64Array): void {
  B.fill(0);
  for (let j = 0; j < k2; j++) {
    const g = j >> 3;
    const q = (j & 7) >> 1;
    const lane = j & 1;
    const src = j * C;
    let o = g * C * 8 + 2 * q + lane;
    for (let c = 0; c < C; c++, o += 8) B[o] = b[src + c];
  }
}
