// Small helpers shared by the SVG pictures: escaping, axis ticks, unit colours.

export function esc(s: string | number): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** "Nice" tick positions (steps of 1, 2 or 5 x 10^k) covering [lo, hi], about `target` of them. */
export function niceTicks(lo: number, hi: number, target = 8): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  const first = Math.ceil(lo / step - 1e-9) * step;
  for (let v = first; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Tick label without float noise: 0.30000000000000004 -> "0.3". */
export function fmtTick(v: number): string {
  return String(Number(v.toPrecision(6)));
}

/** Distinct, readable colour per row index (golden-angle hue walk). */
export function unitColor(i: number): string {
  const hue = (i * 137.508) % 360;
  return `hsl(${hue.toFixed(1)},65%,42%)`;
}

/** Coordinates with at most 2 decimals keep SVG small without visible loss. */
export function n2(v: number): string {
  return String(Math.round(v * 100) / 100);
}
