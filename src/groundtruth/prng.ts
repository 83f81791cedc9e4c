// Seeded randomness for the generator. Math.random cannot be seeded, and the generator must
// produce byte-identical files for a seed on every platform, so everything random flows from
// xoshiro128** streams whose state is derived from (seed, stream id) by splitmix32.

/** splitmix32 step on a 32-bit state; returns [newState, output]. Used only to expand seeds. */
function splitmix32(state: number): [number, number] {
  state = (state + 0x9e3779b9) | 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [state, z >>> 0];
}

/** Stream ids keep independent parts of the generator independent of each other's draw counts. */
export const STREAM = {
  units: 1,
  background: 2,
  noise: 3,
  channels: 4,
  lfp: 5,
  sparse: 6,
  lifetime: 7,
  /** Per-unit spike trains use UNIT_TRAIN_BASE + unit index so adding units leaves others' trains unchanged. */
  unitTrainBase: 1000,
  backgroundTrainBase: 1_000_000,
} as const;

export class Rng {
  /** xoshiro128** state; kept public so hot loops can copy it into locals and write it back. */
  s0: number; s1: number; s2: number; s3: number;
  #spare = 0;
  #hasSpare = false;

  constructor(seed: number, stream = 0) {
    // Mix both 32-bit halves of a safe-integer seed and the stream id into the initial state.
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 4294967296) >>> 0;
    let st = (lo ^ Math.imul(hi, 0x27d4eb2d) ^ Math.imul(stream + 1, 0x165667b1)) | 0;
    let out: number;
    [st, out] = splitmix32(st); this.s0 = out | 0;
    [st, out] = splitmix32(st ^ hi); this.s1 = out | 0;
    [st, out] = splitmix32(st); this.s2 = out | 0;
    [st, out] = splitmix32(st ^ stream); this.s3 = out | 0;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next uniform 32-bit unsigned integer (xoshiro128**). */
  nextU32(): number {
    const s1 = this.s1;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r >>> 0;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const a = this.nextU32() >>> 5;
    const b = this.nextU32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Log-uniform in [lo, hi] (both > 0): equal density per octave. */
  logRange(lo: number, hi: number): number {
    return Math.exp(this.range(Math.log(lo), Math.log(hi)));
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal by the polar Box-Muller method (low-volume use; noise uses the table). */
  normal(): number {
    if (this.#hasSpare) {
      this.#hasSpare = false;
      return this.#spare;
    }
    let u: number, v: number, s: number;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt(-2 * Math.log(s) / s);
    this.#spare = v * f;
    this.#hasSpare = true;
    return u * f;
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.uniform());
  }
}

export function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * Inverse of the standard normal CDF (Acklam's rational approximation, refined by one
 * Halley step on an erfc series), accurate to ~1e-12 over (0, 1).
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), received ${p}`);
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const plow = 0.02425;
  let x: number;
  if (p < plow) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  } else if (p <= 1 - plow) {
    const q = p - 0.5;
    const r = q * q;
    x = (((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  const e = 0.5 * erfc(-x / Math.SQRT2) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

/** Complementary error function (Numerical Recipes' Chebyshev fit, ~1.2e-7 relative). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}

let gaussTable: Float32Array | undefined;

/**
 * 65536 equiprobable standard-normal values (quantiles at (i + 0.5) / 65536, rescaled to unit
 * variance). Bulk noise indexes it with 16 random bits: one PRNG word gives two samples, far
 * cheaper than Box-Muller's log/sqrt/cos per sample, and the tails reach ±4.2 sd.
 */
export function gaussianTable(): Float32Array {
  if (gaussTable) return gaussTable;
  const n = 65536;
  const t = new Float64Array(n);
  for (let i = 0; i < n / 2; i++) {
    const v = normalQuantile((i + 0.5) / n);
    t[i] = v;
    t[n - 1 - i] = -v; // exact symmetry: zero mean by construction
  }
  let ss = 0;
  for (let i = 0; i < n; i++) ss += t[i]! * t[i]!;
  const scale = 1 / Math.sqrt(ss / n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = t[i]! * scale;
  // Shuffle-free: indices come from random bits, so order does not matter.
  gaussTable = out;
  return out;
}
