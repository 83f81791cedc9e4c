/**
 * Minimum-cost rectangular linear assignment (shortest augmenting paths with dual
 * potentials, Jonker-Volgenant / Kuhn-Munkres family), O(n^2 m) for n <= m.
 *
 * Written here rather than wrapping a package because segment merging calls it once per
 * drift step for every pair of segments: a dependency-free float64 solver that works on the
 * flat row-major cost matrix avoids building matrix objects on every call.
 */

export interface AssignmentResult {
  /** rowToCol[i] = assigned column of row i, or -1 when the row is left unassigned (rows > cols). */
  rowToCol: Int32Array;
  /** Sum of the costs of the assigned pairs. */
  total: number;
}

function checkDimension(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`solveAssignment: ${name} must be a non-negative integer, received ${String(value)}`);
  }
}

/**
 * Min-cost assignment on a row-major `rows x cols` float64 cost matrix. When rows <= cols every
 * row is assigned a distinct column; when rows > cols exactly `cols` rows are assigned and the
 * others get -1. Costs must be finite (NaN/Infinity would make "minimum" meaningless).
 */
export function solveAssignment(cost: Float64Array, rows: number, cols: number): AssignmentResult {
  checkDimension('rows', rows);
  checkDimension('cols', cols);
  if (cost.length !== rows * cols) {
    throw new RangeError(
      `solveAssignment: cost has ${cost.length} entries but rows*cols = ${rows}*${cols} = ${rows * cols}; pass a row-major rows x cols matrix`,
    );
  }
  const bad = firstNonFinite(cost);
  if (bad >= 0) throw new RangeError(`solveAssignment: cost[${bad}] = ${cost[bad]} is not finite; all costs must be finite numbers`);
  const rowToCol = new Int32Array(rows).fill(-1);
  if (rows === 0 || cols === 0) return { rowToCol, total: 0 };

  // The algorithm needs the smaller side as "rows"; transpose when there are more rows.
  const transposed = rows > cols;
  const n = transposed ? cols : rows;
  const m = transposed ? rows : cols;
  // p[j] = row matched to column j (1-based; 0 = free)
  const p = augmentingPaths(cost, cols, transposed, n, m);
  let total = 0;
  for (let j = 1; j <= m; j++) {
    if (p[j] === 0) continue;
    const r = p[j] - 1;
    const c = j - 1;
    if (transposed) {
      rowToCol[c] = r;
      total += cost[c * cols + r];
    } else {
      rowToCol[r] = c;
      total += cost[r * cols + c];
    }
  }
  return { rowToCol, total };
}

// The finiteness check and the augmenting paths are functions of their own, and the cost
// accessor no closure made per call (see "Code shape" in stages/sort/kernels-cpu.ts; 17
// compilations per 1536-channel sort before).

/** Index of the first value of `a` that is not finite, or -1. */
function firstNonFinite(a: Float64Array): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return i;
  return -1;
}

/**
 * The shortest augmenting paths of the n <= m smaller side (rows, or the columns when
 * `transposed`) of the row-major cost matrix with `cols` columns; returns p with p[j] = the
 * 1-based row matched to the 1-based column j (0: free).
 */
function augmentingPaths(cost: Float64Array, cols: number, transposed: boolean, n: number, m: number): Int32Array {
  // 1-based arrays as in the textbook formulation; index 0 is the virtual source column.
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1);
  const way = new Int32Array(m + 1);
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);

  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = Infinity;
      let j1 = -1;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = (transposed ? cost[(j - 1) * cols + (i0 - 1)] : cost[(i0 - 1) * cols + (j - 1)]) - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        // Strict comparison: ties pick the lowest column index, which keeps results deterministic.
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 !== 0);
  }
  return p;
}
