/**
 * The tracking's drift search shared with helper threads (pipeline/shift-helpers.ts): the same
 * mapping, shift and total as on one thread, the helpers really take shifts, a helper that
 * never finishes the shift it claimed delays the search but does not change or stop it, and a
 * sort of a 1536-channel probe's geometry tracks identically with helpers; and the recovery
 * pass's segment searches on a helper give the calling thread's results.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { abandonShiftJob, assignClustersDetailed, shiftJobViews, withShiftHelpers, type ShiftHelpers, type ShiftJob } from '../../src/stages/track/assignment.js';
import { ShiftHelperThreads, predictedSearchTerms } from '../../src/pipeline/shift-helpers.js';
import { buildTracks } from '../../src/stages/track/tracks.js';
import { recoverSegment, type RecoveryJob } from '../../src/pipeline/recover.js';
import { cpuSortKernels } from '../../src/stages/sort/kernels-cpu.js';
import { mulberry32 } from '../random.js';

/** Units of a two-column probe: a bump at a site per unit plus noise, moved by `driftUm` in the second segment. */
function units(k: number, C: number, seed: number, driftUm = 0): { vectors: Float32Array[]; geometry: Float32Array } {
  const rnd = mulberry32(seed);
  const geometry = new Float32Array(2 * C);
  for (let c = 0; c < C; c++) {
    geometry[2 * c] = (c % 2) * 32;
    geometry[2 * c + 1] = Math.floor(c / 2) * 20;
  }
  const site = mulberry32(seed + 1000);
  const vectors = Array.from({ length: k }, () => {
    const y0 = site() * (C / 2) * 20 + driftUm;
    const x0 = site() < 0.5 ? 0 : 32;
    const a = 50 + 100 * site();
    return Float32Array.from({ length: C }, (_, c) => {
      const d2 = (geometry[2 * c] - x0) ** 2 + (geometry[2 * c + 1] - y0) ** 2;
      return a * Math.exp(-d2 / (2 * 40 ** 2)) + 3 * rnd();
    });
  });
  return { vectors, geometry };
}

const threads: ShiftHelperThreads[] = [];
afterAll(() => { for (const t of threads) t.dispose(); });

describe('drift search with helper threads', () => {
  it('finds the same mapping, shift and total, with the helpers taking shifts', async () => {
    const C = 256;
    const a = units(60, C, 1);
    const b = units(64, C, 1, 15);
    const alone = assignClustersDetailed(a.vectors, b.vectors, a.geometry, 30);
    const helpers = new ShiftHelperThreads(2, 0);
    threads.push(helpers);
    await helpers.whenOnline();
    let posted = 0;
    const counting: ShiftHelpers = { minTerms: 0, post: (job) => { posted++; return helpers.post(job); } };
    const shared = withShiftHelpers(counting, () => assignClustersDetailed(a.vectors, b.vectors, a.geometry, 30));
    expect(posted).toBe(1);
    expect(shared.shiftUm).toBe(alone.shiftUm);
    expect(Object.is(shared.total, alone.total)).toBe(true);
    expect(Array.from(shared.mapping)).toEqual(Array.from(alone.mapping));
    // The helpers alone (the caller takes none): every shift's result equals the caller's own.
    const job: ShiftJob = { k1: 60, k2: 64, geometry: a.geometry, shifts: Float64Array.from([-30, -25, -20, -15, -10, -5, 0, 5, 10, 15, 20, 25, 30]), shared: new SharedArrayBuffer(1 << 20) };
    const views = shiftJobViews(job);
    a.vectors.forEach((v, i) => views.a1.set(v, i * C));
    b.vectors.forEach((v, i) => views.a2.set(v, i * C));
    expect(helpers.post(job)).toBe(true);
    const { control, totals } = views;
    const t0 = Date.now();
    while (Atomics.load(control, 1) < 13 && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 5));
    expect(Atomics.load(control, 1)).toBe(13);
    expect(Math.min(...totals)).toBe(alone.total);
    expect(totals[job.shifts.indexOf(alone.shiftUm)]).toBe(alone.total);
  }, 120_000);

  it('computes a shift a helper claimed and never finished, after its patience', () => {
    const C = 64;
    const a = units(20, C, 7);
    const b = units(22, C, 7, -10);
    const alone = assignClustersDetailed(a.vectors, b.vectors, a.geometry, 30);
    // A helper that claims the first two shifts and dies.
    const dead: ShiftHelpers = {
      minTerms: 0,
      post: (job) => {
        Atomics.add(shiftJobViews(job).control, 0, 2);
        return true;
      },
    };
    const t0 = performance.now();
    const got = withShiftHelpers(dead, () => assignClustersDetailed(a.vectors, b.vectors, a.geometry, 30));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1900);
    expect(got.shiftUm).toBe(alone.shiftUm);
    expect(got.total).toBe(alone.total);
    expect(Array.from(got.mapping)).toEqual(Array.from(alone.mapping));
    // A helper that claims two shifts and says it gave up: no wait for its patience.
    const failing: ShiftHelpers = {
      minTerms: 0,
      post: (job) => {
        Atomics.add(shiftJobViews(job).control, 0, 2);
        abandonShiftJob(job);
        return true;
      },
    };
    const t1 = performance.now();
    const again = withShiftHelpers(failing, () => assignClustersDetailed(a.vectors, b.vectors, a.geometry, 30));
    expect(performance.now() - t1).toBeLessThan(1500);
    expect(again.total).toBe(alone.total);
    expect(Array.from(again.mapping)).toEqual(Array.from(alone.mapping));
    // Small searches never post: below minTerms the caller searches alone.
    let posted = 0;
    withShiftHelpers({ minTerms: 1e12, post: () => { posted++; return true; } }, () => assignClustersDetailed(a.vectors, b.vectors, a.geometry, 30));
    expect(posted).toBe(0);
    // Helpers not online: the caller searches alone.
    expect(withShiftHelpers({ minTerms: 0, post: () => false }, () => assignClustersDetailed(a.vectors, b.vectors, a.geometry, 30)).total).toBe(alone.total);
  }, 30_000);

  it('builds the same tracks over segments with helpers as without', async () => {
    const C = 192;
    const segs = [0, 5, 12, 20].map((drift, s) => ({
      amplitudes: units(40 + s, C, 3, drift).vectors,
      spikes: Array.from({ length: 40 + s }, (_, u) => Float64Array.from({ length: 30 }, (_, i) => s * 1e6 + u * 7 + i * 1000)),
    }));
    const geometry = units(1, C, 3).geometry;
    const opts = { maxDrift: 30, maxSkippedSegments: 2, splitPieces: true };
    const alone = buildTracks(segs, geometry, opts);
    const helpers = new ShiftHelperThreads(1, 0);
    threads.push(helpers);
    await helpers.whenOnline();
    const shared = withShiftHelpers(helpers, () => buildTracks(segs, geometry, opts));
    expect(shared.tracks.map((t) => Array.from(t))).toEqual(alone.tracks.map((t) => Array.from(t)));
    expect(shared.links.map((t) => Array.from(t))).toEqual(alone.links.map((t) => Array.from(t)));
    expect(predictedSearchTerms([10, 20, 30], 100, 13)).toBe((200 + 600) * 100 * 13);
  }, 120_000);
});

describe('recovery searches on helper threads', () => {
  it("give the calling thread's results, every job claimed through the shared counter", async () => {
    const rnd = mulberry32(9);
    const M = 3000, C = 40, S = 30;
    const job = (seed: number): RecoveryJob => {
      const r = mulberry32(seed);
      const minVal = new Float32Array(new SharedArrayBuffer(M * C * 4));
      const minPos = new Uint8Array(new SharedArrayBuffer(M * C));
      for (let i = 0; i < M * C; i++) {
        minVal[i] = -r() * 2;
        minPos[i] = Math.floor(r() * S);
      }
      // Two units' spikes planted on channels 5-7 and 20-22, some of them missed by their trains.
      const planted = [Float64Array.from({ length: 40 }, (_, i) => 100 + i * 70), Float64Array.from({ length: 30 }, (_, i) => 130 + i * 90)];
      planted.forEach((t, u) => t.forEach((m) => { for (let d = 0; d < 3; d++) minVal[m * C + 5 + 15 * u + d] = -(8 + u * 3) * (1 - d * 0.2); }));
      const templates = [0, 1].map((u) => Float32Array.from({ length: C }, (_, c) => (c >= 5 + 15 * u && c < 8 + 15 * u ? (8 + u * 3) * (1 - (c - 5 - 15 * u) * 0.2) : 0.1 * rnd())));
      return {
        numMs: M, numChannels: C, samplesPerMs: S, base: 0, minVal, minPos, templates, numChosen: 2,
        units: [{ count: 20, amplitude: templates[0] }, null],
        spikes: [Float64Array.from(planted[0].subarray(0, 20), (m) => m * S + 3)], thresholds: new Float32Array(C).fill(-4),
      };
    };
    const jobs = [job(1), job(2), job(3)];
    const kernels = cpuSortKernels();
    const want = [];
    for (const j of jobs) want.push(await recoverSegment(j, kernels));
    expect(want.some((f) => f.some((x) => x !== null))).toBe(true);
    const h = new ShiftHelperThreads(1, 0);
    threads.push(h);
    await h.whenOnline();
    // The calling thread claims none here: the helper takes every job.
    const next = new Int32Array(new SharedArrayBuffer(4));
    const got = await h.share(jobs, next)!;
    expect(got.size).toBe(jobs.length);
    for (let i = 0; i < jobs.length; i++) expect(got.get(i)).toEqual(want[i]);
  });
});
