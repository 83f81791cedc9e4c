/**
 * WebAssembly SIMD versions of the CPU filter paths, bit-identical to their TypeScript twins:
 * - int16 / uint16: the exact integer path (filter.ts `filterBlocksInt`), four channels per v128;
 * - float32: the float64 running-sum cascade (`filterBlocksFloat`), two channels per f64x2, the
 *   same additions in the same order per lane (so chunk invariance carries over).
 *
 * Integer kernel details: *
 * Four channels ride in the four i32 lanes of a v128 (time outer, channel-group inner over the
 * sample-major input): `v128.load16x4_s` reads four neighbouring channels of one sample at
 * once, the four integrators wrap modulo 2^32 exactly like the `|0` arithmetic of the
 * TypeScript path, the two binomial combs use memarg offsets baked in per sampling rate, and
 * y = fround(aw*G_w - an*G_n) is computed in f64x2 halves and rounded to f32 like Math.fround.
 * Minima use the strict `<` of the reference (first index of the minimum, NaN never wins).
 *
 * The module is assembled here from a short instruction list (no toolchain, no binary blob).
 * Channels beyond the last multiple of four go through the TypeScript path.
 */
import { filterWidths } from '../../stages/filter/taps.js';
import { Code, moduleHeader, section, sharedMemorySection, str, uleb } from '../../core/wasm-assembler.js';
import { copyFirstSamples, cpuGridMs, forGridBlocks } from './grid.js';
import type { FilterAreas, FilteredBuffer } from '../../core/window.js';

const SIMD = {
  load: 0x00, load16x4s: 0x03, load16x4u: 0x04, store: 0x0b, shuffle: 0x0d, i32splat: 0x11, f64splat: 0x14,
  f32lt: 0x43, bitselect: 0x52, store32lane: 0x5a, demote: 0x5e, i32shl: 0xab, i32add: 0xae, i32sub: 0xb1,
  f64sub: 0xf1, f64mul: 0xf2, f64fromI32Low: 0xfe,
  f32splat: 0x13, f32gt: 0x44, allTrue: 0xa3, f32sub: 0xe5, f32mul: 0xe6, f32pmin: 0xea, f32fromI32: 0xfa,
};
const V128_ZERO = [0xfd, 0x0c, ...new Array(16).fill(0)];

// Parameters of the exported function (all i32 except the two f64 scales).
// (P_BOUND: float32 bounds per channel, read only by the thresholded variant; P_TILE: the
// tile buffer, or 0 for none: see TILE_GROUPS.)
const P_IN = 0, P_C = 1, P_ROWS = 2, P_GROUPS = 3, P_MSFROM = 4, P_MSCOUNT = 5, P_OUT = 6, P_MINV = 7, P_MINP = 8, P_I4 = 9, P_AW = 10, P_AN = 11, P_BOUND = 12, P_TILE = 13;
// i32 locals
const L_G = 14, L_R = 15, L_P = 16, L_Q = 17, L_MI = 18, L_S = 19, L_A = 20, L_BN = 21, L_O = 22, L_ROWB = 23, L_MM = 24, L_STRIDE = 25;
const N_I32 = 12;
// v128 locals
const V_I1 = 26, V_I2 = 27, V_I3 = 28, V_I4 = 29, V_GW = 30, V_GN = 31, V_Y = 32, V_MV = 33, V_MP = 34, V_SV = 35, V_AW = 36, V_AN = 37, V_ONE = 38, V_MASK = 39, V_AWF = 40, V_ANF = 41;
const N_V128 = 16;

/**
 * Groups of four channels whose input rows the integer kernel first copies side by side into a
 * tile buffer (64 bytes, one cache line, per row), where the probe is wide enough for that to
 * pay (TILE_MIN_CHANNELS). Each group's running sums walk every row of its grid block; straight
 * from the sample-major input that is one 8-byte read per row at a stride of 2C bytes, a new
 * page every row or two at 1536 channels, and the kernel ran 30 % slower per sample there than
 * at 64 channels. From the tile, eight groups read the rows one copy brought in.
 */
const TILE_GROUPS = 8;
const TILE_MIN_CHANNELS = 128;

/**
 * Assembles the kernel for one sampling rate (widths and strides become immediates).
 *
 * `thresholded` (minima-only requests that carry `exactBelow`): no samples are written, and each
 * ms block of a group of four channels is first scanned in float32 (no minimum position). When
 * that approximate minimum is above `bound[c] = exactBelow[c] + margin` on all four lanes, the
 * exact minimum is certainly above exactBelow[c] (the margin exceeds the float32 error, see
 * filterBlocksWasm) and the approximate one is stored with position 0; otherwise the block is
 * computed again exactly (float64, as without the flag). Spike-free blocks, nearly all of
 * them, take the cheap scan only.
 */
function assemble(samplesPerMs: number, unsigned: boolean, thresholded = false, importMemory = false): Uint8Array {
  const S = samplesPerMs;
  const { narrow: n, wide: w } = filterWidths(S);
  const Lw = 2 * w + 1;
  const Ln = 2 * n + 1;
  const P = 4 * Lw;
  const c = new Code();
  c.get(P_C).i32(1).shl().set(L_ROWB);
  // Pass 1's row stride: the tile's or the input's (select: the first when P_TILE != 0).
  c.i32(8 * TILE_GROUPS).get(L_ROWB).get(P_TILE).op(0x1b).set(L_STRIDE);
  c.i32(1).simd(SIMD.i32splat).set(V_ONE);
  c.get(P_AW).simd(SIMD.f64splat).set(V_AW);
  c.get(P_AN).simd(SIMD.f64splat).set(V_AN);
  if (thresholded) {
    c.get(P_AW).op(0xb6).simd(SIMD.f32splat).set(V_AWF);   // f32.demote_f64
    c.get(P_AN).op(0xb6).simd(SIMD.f32splat).set(V_ANF);
  }
  // G_w = I4[t] - 4 I4[t-L] + 6 I4[t-2L] - 4 I4[t-3L] + I4[t-4L] (wrapping i32), as
  // (I4[t] + I4[t-4L]) - ((I4[t-L] + I4[t-3L]) << 2) + ((I4[t-2L] << 1) + (I4[t-2L] << 2)):
  // the same value modulo 2^32 (wrapping addition is associative), with shifts for the three
  // multiplications (i32x4.mul is pmulld on x86: two uops of ten cycles' latency each).
  const comb = (base: number, L: number, dst: number): void => {
    c.get(base).mem(SIMD.load, 16 * 4 * L);
    c.get(base).mem(SIMD.load, 0).simd(SIMD.i32add);
    c.get(base).mem(SIMD.load, 16 * 3 * L);
    c.get(base).mem(SIMD.load, 16 * L).simd(SIMD.i32add).i32(2).simd(SIMD.i32shl).simd(SIMD.i32sub);
    c.get(base).mem(SIMD.load, 16 * 2 * L).i32(1).simd(SIMD.i32shl);
    c.get(base).mem(SIMD.load, 16 * 2 * L).i32(2).simd(SIMD.i32shl).simd(SIMD.i32add).simd(SIMD.i32add);
    c.set(dst);
  };
  // a = &I4[P + (msFrom+mi)*S + 8w - 4Lw] (wide comb base), bn = narrow comb base.
  const combBases = (): void => {
    c.get(P_MSFROM).get(L_MI).add().i32(S).mul().i32(P + 8 * w - 4 * Lw).add().i32(4).shl().get(P_I4).add().tee(L_A);
    c.i32(16 * (4 * Lw - 4 * (w - n) - 4 * Ln)).add().set(L_BN);
  };
  // The exact scan of one ms block of the group: y in float64, rounded to float32, the first
  // strict minimum and its position; the samples are stored unless `thresholded`.
  const exactBlock = (): void => {
    // One sample at the pointers L_A, L_BN, L_O, then advancing them. Sample 0 is peeled off
    // the loop: it sets the minimum unconditionally, so the loop's mask is only y < mv.
    const sample = (first: boolean): void => {
      comb(L_A, Lw, V_GW);
      comb(L_BN, Ln, V_GN);
      // y = aw*gw - an*gn in f64 per half, rounded to f32.
      const half = (high: boolean): void => {
        const sel = high ? [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15] : null;
        c.get(V_AW).get(V_GW);
        if (sel) c.get(V_GW).simd(SIMD.shuffle, ...sel);
        c.simd(SIMD.f64fromI32Low).simd(SIMD.f64mul);
        c.get(V_AN).get(V_GN);
        if (sel) c.get(V_GN).simd(SIMD.shuffle, ...sel);
        c.simd(SIMD.f64fromI32Low).simd(SIMD.f64mul);
        c.simd(SIMD.f64sub).simd(SIMD.demote);
      };
      half(false);
      half(true);
      c.simd(SIMD.shuffle, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23).set(V_Y);
      // data[(mm + k) * S + s] = y[k]
      if (!thresholded) for (let k = 0; k < 4; k++) c.get(L_O).get(V_Y).mem(SIMD.store32lane, k * S * 4).b.push(k);
      if (first) {
        c.get(V_Y).set(V_MV);
        c.op(...V128_ZERO).set(V_MP);
      } else {
        // Later samples: only a strictly smaller value (mask = y < mv). The value by
        // f32x4.pmin(mv, y) = y < mv ? y : mv, the same choice in one instruction (minps).
        c.get(V_Y).get(V_MV).simd(SIMD.f32lt).set(V_MASK);
        c.get(V_MV).get(V_Y).simd(SIMD.f32pmin).set(V_MV);
        c.get(V_SV).get(V_MP).get(V_MASK).simd(SIMD.bitselect).set(V_MP);
      }
      c.get(V_SV).get(V_ONE).simd(SIMD.i32add).set(V_SV);
      c.get(L_A).i32(16).add().set(L_A);
      c.get(L_BN).i32(16).add().set(L_BN);
      if (!thresholded) c.get(L_O).i32(4).add().set(L_O);
    };
    c.op(...V128_ZERO).set(V_SV);
    sample(true);
    c.i32(1).set(L_S);
    c.loop(() => {
      c.get(L_S).i32(S).geU().exitIf();
      sample(false);
      c.get(L_S).i32(1).add().set(L_S);
    });
  };
  // The float32 scan: V_MV = min over the block of fround(awf*gw) - fround(anf*gn) (approximately y).
  const approxBlock = (): void => {
    c.i32(0).set(L_S);
    c.op(0x43, 0x00, 0x00, 0x80, 0x7f).simd(SIMD.f32splat).set(V_MV);   // +Infinity
    c.loop(() => {
      c.get(L_S).i32(S).geU().exitIf();
      comb(L_A, Lw, V_GW);
      comb(L_BN, Ln, V_GN);
      c.get(V_MV);
      c.get(V_AWF).get(V_GW).simd(SIMD.f32fromI32).simd(SIMD.f32mul);
      c.get(V_ANF).get(V_GN).simd(SIMD.f32fromI32).simd(SIMD.f32mul);
      // pmin(mv, v) = v < mv ? v : mv: f32x4.min's value here (v is finite and never -0: finite
      // products of integers, and an exact zero difference is +0), without its NaN and -0 fix-ups.
      c.simd(SIMD.f32sub).simd(SIMD.f32pmin).set(V_MV);
      c.get(L_A).i32(16).add().set(L_A);
      c.get(L_BN).i32(16).add().set(L_BN);
      c.get(L_S).i32(1).add().set(L_S);
    });
  };
  c.i32(0).set(L_G);
  c.loop(() => {
    c.get(L_G).get(P_GROUPS).geU().exitIf();
    // With a tile buffer, at every TILE_GROUPS-th group: the rows of this group and the next
    // ones (64 bytes from 4g channels on) into it. Bytes past the last group are copied but never
    // read; on the last row they lie in I4's zero prefix, which follows the input (P x 16 bytes,
    // at least 192).
    c.get(P_TILE).op(0x45, 0x45).get(L_G).i32(TILE_GROUPS - 1).op(0x71, 0x45, 0x71);   // P_TILE != 0 && (g & 7) == 0
    c.op(0x04, 0x40);   // if
    c.get(P_IN).get(L_G).i32(3).shl().add().set(L_P);
    c.get(P_TILE).set(L_Q);
    c.i32(0).set(L_R);
    c.loop(() => {
      c.get(L_R).get(P_ROWS).geU().exitIf();
      for (let k = 0; k < (8 * TILE_GROUPS) / 16; k++) c.get(L_Q).get(L_P).mem(SIMD.load, 16 * k).mem(SIMD.store, 16 * k);
      c.get(L_P).get(L_ROWB).add().set(L_P);
      c.get(L_Q).i32(8 * TILE_GROUPS).add().set(L_Q);
      c.get(L_R).i32(1).add().set(L_R);
    });
    c.op(0x0b);         // end
    // Pass 1: four integrators per lane over all rows of the block, I4 stored per row.
    c.op(...V128_ZERO).set(V_I1).op(...V128_ZERO).set(V_I2).op(...V128_ZERO).set(V_I3).op(...V128_ZERO).set(V_I4);
    // The group's first row: tile + (g & 7) * 8 bytes, or in + 4g channels * 2 bytes.
    c.get(P_TILE).get(L_G).i32(TILE_GROUPS - 1).op(0x71).i32(3).shl().add();
    c.get(P_IN).get(L_G).i32(3).shl().add();
    c.get(P_TILE).op(0x1b).set(L_P);
    c.get(P_I4).i32(P * 16).add().set(L_Q);
    c.i32(0).set(L_R);
    c.loop(() => {
      c.get(L_R).get(P_ROWS).geU().exitIf();
      c.get(V_I1).get(L_P).mem(unsigned ? SIMD.load16x4u : SIMD.load16x4s, 0).simd(SIMD.i32add).tee(V_I1);
      c.get(V_I2).simd(SIMD.i32add).tee(V_I2);
      c.get(V_I3).simd(SIMD.i32add).tee(V_I3);
      c.get(V_I4).simd(SIMD.i32add).set(V_I4);
      c.get(L_Q).get(V_I4).mem(SIMD.store, 0);
      c.get(L_P).get(L_STRIDE).add().set(L_P);
      c.get(L_Q).i32(16).add().set(L_Q);
      c.get(L_R).i32(1).add().set(L_R);
    });
    // Pass 2: combs, output and minima, ms by ms.
    c.i32(0).set(L_MI);
    c.loop(() => {
      c.get(L_MI).get(P_MSCOUNT).geU().exitIf();
      combBases();
      // o = out + ((mi*C + 4g) * S) * 4; mm = mi*C + 4g (minima index)
      c.get(L_MI).get(P_C).mul().get(L_G).i32(2).shl().add().tee(L_MM).i32(S * 4).mul().get(P_OUT).add().set(L_O);
      if (!thresholded) {
        exactBlock();
      } else {
        approxBlock();
        // Certain on all four lanes (mv > bound) -> keep it; else the exact scan of the block.
        c.get(V_MV).get(P_BOUND).get(L_G).i32(4).shl().add().mem(SIMD.load, 0).simd(SIMD.f32gt).simd(SIMD.allTrue);
        c.op(0x04, 0x40);   // if
        c.op(...V128_ZERO).set(V_MP);
        c.op(0x05);         // else
        combBases();
        exactBlock();
        c.op(0x0b);         // end
      }
      c.get(L_MM).i32(2).shl().get(P_MINV).add().get(V_MV).mem(SIMD.store, 0);
      c.get(L_MM).i32(2).shl().get(P_MINP).add().get(V_MP).mem(SIMD.store, 0);
      c.get(L_MI).i32(1).add().set(L_MI);
    });
    c.get(L_G).i32(1).add().set(L_G);
  });
  c.op(0x0b);

  return buildModule([...new Array(P_AW).fill(0x7f), 0x7c, 0x7c, 0x7f, 0x7f], N_I32, N_V128, c, importMemory);
}

/**
 * A module with one exported function `filter` (params, then i32 and v128 locals) and its own
 * memory, or (`importMemory`) working on an imported shared memory: a window's (FilterAreas).
 */
function buildModule(params: number[], nI32: number, nV128: number, c: Code, importMemory = false): Uint8Array {
  const body: number[] = [];
  uleb(2, body);                 // two local declarations
  uleb(nI32, body); body.push(0x7f);
  uleb(nV128, body); body.push(0x7b);
  body.push(...c.b);

  const mod = moduleHeader();
  const type: number[] = [1, 0x60];
  uleb(params.length, type);
  type.push(...params, 0);
  section(1, type, mod);
  if (importMemory) {
    // import env.memory: shared, min 1 page, max 65536 pages
    const imp: number[] = [1];
    str('env', imp);
    str('memory', imp);
    imp.push(0x02, 0x03, 1);
    uleb(65536, imp);
    section(2, imp, mod);
  }
  section(3, [1, 0], mod);
  if (!importMemory) sharedMemorySection(mod);    // one memory, exported and grown from JS
  const exp: number[] = [importMemory ? 1 : 2];
  str('filter', exp);
  exp.push(0x00, 0);
  if (!importMemory) {
    str('memory', exp);
    exp.push(0x02, 0);
  }
  section(7, exp, mod);
  const code: number[] = [1];
  uleb(body.length, code);
  code.push(...body);
  section(10, code, mod);
  return new Uint8Array(mod);
}

// ---- float32 input: the float64 running-sum cascade of filterBlocksFloat, two channels per f64x2

// params
const F_IN = 0, F_C = 1, F_ROWS = 2, F_GROUPS = 3, F_MSFROM = 4, F_MSCOUNT = 5, F_OUT = 6, F_MINV = 7, F_MINP = 8, F_X = 9, F_A = 10, F_B = 11, F_AW = 12, F_AN = 13;
// i32 locals
const FL_G = 14, FL_R = 15, FL_P = 16, FL_Q = 17, FL_LO = 18, FL_HI = 19, FL_D = 20, FL_CNT = 21, FL_MI = 22, FL_S = 23, FL_O = 24, FL_MM = 25, FL_ROWB = 26, FL_I = 27;
const FN_I32 = 14;
// v128 locals
const FV_S = 28, FV_Y = 29, FV_MV = 30, FV_MP = 31, FV_SV = 32, FV_ONE = 33, FV_AW = 34, FV_AN = 35, FV_MASK = 36;
const FN_V128 = 9;
const F64 = { add: 0xf0, sub: 0xf1, mul: 0xf2, promote: 0x5f, load64zero: 0x5d };

function assembleFloat(samplesPerMs: number, importMemory = false): Uint8Array {
  const S = samplesPerMs;
  const { narrow: n, wide: w } = filterWidths(S);
  const shiftN = 4 * (w - n);
  const c = new Code();
  /**
   * dst[i] = sum_{j<L} src[i+j] for i < len - L + 1, as boxPass does: s = 0 + src[0] + ... then
   * s = s + (src[i+L-1] - src[i-1]) — the same operations in the same order per lane.
   * `src`/`dst` are i32 locals holding byte pointers; `len` is pushed by `pushLen`.
   */
  const box = (src: number, srcOffset: number, dst: number, pushLen: () => void, k: number): void => {
    const L = 2 * k + 1;
    // cnt = len - L (iterations after the first output)
    pushLen();
    c.i32(L).sub().set(FL_CNT);
    if (k === 0) {
      // copy len values
      c.get(src).i32(srcOffset * 16).add().set(FL_LO);
      c.get(dst).set(FL_D);
      c.get(FL_CNT).i32(1).add().set(FL_CNT);
      c.loop(() => {
        c.get(FL_CNT).op(0x45).exitIf();
        c.get(FL_D).get(FL_LO).mem(SIMD.load, 0).mem(SIMD.store, 0);
        c.get(FL_LO).i32(16).add().set(FL_LO);
        c.get(FL_D).i32(16).add().set(FL_D);
        c.get(FL_CNT).i32(1).sub().set(FL_CNT);
      });
      return;
    }
    c.op(...V128_ZERO).set(FV_S);
    for (let j = 0; j < L; j++) c.get(FV_S).get(src).mem(SIMD.load, 16 * (srcOffset + j)).simd(F64.add).set(FV_S);
    c.get(dst).get(FV_S).mem(SIMD.store, 0);
    c.get(src).i32(16 * srcOffset).add().tee(FL_LO).i32(16 * L).add().set(FL_HI);
    c.get(dst).i32(16).add().set(FL_D);
    c.loop(() => {
      c.get(FL_CNT).op(0x45).exitIf();
      c.get(FV_S).get(FL_HI).mem(SIMD.load, 0).get(FL_LO).mem(SIMD.load, 0).simd(F64.sub).simd(F64.add).set(FV_S);
      c.get(FL_D).get(FV_S).mem(SIMD.store, 0);
      c.get(FL_LO).i32(16).add().set(FL_LO);
      c.get(FL_HI).i32(16).add().set(FL_HI);
      c.get(FL_D).i32(16).add().set(FL_D);
      c.get(FL_CNT).i32(1).sub().set(FL_CNT);
    });
  };
  const lenMinus = (d: number) => () => { c.get(F_ROWS).i32(d).sub(); };

  c.get(F_C).i32(2).shl().set(FL_ROWB);
  c.i32(1).simd(SIMD.i32splat).set(FV_ONE);
  c.get(F_AW).simd(SIMD.f64splat).set(FV_AW);
  c.get(F_AN).simd(SIMD.f64splat).set(FV_AN);
  c.i32(0).set(FL_G);
  c.loop(() => {
    c.get(FL_G).get(F_GROUPS).geU().exitIf();
    // X[r] = promote(two float32 of channels 2g, 2g+1 at row r)
    c.get(F_IN).get(FL_G).i32(3).shl().add().set(FL_P);
    c.get(F_X).set(FL_Q);
    c.i32(0).set(FL_R);
    c.loop(() => {
      c.get(FL_R).get(F_ROWS).geU().exitIf();
      c.get(FL_Q).get(FL_P).mem(F64.load64zero, 0).simd(F64.promote).mem(SIMD.store, 0);
      c.get(FL_P).get(FL_ROWB).add().set(FL_P);
      c.get(FL_Q).i32(16).add().set(FL_Q);
      c.get(FL_R).i32(1).add().set(FL_R);
    });
    // Wide: X -> A -> B -> A -> B; narrow: X+shift -> A -> X -> A -> X (as filterBlocksFloat).
    box(F_X, 0, F_A, lenMinus(0), w);
    box(F_A, 0, F_B, lenMinus(2 * w), w);
    box(F_B, 0, F_A, lenMinus(4 * w), w);
    box(F_A, 0, F_B, lenMinus(6 * w), w);
    box(F_X, shiftN, F_A, lenMinus(2 * shiftN), n);
    box(F_A, 0, F_X, lenMinus(2 * shiftN + 2 * n), n);
    box(F_X, 0, F_A, lenMinus(2 * shiftN + 4 * n), n);
    box(F_A, 0, F_X, lenMinus(2 * shiftN + 6 * n), n);
    // Output and minima, ms by ms.
    c.i32(0).set(FL_MI);
    c.loop(() => {
      c.get(FL_MI).get(F_MSCOUNT).geU().exitIf();
      // i = (msFrom + mi) * S (block output index, in v128 units -> bytes)
      c.get(F_MSFROM).get(FL_MI).add().i32(S * 16).mul().set(FL_I);
      c.get(FL_MI).get(F_C).mul().get(FL_G).i32(1).shl().add().tee(FL_MM).i32(S * 4).mul().get(F_OUT).add().set(FL_O);
      c.i32(0).set(FL_S);
      c.op(...V128_ZERO).set(FV_SV);
      c.loop(() => {
        c.get(FL_S).i32(S).geU().exitIf();
        // y = fround(aw * B[i] - an * X[i]) for both lanes (lanes 0, 1 of a f32x4)
        c.get(FV_AW).get(FL_I).get(F_B).add().mem(SIMD.load, 0).simd(F64.mul);
        c.get(FV_AN).get(FL_I).get(F_X).add().mem(SIMD.load, 0).simd(F64.mul);
        c.simd(F64.sub).simd(SIMD.demote).set(FV_Y);
        c.get(FL_O).get(FV_Y).mem(SIMD.store32lane, 0).b.push(0);
        c.get(FL_O).get(FV_Y).mem(SIMD.store32lane, S * 4).b.push(1);
        c.get(FV_Y).get(FV_MV).get(FV_Y).get(FV_MV).simd(SIMD.f32lt);
        c.i32(0).get(FL_S).op(0x45).sub();
        c.simd(SIMD.i32splat).op(0xfd, 0x50);
        c.tee(FV_MASK).simd(SIMD.bitselect).set(FV_MV);
        c.get(FV_SV).get(FV_MP).get(FV_MASK).simd(SIMD.bitselect).set(FV_MP);
        c.get(FV_SV).get(FV_ONE).simd(SIMD.i32add).set(FV_SV);
        c.get(FL_I).i32(16).add().set(FL_I);
        c.get(FL_O).i32(4).add().set(FL_O);
        c.get(FL_S).i32(1).add().set(FL_S);
      });
      c.get(FL_MM).i32(2).shl().get(F_MINV).add().get(FV_MV).mem(SIMD.store32lane, 0).b.push(0);
      c.get(FL_MM).i32(2).shl().get(F_MINV).add().get(FV_MV).mem(SIMD.store32lane, 4).b.push(1);
      c.get(FL_MM).i32(2).shl().get(F_MINP).add().get(FV_MP).mem(SIMD.store32lane, 0).b.push(0);
      c.get(FL_MM).i32(2).shl().get(F_MINP).add().get(FV_MP).mem(SIMD.store32lane, 4).b.push(1);
      c.get(FL_MI).i32(1).add().set(FL_MI);
    });
    c.get(FL_G).i32(1).add().set(FL_G);
  });
  c.op(0x0b);
  return buildModule([...new Array(F_AW).fill(0x7f), 0x7c, 0x7c], FN_I32, FN_V128, c, importMemory);
}

// ---- runtime ---------------------------------------------------------------------------------

// The project's lib settings (ES2023 + node types) do not declare WebAssembly; the little used here:
interface WasmMemory { readonly buffer: ArrayBuffer; grow(pages: number): number }
type WasmModule = object;
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

type Kernel = (inPtr: number, C: number, rows: number, groups: number, msFrom: number, msCount: number,
  out: number, minVal: number, minPos: number, ...rest: number[]) => void;

interface Instance { memory: WasmMemory; filter: Kernel }

const modules = new Map<string, WasmModule | null>();
type Variant = 'int16' | 'uint16' | 'int16-below' | 'uint16-below' | 'float32' | 'int16-direct' | 'uint16-direct' | 'float32-direct';

/** True when this runtime has WebAssembly SIMD (Node >= 16.4); otherwise callers use TypeScript. */
export function wasmSimdAvailable(): boolean {
  return compiled(30, 'int16') !== null;
}

function compiled(S: number, variant: Variant): WasmModule | null {
  const key = `${S}:${variant}`;
  let m = modules.get(key);
  if (m === undefined) {
    try {
      if (!WA) throw new Error('no WebAssembly');
      const direct = variant.endsWith('-direct');
      m = new WA.Module(variant.startsWith('float32') ? assembleFloat(S, direct) : assemble(S, variant.startsWith('uint16'), variant.endsWith('-below'), direct));
    } catch {
      m = null;
    }
    modules.set(key, m);
  }
  return m;
}

/** Per-thread state: one instance per kernel variant, memory grown on demand. */
export class WasmFilterState {
  private readonly instances = new Map<string, Instance>();
  /** This thread's filter area in windows that have them (FilterAreas), or -1: none. */
  area = -1;
  /** The request's input rows are already at the start of this thread's area (FilterScratch.inputInArea). */
  inputInArea = false;
  /** The request's input rows are already at the start of the integer kernel's own memory (kernelInput). */
  inputInKernel = false;

  /**
   * Where one grid block's rows of int16 / uint16 input (rows x C values) may be read straight
   * into the integer kernel's own memory, for a minima-only destination (pass 1's requests,
   * which that kernel takes through its own memory): its input region, the memory grown to what
   * the request needs. Null where that kernel does not take the request. The caller sets
   * inputInKernel for the request that reads them (filterBlocksWasm then copies nothing in).
   */
  kernelInput(dest: FilteredBuffer, unsigned: boolean): Uint8Array | null {
    const { numChannels: C, samplesPerMs: S } = dest;
    if (dest.data.length !== 0 || C < 4 || filterWidths(S).wide === 0) return null;
    const below = belowVariant(dest);
    const inst = this.instance(S, `${unsigned ? 'uint16' : 'int16'}${below ? '-below' : ''}`);
    if (!inst) return null;
    const map = intKernelMap(C, S, below);
    const have = inst.memory.buffer.byteLength;
    if (map.need > have) inst.memory.grow(Math.ceil((map.need - have) / 65536));
    return new Uint8Array(inst.memory.buffer, 0, map.inBytes);
  }

  instance(S: number, variant: Variant): Instance | null {
    const key = `${S}:${variant}`;
    let inst = this.instances.get(key);
    if (!inst) {
      const m = compiled(S, variant);
      if (!m) return null;
      const ex = new WA!.Instance(m, {}).exports as unknown as Instance;
      inst = { memory: ex.memory, filter: ex.filter };
      this.instances.set(key, inst);
    }
    return inst;
  }

  /**
   * An instance of `variant` (a -direct one) working on `areas.memory`, or null. Made anew for
   * each request (~5 us): a cached one would keep a window's memory alive after the sort.
   */
  boundInstance(S: number, variant: Variant, areas: FilterAreas): Instance | null {
    const m = compiled(S, variant);
    if (!m) return null;
    const ex = new WA!.Instance(m, { env: { memory: areas.memory } }).exports as unknown as Pick<Instance, 'filter'>;
    return { memory: areas.memory as unknown as WasmMemory, filter: ex.filter };
  }
}

/**
 * Bytes of one filter thread's area in a window (FilterAreas): the input rows of one grid block
 * and the kernels' running sums (the int16 kernel's I4 and, past it, its tile of rows, or the
 * float32 kernel's X, A, B).
 */
export function filterAreaBytes(numChannels: number, samplesPerMs: number): number {
  const { wide: w } = filterWidths(samplesPerMs);
  const maxRows = cpuGridMs(samplesPerMs) * samplesPerMs + 8 * w;
  return Math.ceil((maxRows * numChannels * 4) / 16) * 16 + (4 * (2 * w + 1) + 3 * maxRows) * 16;
}

/**
 * This thread's area of `dest` when the kernels may write it in place: a destination with
 * samples in a window with filter areas, and an area for this thread (state.area); else null.
 */
function directArea(dest: FilteredBuffer, state: WasmFilterState): { areas: FilterAreas; base: number } | null {
  const a = dest.filterAreas;
  if (!a || dest.data.length === 0 || state.area < 0 || state.area >= a.count) return null;
  if (a.bytes < filterAreaBytes(dest.numChannels, dest.samplesPerMs)) return null;
  return { areas: a, base: a.offset + state.area * a.bytes };
}

/**
 * The grid blocks of a request through a kernel bound to the window's memory (directArea):
 * each block's input rows into the thread's area at `base`, the kernel writing samples and
 * minima at their slots of `dest`; `tail` is the kernel's arguments after the minima pointers.
 * `lanes` channels per group: the kernel's channels are [0, groups * lanes).
 */
function filterInPlace(inst: Instance, inView: Int16Array | Uint16Array | Float32Array, input: Int16Array | Uint16Array | Float32Array,
  inputStart: number, firstMs: number, numMs: number, dest: FilteredBuffer, destMs: number, w: number, groups: number, lanes: number,
  base: number, tail: number[], inputInArea: boolean): void {
  const { numChannels: C, samplesPerMs: S } = dest;
  let blocks = 0;
  forGridBlocks(input, inputStart, firstMs, numMs, S, w, C, (r0, rows, gs, outMs0, count) => {
    // Rows read into the area already are one grid block's, from its first row.
    if (inputInArea && (r0 !== 0 || ++blocks > 1)) throw new Error('internal error: rows read into the filter area must be one grid block');
    if (!inputInArea) inView.set(input.subarray(r0 * C, (r0 + rows) * C));
    const slot = destMs + outMs0 - firstMs;
    inst.filter(base, C, rows, groups, outMs0 - gs, count, dest.data.byteOffset + slot * C * S * 4,
      dest.minVal.byteOffset + slot * C * 4, dest.minPos.byteOffset + slot * C * 4, ...tail);
    if (dest.firstSamples) copyFirstSamples(dest.data.subarray(slot * C * S), count, C, S, 0, groups * lanes, dest.firstSamples, slot);
  });
}

/** Minima-only requests that need exact minima only below dest.exactBelow (see FilteredBuffer): the thresholded kernel. */
function belowVariant(dest: FilteredBuffer): boolean {
  return dest.exactBelow !== undefined && dest.data.length === 0 && dest.firstSamples === undefined;
}

/**
 * The integer kernel's own memory: [input rows][I4 (P + rows) v128][out G*C*S f32][minVal G*C]
 * [minPos G*C][bound C][tile] (byte offsets; no out where `below`, no tile below TILE_MIN_CHANNELS).
 */
function intKernelMap(C: number, S: number, below: boolean): { inBytes: number; i4Ptr: number; outPtr: number; minVPtr: number; minPPtr: number; boundPtr: number; tilePtr: number; need: number } {
  const { wide: w } = filterWidths(S);
  const G = cpuGridMs(S);
  const P = 4 * (2 * w + 1);
  const maxRows = G * S + 8 * w;
  const inBytes = maxRows * C * 2;
  const i4Ptr = Math.ceil(inBytes / 16) * 16;
  const outPtr = i4Ptr + (P + maxRows) * 16;
  const minVPtr = outPtr + (below ? 0 : G * C * S * 4);
  const minPPtr = minVPtr + G * C * 4;
  const boundPtr = minPPtr + G * C * 4;
  const tilePtr = C >= TILE_MIN_CHANNELS ? Math.ceil((boundPtr + C * 4) / 16) * 16 : 0;
  const need = tilePtr ? tilePtr + maxRows * 8 * TILE_GROUPS : boundPtr + C * 4;
  return { inBytes, i4Ptr, outPtr, minVPtr, minPPtr, boundPtr, tilePtr, need };
}

/**
 * As filterBlocksInt for int16/uint16 input (same arguments, same output bit for bit), with
 * the channel groups of four done in WebAssembly. Returns false when SIMD is unavailable or
 * the integer path does not apply. Returns the number of leading channels it filtered (0 when
 * it does not apply); the caller filters the rest with the TypeScript path.
 */
export function filterBlocksWasm(
  input: Int16Array | Uint16Array,
  inputStart: number,
  firstMs: number,
  numMs: number,
  polarity: number,
  dest: FilteredBuffer,
  destMs: number,
  c0: number,
  c1: number,
  state: WasmFilterState,
): number {
  const C = dest.numChannels;
  const S = dest.samplesPerMs;
  const { narrow: n, wide: w } = filterWidths(S);
  if (w === 0 || c0 !== 0) return 0;
  const unsigned = input instanceof Uint16Array;
  const below = belowVariant(dest);
  const groups = Math.floor(c1 / 4);
  if (groups === 0) return 0;
  const G = cpuGridMs(S);
  const Lw = 2 * w + 1;
  const P = 4 * Lw;
  const maxRows = G * S + 8 * w;
  const inBytes = maxRows * C * 2;
  const aw = polarity / Lw ** 4;
  const an = polarity / (2 * n + 1) ** 4;
  // The tile buffer (TILE_GROUPS) where the probe is wide enough: maxRows x 64 bytes.
  const tiled = C >= TILE_MIN_CHANNELS;
  // In place (a window with filter areas): the kernel runs on the window's memory, reads its
  // input and keeps I4 (and the tile, past it) in this thread's area, and writes samples and
  // minima where they belong.
  const direct = below ? null : directArea(dest, state);
  if (direct) {
    const base = direct.base;
    const inst = state.boundInstance(S, `${unsigned ? 'uint16' : 'int16'}-direct`, direct.areas);
    if (inst) {
      const buf = inst.memory.buffer;
      const i4Ptr = base + Math.ceil(inBytes / 16) * 16;
      const tilePtr = tiled ? i4Ptr + (P + maxRows) * 16 : 0;
      new Uint8Array(buf, i4Ptr, P * 16).fill(0);
      const inView = unsigned ? new Uint16Array(buf, base, maxRows * C) : new Int16Array(buf, base, maxRows * C);
      filterInPlace(inst, inView, input, inputStart, firstMs, numMs, dest, destMs, w, groups, 4, base, [i4Ptr, aw, an, 0, tilePtr], state.inputInArea);
      return groups * 4;
    }
  }
  const inst = state.instance(S, `${unsigned ? 'uint16' : 'int16'}${below ? '-below' : ''}`);
  if (!inst) return 0;
  const { i4Ptr, outPtr, minVPtr, minPPtr, boundPtr, tilePtr, need } = intKernelMap(C, S, below);
  const have = inst.memory.buffer.byteLength;
  if (need > have) inst.memory.grow(Math.ceil((need - have) / 65536));
  const buf = inst.memory.buffer;
  // I4 before the block start is zero (x = 0 there); the kernel never writes it.
  new Uint8Array(buf, i4Ptr, P * 16).fill(0);
  const inView = unsigned ? new Uint16Array(buf, 0, maxRows * C) : new Int16Array(buf, 0, maxRows * C);
  const out = new Float32Array(buf, outPtr, below ? 0 : G * C * S);
  const minV = new Float32Array(buf, minVPtr, G * C);
  const minP = new Int32Array(buf, minPPtr, G * C);
  if (below) {
    // The float32 scan's error: with |aw G_w|, |an G_n| <= |p| max|x| (each Gaussian is a
    // weighted mean of x), three roundings per product and one per difference against the
    // exact path's one, |y32 - y| <= ~10.1 * 2^-24 |p| max|x|. The margin is 64 * 2^-24 |p| max|x|
    // (0.125 |p| for int16): a block whose float32 minimum exceeds exactBelow + margin has its
    // exact minimum above exactBelow.
    const margin = 2 ** -18 * Math.abs(polarity) * (unsigned ? 65535 : 32768);
    const bound = new Float32Array(buf, boundPtr, C);
    for (let ch = 0; ch < C; ch++) bound[ch] = dest.exactBelow![ch] + margin;
  }
  let blocks = 0;
  forGridBlocks(input, inputStart, firstMs, numMs, S, w, C, (r0, rows, gs, outMs0, count) => {
    // Rows read into the kernel's memory already are one grid block's, from its first row.
    if (state.inputInKernel && (r0 !== 0 || ++blocks > 1)) throw new Error('internal error: rows read into the kernel\'s memory must be one grid block');
    if (!state.inputInKernel) inView.set(input.subarray(r0 * C, (r0 + rows) * C));
    inst.filter(0, C, rows, groups, outMs0 - gs, count, outPtr, minVPtr, minPPtr, i4Ptr, aw, an, boundPtr, tilePtr);
    const slot = destMs + outMs0 - firstMs;
    if (dest.data.length > 0) dest.data.set(out.subarray(0, count * C * S), slot * C * S);
    if (dest.firstSamples) copyFirstSamples(out, count, C, S, 0, groups * 4, dest.firstSamples, slot);
    dest.minVal.set(minV.subarray(0, count * C), slot * C);
    dest.minPos.set(minP.subarray(0, count * C), slot * C);
  });
  // The channels past the last group of four were overwritten with scratch above: the caller
  // filters them with the TypeScript path.
  return groups * 4;
}

/**
 * As filterBlocksFloat for float32 input (same output bit for bit: same float64 operations in
 * the same order per lane), two channels per f64x2. Returns false when it does not apply.
 */
export function filterBlocksWasmFloat(
  input: Float32Array,
  inputStart: number,
  firstMs: number,
  numMs: number,
  polarity: number,
  dest: FilteredBuffer,
  destMs: number,
  c0: number,
  c1: number,
  state: WasmFilterState,
): number {
  const C = dest.numChannels;
  const S = dest.samplesPerMs;
  const { narrow: n, wide: w } = filterWidths(S);
  if (w === 0 || c0 !== 0) return 0;
  const groups = Math.floor(c1 / 2);
  if (groups === 0) return 0;
  const G = cpuGridMs(S);
  const maxRows = G * S + 8 * w;
  const aw = polarity / (2 * w + 1) ** 4;
  const an = polarity / (2 * n + 1) ** 4;
  const inBytes = Math.ceil((maxRows * C * 4) / 16) * 16;
  // In place (a window with filter areas): input rows and X, A, B in this thread's area.
  const direct = directArea(dest, state);
  if (direct) {
    const base = direct.base;
    const inst = state.boundInstance(S, 'float32-direct', direct.areas);
    if (inst) {
      const inView = new Float32Array(inst.memory.buffer, base, maxRows * C);
      const xPtr = base + inBytes;
      filterInPlace(inst, inView, input, inputStart, firstMs, numMs, dest, destMs, w, groups, 2, base, [xPtr, xPtr + maxRows * 16, xPtr + 2 * maxRows * 16, aw, an], state.inputInArea);
      return groups * 2;
    }
  }
  const inst = state.instance(S, 'float32');
  if (!inst) return 0;
  // Memory map: [input rows x C f32][X][A][B (maxRows f64x2 each)][out G*C*S f32][minVal][minPos]
  const xPtr = inBytes;
  const aPtr = xPtr + maxRows * 16;
  const bPtr = aPtr + maxRows * 16;
  const outPtr = bPtr + maxRows * 16;
  const minVPtr = outPtr + G * C * S * 4;
  const minPPtr = minVPtr + G * C * 4;
  const need = minPPtr + G * C * 4;
  const have = inst.memory.buffer.byteLength;
  if (need > have) inst.memory.grow(Math.ceil((need - have) / 65536));
  const buf = inst.memory.buffer;
  const inView = new Float32Array(buf, 0, maxRows * C);
  const out = new Float32Array(buf, outPtr, G * C * S);
  const minV = new Float32Array(buf, minVPtr, G * C);
  const minP = new Int32Array(buf, minPPtr, G * C);
  forGridBlocks(input, inputStart, firstMs, numMs, S, w, C, (r0, rows, gs, outMs0, count) => {
    inView.set(input.subarray(r0 * C, (r0 + rows) * C));
    inst.filter(0, C, rows, groups, outMs0 - gs, count, outPtr, minVPtr, minPPtr, xPtr, aPtr, bPtr, aw, an);
    const slot = destMs + outMs0 - firstMs;
    if (dest.data.length > 0) dest.data.set(out.subarray(0, count * C * S), slot * C * S);
    if (dest.firstSamples) copyFirstSamples(out, count, C, S, 0, groups * 2, dest.firstSamples, slot);
    dest.minVal.set(minV.subarray(0, count * C), slot * C);
    dest.minPos.set(minP.subarray(0, count * C), slot * C);
  });
  return groups * 2;
}
