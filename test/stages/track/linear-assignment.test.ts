import { describe, expect, it } from 'vitest';
import { solveAssignment } from '../../../src/stages/track/linear-assignment.js';

import { mulberry32 } from '../../random.js';

/** Exhaustive minimum over all injective maps of the smaller side into the larger. */
function bruteForce(cost: Float64Array, rows: number, cols: number): number {
  const transposed = rows > cols;
  const n = transposed ? cols : rows;
  const m = transposed ? rows : cols;
  const at = (i: number, j: number) => (transposed ? cost[j * cols + i] : cost[i * cols + j]);
  const used = new Uint8Array(m);
  let best = Infinity;
  const rec = (i: number, acc: number) => {
    if (i === n) {
      if (acc < best) best = acc;
      return;
    }
    for (let j = 0; j < m; j++) {
      if (used[j]) continue;
      used[j] = 1;
      rec(i + 1, acc + at(i, j));
      used[j] = 0;
    }
  };
  rec(0, 0);
  return best;
}

function checkValid(rowToCol: Int32Array, cost: Float64Array, rows: number, cols: number, total: number) {
  expect(rowToCol.length).toBe(rows);
  const seen = new Set<number>();
  let assigned = 0;
  let sum = 0;
  for (let i = 0; i < rows; i++) {
    const j = rowToCol[i];
    if (j === -1) continue;
    expect(j).toBeGreaterThanOrEqual(0);
    expect(j).toBeLessThan(cols);
    expect(seen.has(j)).toBe(false);
    seen.add(j);
    assigned++;
    sum += cost[i * cols + j];
  }
  expect(assigned).toBe(Math.min(rows, cols));
  expect(total).toBeCloseTo(sum, 9);
}

describe('solveAssignment', () => {
  it('handles empty sides', () => {
    expect(Array.from(solveAssignment(new Float64Array(0), 0, 0).rowToCol)).toEqual([]);
    const r = solveAssignment(new Float64Array(0), 3, 0);
    expect(Array.from(r.rowToCol)).toEqual([-1, -1, -1]);
    expect(r.total).toBe(0);
    expect(solveAssignment(new Float64Array(0), 0, 4).rowToCol.length).toBe(0);
  });

  it('solves a known 3x3 case', () => {
    const cost = Float64Array.from([4, 1, 3, 2, 0, 5, 3, 2, 2]);
    const r = solveAssignment(cost, 3, 3);
    expect(r.total).toBe(5);
    expect(Array.from(r.rowToCol)).toEqual([1, 0, 2]);
  });

  it('leaves the most expensive row unassigned when rows > cols', () => {
    const cost = Float64Array.from([1, 100, 100, 2, 50, 60]);
    const r = solveAssignment(cost, 3, 2);
    expect(Array.from(r.rowToCol)).toEqual([0, 1, -1]);
    expect(r.total).toBe(3);
  });

  it('matches brute force on random matrices (square, rectangular, ties, zeros, large values)', () => {
    const rand = mulberry32(12345);
    for (let trial = 0; trial < 600; trial++) {
      const rows = 1 + Math.floor(rand() * 6);
      const cols = 1 + Math.floor(rand() * 6);
      const kind = trial % 5;
      const cost = new Float64Array(rows * cols);
      for (let k = 0; k < cost.length; k++) {
        if (kind === 0) cost[k] = rand() * 10;
        else if (kind === 1) cost[k] = Math.floor(rand() * 3); // many ties
        else if (kind === 2) cost[k] = rand() < 0.6 ? 0 : rand(); // mostly zeros
        else if (kind === 3) cost[k] = Math.floor(rand() * 1e6) * 1e6; // large, exactly representable
        else cost[k] = 5; // all equal
      }
      const r = solveAssignment(cost, rows, cols);
      checkValid(r.rowToCol, cost, rows, cols, r.total);
      const best = bruteForce(cost, rows, cols);
      if (kind === 3) expect(r.total).toBe(best);
      else expect(r.total).toBeCloseTo(best, 9);
    }
  });

  it('handles negative costs', () => {
    const rand = mulberry32(7);
    for (let trial = 0; trial < 100; trial++) {
      const rows = 1 + Math.floor(rand() * 5);
      const cols = 1 + Math.floor(rand() * 5);
      const cost = Float64Array.from({ length: rows * cols }, () => rand() * 20 - 10);
      const r = solveAssignment(cost, rows, cols);
      checkValid(r.rowToCol, cost, rows, cols, r.total);
      expect(r.total).toBeCloseTo(bruteForce(cost, rows, cols), 9);
    }
  });

  it('is deterministic and solves a larger instance consistently', () => {
    const rand = mulberry32(99);
    const n = 60;
    const m = 45;
    const cost = Float64Array.from({ length: n * m }, () => rand());
    const a = solveAssignment(cost, n, m);
    const b = solveAssignment(cost, n, m);
    expect(Array.from(a.rowToCol)).toEqual(Array.from(b.rowToCol));
    checkValid(a.rowToCol, cost, n, m, a.total);
    // Transposing the problem must give the same optimum.
    const t = new Float64Array(m * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) t[j * n + i] = cost[i * m + j];
    expect(solveAssignment(t, m, n).total).toBeCloseTo(a.total, 9);
  });

  it('rejects bad input with the parameter named', () => {
    expect(() => solveAssignment(new Float64Array(5), 2, 3)).toThrow(/rows\*cols/);
    expect(() => solveAssignment(new Float64Array(0), -1, 0)).toThrow(/rows/);
    expect(() => solveAssignment(Float64Array.from([NaN]), 1, 1)).toThrow(/not finite/);
  });
});
