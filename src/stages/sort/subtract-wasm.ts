/**
 * WebAssembly SIMD version of the subtraction and minima rescan of §7.11-7.12 (kernels-cpu.ts
 * `subtractAndRescan`), for windows that live in a shared WebAssembly memory (core/window.ts
 * `allocateFilteredBuffer` places windows of up to ~4 GiB there).
 *
 * The kernel does the per-sample work: for each spike in order and each affected channel in
 * order, data -= mean window over [s - 2S, s + 2S) (float32 subtraction, as the TypeScript
 * `data[i] -= means[j]` on float32 values rounds), then for each of the blocks m-2..m+2 the
 * first strict minimum and its position, written to `out`. The caller then applies the score
 * and minima updates in the reference order from `out` (subtractAndRescanWasm below), so scores
 * are the same float64 sums in the same order and every value is bit-identical.
 *
 * The minimum of a block: f32x4.min over its samples, then the first sample equal (==) to it;
 * its value is read back from the data, so a -0 / +0 tie resolves to the first of them exactly
 * as the strict `<` scan does. A block with NaN (no sample equals the reduced minimum) takes the
 * strict scalar scan itself.
 *
 * The module is assembled from a short instruction list (no toolchain, no binary blob).
 */
import { Code, exportSection, moduleHeader, section, str, uleb } from '../../core/wasm-assembler.js';
import type { SharedWasmMemory } from '../../core/wasm-memory.js';

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;
const F64 = 0x7c;
const OP = {
  i32load: 0x28, f32load: 0x2a, f64load: 0x2b, i32store: 0x36, f32store: 0x38, f64store: 0x39, f64add: 0xa0, f64sub: 0xa1, promote: 0xbb, divU: 0x6e, f32eq: 0x5b, f32lt: 0x5d, f32min: 0x96, f32sub: 0x93,
  ltU: 0x49, eq: 0x46, ne: 0x47, select: 0x1b, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d, block: 0x02,
};
const SIMD = { load: 0x00, store: 0x0b, f32sub: 0xe5, f32min: 0xe8, extract: 0x1f, shuffle: 0x0d };

// sub(data, C, spikes, n, affected, A, means, minValT, minPosT, M, minVal, minPos, thr, score):
// byte pointers into the shared memory (score: float64), C and M counts.
const P_DATA = 0, P_C = 1, P_SPK = 2, P_N = 3, P_AFF = 4, P_A = 5, P_MEANS = 6, P_VT = 7, P_PT = 8, P_M = 9, P_MVJ = 10, P_MPJ = 11, P_THR = 12, P_SCORE = 13;
const N_PARAMS = 14;
const L_I = 14, L_A = 15, L_S0 = 16, L_M = 17, L_OFF = 18, L_BLK = 19, L_MPTR = 20, L_P = 21, L_Q = 22, L_CNT = 23, L_T = 24, L_CH = 25, L_ROW = 26, L_ADDR = 27, L_TI = 28, L_JI = 29;
const N_I32 = 16;
const L_MV = 30, L_V = 31, L_TC = 32, L_OLD = 33;
const N_F32 = 4;
const L_SC = 34;
const N_F64 = 1;
const V_X = 35;
const N_V128 = 1;

/** s0 = spikes[i] (i32 at byte spikes + 4i); m = s0 / S, its ms block; off = s0 - m*S. */
function spikeBlock(f: Code, S: number, spikes: number, i: number, s0: number, m: number, off: number): void {
  f.get(spikes).get(i).i32(2).shl().add().memOp(OP.i32load).set(s0);
  f.get(s0).i32(S).op(OP.divU).set(m);
  f.get(s0).get(m).i32(S).mul().sub().set(off);
}

function assemble(S: number): Uint8Array {
  const f = new Code();
  const mem = (op: number, offset = 0, align = 2): Code => f.memOp(op, offset, align);
  const f32 = (v: number): Code => { f.b.push(0x43); const b = new Uint8Array(new Float32Array([v]).buffer); f.b.push(...b); return f; };
  // row = C * S * 4: bytes between one channel's consecutive ms blocks
  f.get(P_C).i32(S * 4).mul().set(L_ROW);
  f.i32(0).set(L_I);
  f.loop(() => {
    f.get(L_I).get(P_N).geU().exitIf();
    spikeBlock(f, S, P_SPK, L_I, L_S0, L_M, L_OFF);
    f.i32(0).set(L_A);
    f.loop(() => {
      f.get(L_A).get(P_A).geU().exitIf();
      // blk = data + ((m - 2) * C + c) * S * 4, c = affected[a]
      f.get(P_AFF).get(L_A).i32(2).shl().add(); mem(OP.i32load); f.set(L_CH);
      f.get(L_M).i32(2).sub().get(P_C).mul().get(L_CH).add().i32(S * 4).mul().get(P_DATA).add().set(L_BLK);
      // tc = thr[c]; sc = score[c]
      f.get(P_THR).get(L_CH).i32(2).shl().add(); mem(OP.f32load); f.set(L_TC);
      f.get(P_SCORE).get(L_CH).i32(3).shl().add(); mem(OP.f64load, 0, 3); f.set(L_SC);
      f.get(P_MEANS).get(L_A).i32(4 * S * 4).mul().add().set(L_MPTR);
      // The window's five runs: block k, samples [lo, hi): k = 0 from off, k = 4 up to off.
      for (let k = 0; k < 5; k++) {
        // p = blk + k*row + lo*4; q = means + (k*S + lo - off)*4; cnt = hi - lo
        f.get(L_BLK).get(L_ROW).i32(k).mul().add();
        if (k === 0) f.get(L_OFF).i32(2).shl().add();
        f.set(L_P);
        f.get(L_MPTR);
        if (k === 0) f.i32(0);
        else f.i32(k * S * 4).get(L_OFF).i32(2).shl().sub();
        f.add().set(L_Q);
        if (k === 0) f.i32(S).get(L_OFF).sub().set(L_CNT);
        else if (k === 4) f.get(L_OFF).set(L_CNT);
        else f.i32(S).set(L_CNT);
        f.loop(() => {
          f.get(L_CNT).i32(4).op(OP.ltU).exitIf();
          f.get(L_P).get(L_P).mem(SIMD.load, 0).get(L_Q).mem(SIMD.load, 0).simd(SIMD.f32sub).mem(SIMD.store, 0);
          f.get(L_P).i32(16).add().set(L_P);
          f.get(L_Q).i32(16).add().set(L_Q);
          f.get(L_CNT).i32(4).sub().set(L_CNT);
        });
        f.loop(() => {
          f.get(L_CNT).op(0x45).exitIf();
          f.get(L_P).get(L_P); mem(OP.f32load); f.get(L_Q); mem(OP.f32load); f.op(OP.f32sub); mem(OP.f32store);
          f.get(L_P).i32(4).add().set(L_P);
          f.get(L_Q).i32(4).add().set(L_Q);
          f.get(L_CNT).i32(1).sub().set(L_CNT);
        });
      }
      // Rescan blocks m-2..m+2.
      for (let k = 0; k < 5; k++) {
        f.get(L_BLK).get(L_ROW).i32(k).mul().add().set(L_ADDR);
        const nv = Math.floor(S / 4);
        if (nv > 0) {
          f.get(L_ADDR).mem(SIMD.load, 0).set(V_X);
          for (let j = 1; j < nv; j++) f.get(V_X).get(L_ADDR).mem(SIMD.load, 16 * j).simd(SIMD.f32min).set(V_X);
          f.get(V_X).simd(SIMD.extract, 0);
          for (let l = 1; l < 4; l++) f.get(V_X).simd(SIMD.extract, l).op(OP.f32min);
          for (let t = 4 * nv; t < S; t++) { f.get(L_ADDR); mem(OP.f32load, 4 * t); f.op(OP.f32min); }
        } else {
          f.get(L_ADDR); mem(OP.f32load, 0);
          for (let t = 1; t < S; t++) { f.get(L_ADDR); mem(OP.f32load, 4 * t); f.op(OP.f32min); }
        }
        f.set(L_V);
        // t = first sample equal to the minimum (S when none: a NaN in the block): four at a
        // time (f32x4.eq, bitmask, count trailing zeros), then the tail.
        f.get(L_V).simd(0x13).set(V_X);   // f32x4.splat
        f.i32(S).set(L_T);
        f.op(OP.block, 0x40);
        for (let j = 0; j < nv; j++) {
          f.get(L_ADDR).mem(SIMD.load, 16 * j).get(V_X).simd(0x41).simd(0xa4).tee(L_CNT);   // f32x4.eq, i32x4.bitmask
          f.op(OP.if, 0x40);
          f.get(L_CNT).op(0x68).i32(4 * j).add().set(L_T);   // i32.ctz
          f.op(OP.br, 1);
          f.op(OP.end);
        }
        for (let t = 4 * nv; t < S; t++) {
          f.get(L_ADDR); mem(OP.f32load, 4 * t); f.get(L_V).op(OP.f32eq);
          f.op(OP.if, 0x40);
          f.i32(t).set(L_T);
          f.op(OP.br, 1);
          f.op(OP.end);
        }
        f.op(OP.end);
        f.get(L_T).i32(S).op(OP.eq);
        f.op(OP.if, 0x40);
        {
          // The strict scan: mv = x[0]; x[t] < mv takes t.
          f.get(L_ADDR); mem(OP.f32load); f.set(L_MV);
          f.i32(0).set(L_T);
          f.i32(1).set(L_CNT);
          f.loop(() => {
            f.get(L_CNT).i32(S).geU().exitIf();
            f.get(L_ADDR).get(L_CNT).i32(2).shl().add(); mem(OP.f32load); f.set(L_V);
            f.get(L_V).get(L_MV).op(OP.f32lt);
            f.op(OP.if, 0x40);
            f.get(L_V).set(L_MV);
            f.get(L_CNT).set(L_T);
            f.op(OP.end);
            f.get(L_CNT).i32(1).add().set(L_CNT);
          });
        }
        f.op(OP.else);
        f.get(L_ADDR).get(L_T).i32(2).shl().add(); mem(OP.f32load); f.set(L_MV);
        f.op(OP.end);
        // Block b = m - 2 + k of channel c: its old contribution out, the new minimum in, as
        // the TypeScript definition does (f32 differences, f64 score).
        // ti = (c*M + b) * 4 (transposed rows), ji = (b*C + c) * 4 (ms-major minima)
        f.get(L_CH).get(P_M).mul().get(L_M).add().i32(k - 2).add().i32(2).shl().set(L_TI);
        f.get(L_M).i32(k - 2).add().get(P_C).mul().get(L_CH).add().i32(2).shl().set(L_JI);
        f.get(P_VT).get(L_TI).add(); mem(OP.f32load); f.get(L_TC).op(OP.f32sub).tee(L_OLD);
        f32(0).op(OP.f32lt);
        f.op(OP.if, 0x40);
        f.get(L_SC).get(L_OLD).op(OP.promote).op(OP.f64sub).set(L_SC);
        f.op(OP.end);
        f.get(P_VT).get(L_TI).add().get(L_MV); mem(OP.f32store);
        f.get(P_PT).get(L_TI).add().get(L_T); mem(OP.i32store);
        f.get(P_MVJ).get(L_JI).add().get(L_MV); mem(OP.f32store);
        f.get(P_MPJ).get(L_JI).add().get(L_T); mem(OP.i32store);
        f.get(L_MV).get(L_TC).op(OP.f32sub).tee(L_OLD);
        f32(0).op(OP.f32lt);
        f.op(OP.if, 0x40);
        f.get(L_SC).get(L_OLD).op(OP.promote).op(OP.f64add).set(L_SC);
        f.op(OP.end);
      }
      f.get(P_SCORE).get(L_CH).i32(3).shl().add().get(L_SC); mem(OP.f64store, 0, 3);
      f.get(L_A).i32(1).add().set(L_A);
    });
    f.get(L_I).i32(1).add().set(L_I);
  });

  const g = assembleMean(S);
  const h = assembleTranspose();
  const out = moduleHeader();
  // types: 0 = sub (14 x i32), 1 = mean (7 x i32), 2 = transpose (8 x i32)
  section(1, [0x03, 0x60, N_PARAMS, ...new Array(N_PARAMS).fill(I32), 0x00, 0x60, M_PARAMS, ...new Array(M_PARAMS).fill(I32), 0x00,
    0x60, T_PARAMS, ...new Array(T_PARAMS).fill(I32), 0x00], out);
  // import env.memory: shared, min 1 page, max 65536 pages
  const imp: number[] = [];
  uleb(1, imp);
  str('env', imp);
  str('memory', imp);
  imp.push(0x02, 0x03);
  uleb(1, imp);
  uleb(65536, imp);
  section(2, imp, out);
  section(3, [0x03, 0x00, 0x01, 0x02], out);
  exportSection([['sub', 0, 0], ['mean', 0, 1], ['transpose', 0, 2]], out);
  const fn: number[] = [0x04, N_I32, I32, N_F32, F32, N_F64, F64, N_V128, V128, ...f.b, 0x0b];
  const fm: number[] = [0x01, M_N_I32, I32, ...g.b, 0x0b];
  const ft: number[] = [0x02, T_N_I32, I32, T_N_V128, V128, ...h.b, 0x0b];
  const code: number[] = [];
  uleb(3, code);
  for (const body of [fn, fm, ft]) {
    uleb(body.length, code);
    code.push(...body);
  }
  section(10, code, out);
  return new Uint8Array(out);
}

// mean(data, C, spikes, n, affected, A, acc): acc[a*4S + q] += data at sample s - 2S + q of
// channel affected[a], spikes in order, in float64 (acc holds A*4S f64, zeroed by the caller).
const M_DATA = 0, M_C = 1, M_SPK = 2, M_N = 3, M_AFF = 4, M_A = 5, M_ACC = 6;
const M_PARAMS = 7;
const ML_I = 7, ML_A = 8, ML_S0 = 9, ML_M = 10, ML_OFF = 11, ML_BLK = 12, ML_ROW = 13, ML_P = 14, ML_Q = 15, ML_CNT = 16;
const M_N_I32 = 10;

function assembleMean(S: number): Code {
  const f = new Code();
  const mem = (op: number, offset = 0, align = 2): Code => f.memOp(op, offset, align);
  f.get(M_C).i32(S * 4).mul().set(ML_ROW);
  f.i32(0).set(ML_I);
  f.loop(() => {
    f.get(ML_I).get(M_N).geU().exitIf();
    spikeBlock(f, S, M_SPK, ML_I, ML_S0, ML_M, ML_OFF);
    f.i32(0).set(ML_A);
    f.loop(() => {
      f.get(ML_A).get(M_A).geU().exitIf();
      f.get(ML_M).i32(2).sub().get(M_C).mul();
      f.get(M_AFF).get(ML_A).i32(2).shl().add(); mem(OP.i32load);
      f.add().i32(S * 4).mul().get(M_DATA).add().set(ML_BLK);
      for (let k = 0; k < 5; k++) {
        // p = blk + k*row + lo*4 (data), q = acc + (a*4S + k*S + lo - off)*8, cnt = hi - lo
        f.get(ML_BLK).get(ML_ROW).i32(k).mul().add();
        if (k === 0) f.get(ML_OFF).i32(2).shl().add();
        f.set(ML_P);
        f.get(M_ACC).get(ML_A).i32(4 * S * 8).mul().add();
        if (k > 0) f.i32(k * S * 8).get(ML_OFF).i32(3).shl().sub().add();
        f.set(ML_Q);
        if (k === 0) f.i32(S).get(ML_OFF).sub().set(ML_CNT);
        else if (k === 4) f.get(ML_OFF).set(ML_CNT);
        else f.i32(S).set(ML_CNT);
        f.loop(() => {
          f.get(ML_CNT).i32(2).op(OP.ltU).exitIf();
          // acc[q..q+1] += promote(data[p..p+1])
          f.get(ML_Q).get(ML_Q).mem(SIMD.load, 0).get(ML_P).mem(0x5d, 0).simd(0x5f).simd(0xf0).mem(SIMD.store, 0);
          f.get(ML_P).i32(8).add().set(ML_P);
          f.get(ML_Q).i32(16).add().set(ML_Q);
          f.get(ML_CNT).i32(2).sub().set(ML_CNT);
        });
        f.get(ML_CNT);
        f.op(OP.if, 0x40);
        f.get(ML_Q).get(ML_Q); mem(OP.f64load, 0, 3); f.get(ML_P); mem(OP.f32load); f.op(OP.promote).op(OP.f64add); mem(OP.f64store, 0, 3);
        f.op(OP.end);
      }
      f.get(ML_A).i32(1).add().set(ML_A);
    });
    f.get(ML_I).i32(1).add().set(ML_I);
  });
  return f;
}

// transpose(mv, mp, M, C, vt, pt, M4, C4): vt[c*M + m] = mv[m*C + c] and pt alike (4-byte
// values, bits moved as they are) for m < M4, c < C4 (multiples of 4), in tiles of TILE x TILE,
// each tile in 4 x 4 blocks: four rows' v128 at channels c..c+3, transposed by shuffles, stored
// as four columns' v128 at ms m..m+3.
const T_MV = 0, T_MP = 1, T_M = 2, T_C = 3, T_VT = 4, T_PT = 5, T_M4 = 6, T_C4 = 7;
const T_PARAMS = 8;
const TL_M0 = 8, TL_C0 = 9, TL_M1 = 10, TL_C1 = 11, TL_M = 12, TL_C = 13, TL_SRC = 14, TL_DST = 15, TL_ROWB = 16, TL_COLB = 17;
const T_N_I32 = 10;
const TV_R0 = 18;
const T_N_V128 = 8;
const TILE = 64;

function assembleTranspose(): Code {
  const f = new Code();
  // 32-bit lanes i of the first operand, j + 4 of the second, as byte indices.
  const lanes = (...l: number[]): number[] => l.flatMap((x) => [4 * x, 4 * x + 1, 4 * x + 2, 4 * x + 3]);
  f.get(T_C).i32(2).shl().set(TL_ROWB);    // bytes per ms row of the ms-major arrays
  f.get(T_M).i32(2).shl().set(TL_COLB);    // bytes per channel row of the transposed ones
  const block = (src: number, dst: number): void => {
    // r[k] = src + ((m + k) * C + c) * 4
    f.get(src).get(TL_M).get(T_C).mul().get(TL_C).add().i32(2).shl().add().set(TL_SRC);
    for (let k = 0; k < 4; k++) f.get(TL_SRC).get(TL_ROWB).i32(k).mul().add().mem(SIMD.load, 0).set(TV_R0 + k);
    // t0 = a0 b0 a1 b1, t1 = a2 b2 a3 b3, t2 = c0 d0 c1 d1, t3 = c2 d2 c3 d3 (in TV_R0 + 4..7)
    f.get(TV_R0).get(TV_R0 + 1).simd(SIMD.shuffle, ...lanes(0, 4, 1, 5)).set(TV_R0 + 4);
    f.get(TV_R0).get(TV_R0 + 1).simd(SIMD.shuffle, ...lanes(2, 6, 3, 7)).set(TV_R0 + 5);
    f.get(TV_R0 + 2).get(TV_R0 + 3).simd(SIMD.shuffle, ...lanes(0, 4, 1, 5)).set(TV_R0 + 6);
    f.get(TV_R0 + 2).get(TV_R0 + 3).simd(SIMD.shuffle, ...lanes(2, 6, 3, 7)).set(TV_R0 + 7);
    // column k of the block = channel c + k at ms m..m+3: dst + ((c + k) * M + m) * 4
    f.get(dst).get(TL_C).get(T_M).mul().get(TL_M).add().i32(2).shl().add().set(TL_DST);
    const cols: [number, number, number[]][] = [[4, 6, lanes(0, 1, 4, 5)], [4, 6, lanes(2, 3, 6, 7)], [5, 7, lanes(0, 1, 4, 5)], [5, 7, lanes(2, 3, 6, 7)]];
    cols.forEach(([a, b, sel], k) => {
      f.get(TL_DST).get(TL_COLB).i32(k).mul().add();
      f.get(TV_R0 + a).get(TV_R0 + b).simd(SIMD.shuffle, ...sel);
      f.mem(SIMD.store, 0);
    });
  };
  const upTo = (x: number, step: number, end: number, out: number): void => {
    // out = min(x + step, end)
    f.get(x).i32(step).add().get(end).get(x).i32(step).add().get(end).op(OP.ltU).op(OP.select).set(out);
  };
  f.i32(0).set(TL_M0);
  f.loop(() => {
    f.get(TL_M0).get(T_M4).geU().exitIf();
    upTo(TL_M0, TILE, T_M4, TL_M1);
    f.i32(0).set(TL_C0);
    f.loop(() => {
      f.get(TL_C0).get(T_C4).geU().exitIf();
      upTo(TL_C0, TILE, T_C4, TL_C1);
      f.get(TL_C0).set(TL_C);
      f.loop(() => {
        f.get(TL_C).get(TL_C1).geU().exitIf();
        f.get(TL_M0).set(TL_M);
        f.loop(() => {
          f.get(TL_M).get(TL_M1).geU().exitIf();
          block(T_MV, T_VT);
          block(T_MP, T_PT);
          f.get(TL_M).i32(4).add().set(TL_M);
        });
        f.get(TL_C).i32(4).add().set(TL_C);
      });
      f.get(TL_C0).i32(TILE).add().set(TL_C0);
    });
    f.get(TL_M0).i32(TILE).add().set(TL_M0);
  });
  return f;
}

// The project's lib settings do not declare WebAssembly; the little used here:
type WasmModule = object;
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

type SubKernel = (data: number, C: number, spikes: number, n: number, affected: number, A: number, means: number,
  minValT: number, minPosT: number, M: number, minVal: number, minPos: number, thr: number, score: number) => void;

type MeanKernel = (data: number, C: number, spikes: number, n: number, affected: number, A: number, acc: number) => void;
type TransposeKernel = (mv: number, mp: number, M: number, C: number, vt: number, pt: number, M4: number, C4: number) => void;
interface Kernels { sub: SubKernel; mean: MeanKernel; transpose: TransposeKernel }

const modules = new Map<number, WasmModule | null>();
const instances = new WeakMap<SharedWasmMemory, Map<number, Kernels>>();

/** The kernels for windows in `memory` at S samples per ms, or null without WebAssembly SIMD. */
function kernelsFor(memory: SharedWasmMemory, S: number): Kernels | null {
  let perMemory = instances.get(memory);
  if (!perMemory) {
    perMemory = new Map();
    instances.set(memory, perMemory);
  }
  let k = perMemory.get(S);
  if (k) return k;
  let m = modules.get(S);
  if (m === undefined) {
    try {
      if (!WA) throw new Error('no WebAssembly');
      m = new WA.Module(assemble(S));
    } catch {
      m = null;
    }
    modules.set(S, m);
  }
  if (!m) return null;
  const ex = new WA!.Instance(m, { env: { memory } }).exports;
  k = { sub: ex.sub as SubKernel, mean: ex.mean as MeanKernel, transpose: ex.transpose as TransposeKernel };
  perMemory.set(S, k);
  return k;
}

/**
 * Whether `buf` is `memory`'s buffer: the same object, or another SharedArrayBuffer on the same
 * bytes. V8 replaces the buffer objects of every shared memory of a thread whenever any shared
 * memory of the process grows, so views made before (a window's arrays) hold an older object:
 * comparing objects alone sent every subtraction of a sort to the TypeScript path once the
 * kernels' own memories were shared. The byte at `probe` (free scratch of the memory) is
 * written through one and read through the other.
 */
function viewsMemory(buf: ArrayBufferLike, memory: SharedWasmMemory, probe: number): boolean {
  const mem = memory.buffer;
  if (buf === mem) return true;
  if (!(buf instanceof SharedArrayBuffer) || buf.byteLength <= probe || mem.byteLength <= probe) return false;
  const a = new Uint8Array(buf, probe, 1);
  const b = new Uint8Array(mem, probe, 1);
  const keep = b[0];
  a[0] = keep ^ 0xa5;
  const same = b[0] === (keep ^ 0xa5);
  a[0] = keep;
  return same;
}

/** The subtraction kernel (exported for benchmarks). */
export function subtractKernel(memory: SharedWasmMemory, S: number): SubKernel | null {
  return kernelsFor(memory, S)?.sub ?? null;
}

/**
 * subtractAndRescan (kernels-cpu.ts) in WebAssembly: `buf.data`, `buf.minVal`, `buf.minPos`
 * and the transposed rows must be views of `memory`, and [scratch, scratch + scratchBytes) of
 * it free for the kernel's inputs. Returns false (nothing done) when the kernel is unavailable
 * or the arrays are elsewhere; the caller then runs the TypeScript definition.
 */
export function subtractAndRescanWasm(memory: SharedWasmMemory, scratch: number, scratchBytes: number,
  seg: { buf: { numChannels: number; samplesPerMs: number; data: Float32Array; minVal: Float32Array; minPos: Int32Array }; numMs: number; minValT: Float32Array; minPosT: Int32Array },
  spikes: Int32Array, affected: Int32Array, means: Float32Array, thr: Float32Array, score: Float64Array): boolean {
  const { buf, numMs: M, minValT, minPosT } = seg;
  const C = buf.numChannels;
  const S = buf.samplesPerMs;
  const mem = memory.buffer;
  if (scratchBytes <= 0) return false;
  for (const a of [buf.data, buf.minVal, buf.minPos, minValT, minPosT]) if (!viewsMemory(a.buffer, memory, scratch)) return false;
  const kernel = kernelsFor(memory, S)?.sub;
  if (!kernel) return false;
  const A = affected.length;
  const n = spikes.length;
  checkSpans('subtractAndRescan', spikes, affected, M, S, C);
  if (n === 0 || A === 0) return true;
  // Scratch: [score C f64][thr C][affected A][means A*4S][spikes n]
  const scorePtr = Math.ceil(scratch / 8) * 8;
  const thrPtr = scorePtr + C * 8;
  const affPtr = thrPtr + C * 4;
  const meansPtr = affPtr + A * 4;
  const spkPtr = meansPtr + A * 4 * S * 4;
  const batch = Math.floor((scratch + scratchBytes - spkPtr) / 4);
  if (batch < 1) return false;
  const sc = new Float64Array(mem, scorePtr, C);
  sc.set(score);
  new Float32Array(mem, thrPtr, C).set(thr);
  new Int32Array(mem, affPtr, A).set(affected);
  new Float32Array(mem, meansPtr, A * 4 * S).set(means);
  for (let i0 = 0; i0 < n; i0 += batch) {
    const nb = Math.min(batch, n - i0);
    new Int32Array(mem, spkPtr, nb).set(spikes.subarray(i0, i0 + nb));
    kernel(buf.data.byteOffset, C, spkPtr, nb, affPtr, A, meansPtr, minValT.byteOffset, minPosT.byteOffset, M,
      buf.minVal.byteOffset, buf.minPos.byteOffset, thrPtr, scorePtr);
  }
  score.set(sc);
  return true;
}

/**
 * meanWindows (kernels-cpu.ts) in WebAssembly for a window in `memory`: the same float64 sums
 * in the same order (spikes ascending), divided and rounded to float32 alike. Null when the
 * kernel is unavailable or the data is elsewhere (the caller then runs the TypeScript one).
 */
export function meanWindowsWasm(memory: SharedWasmMemory, scratch: number, scratchBytes: number,
  buf: { numChannels: number; samplesPerMs: number; data: Float32Array }, spikes: Int32Array, affected: Int32Array): Float32Array | null {
  const C = buf.numChannels;
  const S = buf.samplesPerMs;
  const mem = memory.buffer;
  if (scratchBytes <= 0 || !viewsMemory(buf.data.buffer, memory, scratch)) return null;
  const kernel = kernelsFor(memory, S)?.mean;
  if (!kernel) return null;
  const A = affected.length;
  const W = 4 * S;
  const n = spikes.length;
  checkSpans('meanWindows', spikes, affected, buf.data.length / (C * S), S, C);
  const means = new Float32Array(A * W);
  if (n === 0 || A === 0) return means;
  // Scratch: [acc A*4S f64][affected A][spikes batch]
  const accPtr = Math.ceil(scratch / 8) * 8;
  const affPtr = accPtr + A * W * 8;
  const spkPtr = affPtr + A * 4;
  const batch = Math.floor((scratch + scratchBytes - spkPtr) / 4);
  if (batch < 1) return null;
  const acc = new Float64Array(mem, accPtr, A * W);
  acc.fill(0);
  new Int32Array(mem, affPtr, A).set(affected);
  for (let i0 = 0; i0 < n; i0 += batch) {
    const nb = Math.min(batch, n - i0);
    new Int32Array(mem, spkPtr, nb).set(spikes.subarray(i0, i0 + nb));
    kernel(buf.data.byteOffset, C, spkPtr, nb, affPtr, A, accPtr);
  }
  for (let k = 0; k < A * W; k++) means[k] = acc[k] / n;
  return means;
}

/**
 * transposeMinima (kernels-cpu.ts) in WebAssembly for the ms blocks [0, M4) and channels [0, C4)
 * (M4, C4: M and C rounded down to multiples of 4), which it returns, or null (nothing done:
 * the kernel is unavailable or an array lies elsewhere). The arrays must be views of `memory`
 * (a window's: minima M x C, transposed rows C x M) and [scratch, scratch + 1) of it free for
 * the probe of viewsMemory; the caller moves the rest. The values' bits are moved unchanged.
 */
export function transposeMinimaWasm(memory: SharedWasmMemory, scratch: number, S: number, mv: Float32Array, mp: Int32Array, M: number, C: number,
  minValT: Float32Array, minPosT: Int32Array): { M4: number; C4: number } | null {
  if (M * C > mv.length || M * C > mp.length || M * C > minValT.length || M * C > minPosT.length) {
    throw new RangeError(`transposeMinimaWasm: ${M} x ${C} minima do not fit the arrays`);
  }
  for (const a of [mv, mp, minValT, minPosT]) if (!viewsMemory(a.buffer, memory, scratch)) return null;
  // (The module is the one of the window's other kernels, assembled per sampling rate.)
  const kernel = kernelsFor(memory, S)?.transpose;
  if (!kernel) return null;
  const M4 = M & ~3;
  const C4 = C & ~3;
  if (M4 > 0 && C4 > 0) kernel(mv.byteOffset, mp.byteOffset, M, C, minValT.byteOffset, minPosT.byteOffset, M4, C4);
  return { M4, C4 };
}

/**
 * The kernels address memory directly (an index outside the window would read or write another
 * array of the memory): every spike's blocks m-2..m+2 must lie in the window's M ms and every
 * affected channel in 0..C-1, as the loop guarantees (spikes come from ms 2..M-3).
 */
function checkSpans(what: string, spikes: Int32Array, affected: Int32Array, M: number, S: number, C: number): void {
  for (let i = 0; i < spikes.length; i++) {
    const m = Math.floor(spikes[i] / S);
    if (!(m >= 2 && m + 2 < M)) throw new RangeError(`${what}: spike at sample ${spikes[i]} (ms ${m}) is not in ms 2..${M - 3} of the segment`);
  }
  for (let a = 0; a < affected.length; a++) {
    const c = affected[a];
    if (!(c >= 0 && c < C)) throw new RangeError(`${what}: channel ${c} is not in 0..${C - 1}`);
  }
}
