// One self-contained HTML page summarising a sorting: raster, per-unit waveforms on the probe
// layout, amplitude and position over time (drift shows up as a sloping position), firing
// rates and, with ground truth, accuracy per unit. No network: every picture is inline SVG,
// the only script is inline and only adds highlighting and a render check.

import { checkOptionNames } from '../core/params.js';
import fs from 'node:fs';
import type { Recording } from '../formats/recording.js';
import { rasterPlotSvg } from './raster.js';
import { esc, fmtTick, n2, niceTicks, unitColor } from './svg.js';
import { bestChannel, meanAmplitude, validIds, type SortingResultLike } from './types.js';
import { meanWaveforms, type MeanWaveforms } from './waveforms.js';

/** One row of a ground-truth comparison, in the shape the report draws. */
export interface AccuracyRow {
  gtUnit: string | number;
  /** Matched sorted cluster id, or null when the GT unit was not found. */
  sortedUnit: number | null;
  accuracy: number;
  precision: number;
  recall: number;
  snr?: number;
  numSpikes?: number;
}

export interface ReportAccuracy {
  rows: AccuracyRow[];
  /** Lines shown above the table (e.g. "well detected: 12 / 15"). */
  headline?: string[];
}

export interface ReportInput {
  result: SortingResultLike;
  /** The sorted recording: mean filtered waveforms are read from it. Without it the report draws amplitude footprints. */
  recording?: Recording;
  /** Precomputed waveforms (same order as the valid ids); skips reading the recording. */
  waveforms?: MeanWaveforms;
  accuracy?: ReportAccuracy;
  title?: string;
  /** Extra key/value lines for the summary table (backend, sorting time, source files...). */
  meta?: Record<string, string | number>;
  /** Spikes averaged per unit for waveforms. Default 100. */
  maxSpikesPerUnit?: number;
}

/** Channels nearest to `center` in the probe plane, at most `k`, nearest first. */
function nearestChannels(geometry: number[][], center: number, k: number): number[] {
  const [cx, cy] = geometry[center];
  return geometry
    .map(([x, y], c) => ({ c, d: (x - cx) ** 2 + (y - cy) ** 2 }))
    .sort((a, b) => a.d - b.d || a.c - b.c)
    .slice(0, k)
    .map((e) => e.c);
}

/** Typical spacing between sites along each axis (smallest non-zero gap), for scaling glyphs. */
function pitch(values: number[], fallback: number): number {
  const sorted = [...new Set(values.map((v) => Math.round(v * 1000) / 1000))].sort((a, b) => a - b);
  let best = Infinity;
  for (let i = 1; i < sorted.length; i++) best = Math.min(best, sorted[i] - sorted[i - 1]);
  return Number.isFinite(best) && best > 0 ? best : fallback;
}

/**
 * The unit's mean waveform drawn at each nearby site's position on the probe (y up = deeper
 * sites higher, as probe drawings usually are), or, without waveforms, a disc per site whose
 * radius follows the amplitude vector.
 */
function probeGlyph(
  geometry: number[][],
  channels: number[],
  amp: Float32Array,
  color: string,
  wave?: { data: Float32Array; nt: number; C: number; samplingFrequency: number; microvoltsPerUnit: number | null },
): string {
  const W = 220;
  const H = 220;
  const xs = channels.map((c) => geometry[c][0]);
  const ys = channels.map((c) => geometry[c][1]);
  const px = pitch(xs, 30);
  const py = pitch(ys, 20);
  const minX = Math.min(...xs) - px * 0.6;
  const maxX = Math.max(...xs) + px * 0.6;
  const minY = Math.min(...ys) - py;
  const maxY = Math.max(...ys) + py;
  // Independent x and y scales: probes are tall and narrow, and a true-aspect drawing would
  // leave the waveforms a few pixels wide.
  const sx = (W - 10) / Math.max(1e-9, maxX - minX);
  const sy = (H - 10) / Math.max(1e-9, maxY - minY);
  const X = (x: number) => 5 + (x - minX) * sx;
  const Y = (y: number) => H - 5 - (y - minY) * sy;
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" class="probe" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`];
  for (const c of channels) {
    parts.push(`<circle cx="${n2(X(geometry[c][0]))}" cy="${n2(Y(geometry[c][1]))}" r="1.5" fill="#bbb"><title>channel ${c}</title></circle>`);
  }
  if (wave) {
    let peak = 0;
    for (const c of channels) for (let t = 0; t < wave.nt; t++) peak = Math.max(peak, Math.abs(wave.data[t * wave.C + c]));
    const glyphW = px * sx * 0.8;
    const glyphH = py * sy * 1.6;
    for (const c of channels) {
      const cx = X(geometry[c][0]);
      const cy = Y(geometry[c][1]);
      let d = '';
      for (let t = 0; t < wave.nt; t++) {
        const x = cx - glyphW / 2 + (glyphW * t) / Math.max(1, wave.nt - 1);
        const y = cy - (peak > 0 ? (wave.data[t * wave.C + c] / peak) * (glyphH / 2) : 0);
        d += `${t === 0 ? 'M' : 'L'}${n2(x)} ${n2(y)}`;
      }
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.2"/>`);
    }
    // Scale bars, bottom left: the waveform's duration and its largest excursion (in µV when the
    // recording's format gives the gain, else in the file's filtered units).
    if (peak > 0) {
      const ms = (1000 * Math.max(1, wave.nt - 1)) / wave.samplingFrequency;
      const value = wave.microvoltsPerUnit !== null ? `${+(peak * wave.microvoltsPerUnit).toPrecision(3)} µV` : `${+peak.toPrecision(3)} (filtered units)`;
      const x0 = 6;
      const y0 = H - 6;
      parts.push(`<g class="scale-bar" stroke="#333" stroke-width="1.2" font-family="sans-serif" font-size="9" fill="#333">` +
        `<line x1="${x0}" y1="${y0}" x2="${n2(x0 + glyphW)}" y2="${y0}"/><line x1="${x0}" y1="${y0}" x2="${x0}" y2="${n2(y0 - glyphH / 2)}"/>` +
        `<text x="${n2(x0 + glyphW + 3)}" y="${y0 + 3}" stroke="none">${ms.toFixed(1)} ms</text>` +
        `<text x="${x0 + 3}" y="${n2(y0 - glyphH / 2 + 3)}" stroke="none">${esc(value)}</text></g>`);
    }
  } else {
    let peak = 0;
    for (const c of channels) peak = Math.max(peak, amp[c]);
    const rMax = Math.min(px * sx, py * sy) * 0.5;
    for (const c of channels) {
      const r = peak > 0 ? Math.max(0, amp[c] / peak) * rMax : 0;
      parts.push(`<circle cx="${n2(X(geometry[c][0]))}" cy="${n2(Y(geometry[c][1]))}" r="${n2(r)}" fill="${color}" fill-opacity="0.55"/>`);
    }
  }
  parts.push('</svg>');
  return parts.join('');
}

/** How a unit is named everywhere in the report: the sorter's id and the Phy cluster id (exportPhy numbers valid ids 0..n-1 in order). */
function unitLabel(id: number, phyIndex: number): string {
  return `unit ${id} (Phy ${phyIndex})`;
}

/** Colour key of the depth and amplitude charts: one swatch per unit. */
function legend(series: { color: string; label?: string }[]): string {
  return '<div class="legend">' + series.map((s) => `<span><i style="background:${s.color}"></i>${esc(s.label ?? '')}</span>`).join('') + '</div>';
}

/** Generic small line chart: one or more series of (x, y) points. */
function lineChart(
  series: { points: [number, number][]; color: string; label?: string }[],
  opts: { width: number; height: number; xLabel: string; yLabel: string; cls: string; xRange?: [number, number]; fromZero?: boolean },
): string {
  const { width: W, height: H } = opts;
  const m = { l: 48, r: 10, t: 10, b: 34 };
  const all = series.flatMap((s) => s.points);
  const xsAll = all.map((p) => p[0]);
  const ysAll = all.map((p) => p[1]);
  let x0 = opts.xRange ? opts.xRange[0] : Math.min(...xsAll);
  let x1 = opts.xRange ? opts.xRange[1] : Math.max(...xsAll);
  if (!Number.isFinite(x0) || !Number.isFinite(x1)) [x0, x1] = [0, 1];
  let y0 = Math.min(...ysAll);
  let y1 = Math.max(...ysAll);
  if (!Number.isFinite(y0) || !Number.isFinite(y1)) {
    y0 = 0;
    y1 = 1;
  }
  // Amplitudes from zero: a change from 23 to 26 must look like the 13 % it is.
  if (opts.fromZero) {
    y0 = Math.min(0, y0);
    y1 = Math.max(0, y1);
  }
  if (y1 - y0 < 1e-9) {
    y0 -= 1;
    y1 += 1;
  }
  const pad = (y1 - y0) * 0.08;
  if (!opts.fromZero || y0 < 0) y0 -= pad;
  y1 += pad;
  if (x1 <= x0) x1 = x0 + 1;
  const X = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const Y = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" class="${opts.cls}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="10">`];
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="#fafafa" stroke="#999"/>`);
  for (const v of niceTicks(y0, y1, 4)) {
    parts.push(`<text x="${m.l - 4}" y="${n2(Y(v) + 3)}" text-anchor="end">${fmtTick(v)}</text>`);
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${n2(Y(v))}" y2="${n2(Y(v))}" stroke="#e4e4e4"/>`);
  }
  for (const v of niceTicks(x0, x1, 5)) {
    parts.push(`<text x="${n2(X(v))}" y="${H - m.b + 13}" text-anchor="middle">${fmtTick(v)}</text>`);
  }
  parts.push(`<text x="${n2((m.l + W - m.r) / 2)}" y="${H - 4}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  parts.push(`<text transform="translate(11 ${n2((m.t + H - m.b) / 2)}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`);
  for (const s of series) {
    if (!s.points.length) continue;
    const d = s.points.map(([x, y], i) => `${i ? 'L' : 'M'}${n2(X(x))} ${n2(Y(y))}`).join('');
    parts.push(`<g>${s.label ? `<title>${esc(s.label)}</title>` : ''}<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"/>`);
    for (const [x, y] of s.points) parts.push(`<circle cx="${n2(X(x))}" cy="${n2(Y(y))}" r="2" fill="${s.color}"/>`);
    parts.push('</g>');
  }
  parts.push('</svg>');
  return parts.join('');
}

/** Amplitude-weighted mean site position (x, y) of an amplitude vector: where the unit sits. */
export function centroid(geometry: number[][], amp: Float32Array): [number, number] {
  let sx = 0;
  let sy = 0;
  let s = 0;
  // Squared weights keep far, noise-level channels from dragging the estimate to the probe centre.
  for (let c = 0; c < amp.length; c++) {
    const w = Math.max(0, amp[c]) ** 2;
    sx += w * geometry[c][0];
    sy += w * geometry[c][1];
    s += w;
  }
  return s > 0 ? [sx / s, sy / s] : [NaN, NaN];
}

function barChart(values: { label: string; value: number; color: string }[], opts: { width: number; yLabel: string }): string {
  const H = 180;
  const W = opts.width;
  const m = { l: 48, r: 10, t: 10, b: 34 };
  const max = Math.max(1e-9, ...values.map((v) => v.value));
  const bw = (W - m.l - m.r) / Math.max(1, values.length);
  const Y = (v: number) => H - m.b - (v / max) * (H - m.t - m.b);
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" class="rates" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="10">`];
  for (const v of niceTicks(0, max, 4)) {
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${n2(Y(v))}" y2="${n2(Y(v))}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${m.l - 4}" y="${n2(Y(v) + 3)}" text-anchor="end">${fmtTick(v)}</text>`);
  }
  values.forEach((v, i) => {
    const x = m.l + i * bw;
    parts.push(`<rect x="${n2(x + bw * 0.1)}" y="${n2(Y(v.value))}" width="${n2(bw * 0.8)}" height="${n2(H - m.b - Y(v.value))}" fill="${v.color}"><title>unit ${esc(v.label)}: ${v.value.toFixed(2)} Hz</title></rect>`);
    if (values.length <= 60) parts.push(`<text x="${n2(x + bw / 2)}" y="${H - m.b + 12}" text-anchor="middle">${esc(v.label)}</text>`);
  });
  parts.push(`<text x="${n2((m.l + W - m.r) / 2)}" y="${H - 4}" text-anchor="middle">unit</text>`);
  parts.push(`<text transform="translate(11 ${n2((m.t + H - m.b) / 2)}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`);
  parts.push('</svg>');
  return parts.join('');
}

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:20px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 8px} h2{font-size:16px;margin:22px 0 8px;border-bottom:1px solid #ddd;padding-bottom:3px}
table{border-collapse:collapse;font-size:13px} td,th{padding:2px 10px 2px 0;text-align:left} th{border-bottom:1px solid #ccc}
td.num,th.num{text-align:right}
.units{display:flex;flex-wrap:wrap;gap:12px}
.unit{border:1px solid #ddd;border-radius:6px;padding:8px;width:232px;font-size:12px}
.unit h3{margin:0 0 4px;font-size:14px}
.unit.hl{outline:3px solid #f5a623}
.raster-row{cursor:pointer}
.note{color:#666;font-size:12px}
.legend{display:flex;flex-wrap:wrap;gap:4px 12px;font-size:11px;max-width:960px;margin:4px 0 12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
`;

// Records any script error into a DOM attribute before anything else runs, so a headless
// browser's --dump-dom shows it; then checks that each unit card's pictures have a laid-out size.
const ERROR_TRAP = `<script>
(function(){var d=document.documentElement;d.setAttribute('data-errors','');
function rec(m){d.setAttribute('data-errors',(d.getAttribute('data-errors')||'')+'['+m+']');}
window.addEventListener('error',function(e){rec(e.message||'error');});
window.addEventListener('unhandledrejection',function(e){rec('unhandled rejection: '+(e.reason&&e.reason.message||e.reason));});
var ce=console.error;console.error=function(){rec(Array.prototype.join.call(arguments,' '));return ce.apply(console,arguments);};})();
</script>`;

const BEHAVIOUR = `<script>
(function(){
var cards=document.querySelectorAll('section.unit[data-unit]');var drawn=0;
cards.forEach(function(card){var svg=card.querySelector('svg');if(svg){var r=svg.getBoundingClientRect();if(r.width>0&&r.height>0)drawn++;}});
document.body.setAttribute('data-drawn-units',String(drawn));
document.querySelectorAll('.raster-row').forEach(function(row){row.addEventListener('click',function(){
var card=document.getElementById('unit-'+row.getAttribute('data-cluster'));
document.querySelectorAll('section.unit.hl').forEach(function(c){c.classList.remove('hl');});
if(card){card.classList.add('hl');card.scrollIntoView({behavior:'smooth',block:'center'});}});});
})();
</script>`;

/** Builds the report page as one HTML string. */
export function buildReport(input: ReportInput): string {
  checkOptionNames('buildReport', input, ['result', 'recording', 'waveforms', 'accuracy', 'title', 'meta', 'maxSpikesPerUnit']);
  const { result } = input;
  const geometry = result.probeGeometry;
  const C = geometry.length;
  const fsHz = result.samplingFrequency;
  const ids = validIds(result);
  const boundaries = result.segmentBoundaries();
  const start = boundaries.length ? boundaries[0][0] : 0;
  const end = boundaries.length ? boundaries[boundaries.length - 1][1] : 0;
  const seconds = (end - start) / fsHz;
  let waves = input.waveforms;
  if (!waves && input.recording) {
    // Only the channels each unit's picture shows (the same 16 nearest as below) are averaged.
    const shown = (u: number) => nearestChannels(geometry, bestChannel(result.amplitudeVectors(ids[u])), Math.min(C, 16));
    waves = meanWaveforms(input.recording, result, ids, { maxSpikesPerUnit: input.maxSpikesPerUnit, channels: shown });
  }

  const ampVectors = ids.map((id) => result.amplitudeVectors(id));
  const counts = ids.map((id) => result.spikes(id).length);
  const rates = counts.map((n) => (seconds > 0 ? n / seconds : 0));
  const totalSpikes = counts.reduce((a, b) => a + b, 0);
  const mids = boundaries.map(([s, e]) => ((s + e) / 2) / fsHz);
  const xRange: [number, number] = [start / fsHz, end > start ? end / fsHz : start / fsHz + 1];

  const accByUnit = new Map<number, AccuracyRow>();
  for (const r of input.accuracy?.rows ?? []) if (r.sortedUnit !== null) accByUnit.set(r.sortedUnit, r);

  const html: string[] = [];
  const title = input.title ?? 'spikesift report';
  html.push('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">');
  html.push(`<title>${esc(title)}</title>`);
  html.push(ERROR_TRAP);
  html.push(`<style>${STYLE}</style></head><body>`);
  html.push(`<h1>${esc(title)}</h1>`);

  const summary: [string, string | number][] = [
    ['units', ids.length],
    ['spikes', totalSpikes],
    ['segments', boundaries.length],
    ['time span', `${fmtTick(start / fsHz)} – ${fmtTick(end / fsHz)} s (${seconds.toFixed(2)} s)`],
    ['sampling frequency', `${fsHz} Hz`],
    ['channels', C],
    ['waveforms', waves ? `mean DoG-filtered waveforms from the recording (≤ ${input.maxSpikesPerUnit ?? 100} spikes per unit)` : 'no recording given: amplitude footprints'],
    ...Object.entries(input.meta ?? {}),
  ];
  html.push('<table class="summary">' + summary.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('') + '</table>');

  html.push('<h2>Raster</h2><p class="note">One row per unit; shaded bands are the sorter\'s segments. Click a row to find its unit below.</p>');
  html.push(rasterPlotSvg(result, { width: 960 }));

  html.push('<h2>Position and amplitude over time</h2><p class="note">Per segment: amplitude-weighted depth of each unit (drift shows as a slope) and its amplitude on its best channel.</p>');
  const posSeries = ids.map((id, u) => ({
    points: ampVectors[u].map((a, s) => [mids[s], centroid(geometry, a)[1]] as [number, number]).filter((p) => Number.isFinite(p[1])),
    color: unitColor(u),
    label: unitLabel(id, u),
  }));
  html.push(lineChart(posSeries, { width: 470, height: 260, xLabel: 'time (s)', yLabel: 'depth (µm)', cls: 'drift', xRange }));
  const ampSeries = ids.map((id, u) => {
    const b = bestChannel(ampVectors[u]);
    return { points: ampVectors[u].map((a, s) => [mids[s], a[b]] as [number, number]), color: unitColor(u), label: unitLabel(id, u) };
  });
  html.push(lineChart(ampSeries, { width: 470, height: 260, xLabel: 'time (s)', yLabel: 'amplitude (best channel)', cls: 'amplitude', xRange, fromZero: true }));
  html.push(legend(ampSeries));

  html.push('<h2>Firing rates</h2>');
  html.push(barChart(ids.map((id, u) => ({ label: String(id), value: rates[u], color: unitColor(u) })), { width: 960, yLabel: 'rate (Hz)' }));

  if (input.accuracy) {
    html.push('<h2>Accuracy against ground truth</h2>');
    for (const line of input.accuracy.headline ?? []) html.push(`<p>${esc(line)}</p>`);
    const rows = [...input.accuracy.rows].sort((a, b) => b.accuracy - a.accuracy);
    html.push(
      '<table class="accuracy"><tr><th>GT unit</th><th>sorted unit</th><th class="num">accuracy</th><th class="num">precision</th><th class="num">recall</th><th class="num">SNR</th></tr>' +
        rows
          .map(
            (r) =>
              `<tr><td>${esc(r.gtUnit)}</td><td>${r.sortedUnit === null ? '—' : esc(r.sortedUnit)}</td><td class="num">${r.accuracy.toFixed(3)}</td><td class="num">${r.precision.toFixed(3)}</td><td class="num">${r.recall.toFixed(3)}</td><td class="num">${r.snr === undefined ? '' : r.snr.toFixed(1)}</td></tr>`,
          )
          .join('') +
        '</table>',
    );
  }

  html.push('<h2>Units</h2><div class="units">');
  // µV per stored unit when the recording's format says it (SpikeGLX, Open Ephys).
  const gain = input.recording?.gainToMicrovolts ?? null;
  ids.forEach((id, u) => {
    const amp = meanAmplitude(ampVectors[u], C);
    const b = bestChannel(ampVectors[u]);
    const chans = nearestChannels(geometry, b, Math.min(C, 16));
    const color = unitColor(u);
    const glyph = probeGlyph(geometry, chans, amp, color, waves ? { data: waves.waveforms[u], nt: waves.numSamples, C, samplingFrequency: fsHz, microvoltsPerUnit: gain ? gain[b] : null } : undefined);
    const [cx, cy] = centroid(geometry, amp);
    const ampOverTime = lineChart([ampSeries[u]], { width: 216, height: 110, xLabel: 'time (s)', yLabel: 'amplitude', cls: 'unit-amplitude', xRange, fromZero: true });
    const acc = accByUnit.get(id);
    html.push(
      `<section class="unit" data-unit="${id}" id="unit-${id}"><h3 style="color:${color}">${unitLabel(id, u)}</h3>` +
        `<div>${counts[u]} spikes · ${rates[u].toFixed(2)} Hz · best channel ${b} · at (${Number.isFinite(cx) ? cx.toFixed(0) : '?'}, ${Number.isFinite(cy) ? cy.toFixed(0) : '?'}) µm · amplitude ${amp[b].toFixed(1)}${gain ? ` (${(amp[b] * gain[b]).toFixed(0)} µV)` : ''}</div>` +
        (acc ? `<div>GT ${esc(acc.gtUnit)}: accuracy ${acc.accuracy.toFixed(3)}</div>` : '') +
        glyph +
        ampOverTime +
        '</section>',
    );
  });
  html.push('</div>');
  html.push(`<p class="note">Generated by spikesift. Amplitudes are in the recording's units (negated mean per-ms minima of the filtered signal).</p>`);
  html.push(BEHAVIOUR);
  html.push('</body></html>');
  return html.join('\n');
}

/** Builds the report and writes it to `path`. */
export function writeReport(path: string, input: ReportInput): void {
  fs.writeFileSync(path, buildReport(input));
}
