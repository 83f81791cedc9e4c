/**
 * WebAssembly SIMD kernels for the power iteration of the clustering (spec §8 step 2): the
 * products of a centred waveform matrix Xc (n rows of dp float32, dp a multiple of 4, rows
 * contiguous) with vectors. These passes were ~60% of the per-segment loop in plain
 * TypeScript; four f32 lanes per instruction make them several times faster.
 *
 * Arithmetic is float32 (as the reference's float32 matrix products): each row product keeps
 * four lane partial sums added as (l0 + l1) + (l2 + l3); the accumulation over rows is per
 * lane and in row order. WebAssembly fixes the rounding of every operation, so results are
 * identical on every machine.
 *
 * The module is assembled below from a short instruction list (no toolchain, no binary blob).
 */

import { Code, moduleHeader, section, sharedMemorySection, str, uleb } from '../../core/wasm-assembler.js';

/** The shared instruction buffer plus the memory instructions these kernels use. */
class Body extends Code {
  /** v128.load / v128.store with alignment 2^4 hint 0 (unaligned allowed) and offset 0. */
  vload(): this { return this.simd(0x00, 0x00, 0x00); }
  vstore(): this { return this.simd(0x0b, 0x00, 0x00); }
  f32load(): this { return this.op(0x2a, 0x02, 0x00); }
  f32store(): this { return this.op(0x38, 0x02, 0x00); }
  vzero(): this { return this.simd(0x0c, ...new Array(16).fill(0)); }
}

const I32 = 0x7f;
const F32X4_ADD = 0xe4;
const F32X4_MUL = 0xe6;
const F32X4_SPLAT = 0x13;
const F32X4_EXTRACT = 0x1f;
const I32_ADD = 0x6a;
const I32_MUL = 0x6c;
const I32_LT_U = 0x49;
const I32_GE_U = 0x4f;
const F32_ADD = 0x92;
const V128 = 0x7b;

// Parameters of every kernel: (xc, n, rowBytes, vec, out); locals: i, k, row, acc (v128) / s (v128).
const P_XC = 0, P_N = 1, P_RB = 2, P_VEC = 3, P_OUT = 4;
const L_I = 5, L_K = 6, L_ROW = 7, L_V = 8;

/** Emits: for (i = 0; i < n; i++) { row = xc + i * rowBytes; body(i) } */
function rowLoop(f: Body, body: () => void): void {
  f.i32(0).set(L_I);
  f.op(0x02, 0x40, 0x03, 0x40); // block loop
  f.get(L_I).get(P_N).op(I32_GE_U, 0x0d, 0x01); // br_if 1 when i >= n
  f.get(P_XC).get(L_I).get(P_RB).op(I32_MUL, I32_ADD).set(L_ROW);
  body();
  f.get(L_I).i32(1).op(I32_ADD).set(L_I);
  f.op(0x0c, 0x00, 0x0b, 0x0b); // br 0, end loop, end block
}

/** Emits: k = 0; do { body } while ((k += 16) < rowBytes) */
function laneLoop(f: Body, body: () => void): void {
  f.i32(0).set(L_K);
  f.op(0x03, 0x40);
  body();
  f.get(L_K).i32(16).op(I32_ADD).set(L_K);
  f.get(L_K).get(P_RB).op(I32_LT_U, 0x0d, 0x00); // br_if 0 while k < rowBytes
  f.op(0x0b);
}

/** acc = sum over lanes of row[k..] * vec[k..]  (local L_V) */
function emitRowDot(f: Body): void {
  f.vzero().set(L_V);
  laneLoop(f, () => {
    f.get(L_V);
    f.get(L_ROW).get(L_K).op(I32_ADD).vload();
    f.get(P_VEC).get(L_K).op(I32_ADD).vload();
    f.simd(F32X4_MUL, 0x01).simd(F32X4_ADD, 0x01).set(L_V);
  });
}

/** Pushes (l0 + l1) + (l2 + l3) of local L_V as an f32. */
function emitLaneSum(f: Body): void {
  f.get(L_V).simd(F32X4_EXTRACT, 0).get(L_V).simd(F32X4_EXTRACT, 1).op(F32_ADD);
  f.get(L_V).simd(F32X4_EXTRACT, 2).get(L_V).simd(F32X4_EXTRACT, 3).op(F32_ADD);
  f.op(F32_ADD);
}

/** out[k] += s * row[k] over the row, s a splatted f32x4 on the stack top-of-local L_V. */
function emitAxpy(f: Body): void {
  laneLoop(f, () => {
    f.get(P_OUT).get(L_K).op(I32_ADD); // address for the store
    f.get(P_OUT).get(L_K).op(I32_ADD).vload();
    f.get(L_V);
    f.get(L_ROW).get(L_K).op(I32_ADD).vload();
    f.simd(F32X4_MUL, 0x01).simd(F32X4_ADD, 0x01).vstore();
  });
}

/** dots: out[i] = xc_i · vec (f32) */
function dotsBody(): Body {
  const f = new Body();
  rowLoop(f, () => {
    f.get(P_OUT).get(L_I).i32(4).op(I32_MUL, I32_ADD);
    emitRowDot(f);
    emitLaneSum(f);
    f.f32store();
  });
  return f;
}

/** axpy: out += sum_i vec[i] * xc_i (vec holds n f32 coefficients; out dp f32, caller zeroes). */
function axpyBody(): Body {
  const f = new Body();
  rowLoop(f, () => {
    f.get(P_VEC).get(L_I).i32(4).op(I32_MUL, I32_ADD).f32load().simd(F32X4_SPLAT).set(L_V);
    emitAxpy(f);
  });
  return f;
}

/** cov: out += sum_i (xc_i · vec) xc_i  (= Xc^T Xc vec; caller zeroes out). */
function covBody(): Body {
  const f = new Body();
  rowLoop(f, () => {
    emitRowDot(f);
    emitLaneSum(f);
    f.simd(F32X4_SPLAT).set(L_V);
    emitAxpy(f);
  });
  return f;
}

function assemble(): Uint8Array {
  const names = ['dots', 'axpy', 'cov'];
  const bodies = [dotsBody(), axpyBody(), covBody()];
  const out = moduleHeader();
  // one type: (i32 x5) -> ()
  section(1, [0x01, 0x60, 0x05, I32, I32, I32, I32, I32, 0x00], out);
  section(3, [bodies.length, ...bodies.map(() => 0)], out);
  sharedMemorySection(out); // one memory, exported and grown from JS
  const exp: number[] = [];
  uleb(bodies.length + 1, exp);
  names.forEach((n, i) => {
    str(n, exp);
    exp.push(0x00, i);
  });
  str('memory', exp);
  exp.push(0x02, 0x00);
  section(7, exp, out);
  const code: number[] = [];
  uleb(bodies.length, code);
  for (const b of bodies) {
    const fn: number[] = [0x02, 0x03, I32, 0x01, V128]; // locals: 3 x i32 (i, k, row), 1 x v128
    fn.push(...b.b, 0x0b);
    uleb(fn.length, code);
    code.push(...fn);
  }
  section(10, code, out);
  return Uint8Array.from(out);
}

type Kernel = (xc: number, n: number, rowBytes: number, vec: number, out: number) => void;

/** The little of WebAssembly used here (the project's lib settings do not declare it). */
interface WasmMemory { readonly buffer: ArrayBuffer; grow(pages: number): number }
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

export interface LinalgKernels {
  memory: WasmMemory;
  /** out[i] = xc_i · vec for n rows. */
  dots: Kernel;
  /** out += sum_i vec[i] * xc_i. */
  axpy: Kernel;
  /** out += sum_i (xc_i · vec) * xc_i. */
  cov: Kernel;
}

let cached: LinalgKernels | null | undefined;

/** The kernels, or null where WebAssembly SIMD is unavailable (then callers use TypeScript loops). */
export function linalgKernels(): LinalgKernels | null {
  if (cached !== undefined) return cached;
  try {
    if (!WA) throw new Error('no WebAssembly');
    const inst = new WA.Instance(new WA.Module(assemble()), {});
    const e = inst.exports as { memory: WasmMemory; dots: Kernel; axpy: Kernel; cov: Kernel };
    cached = { memory: e.memory, dots: e.dots, axpy: e.axpy, cov: e.cov };
  } catch {
    cached = null;
  }
  return cached;
}
