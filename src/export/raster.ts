// Raster plot of a sorting as a standalone SVG string: one row per valid cluster, a tick per
// spike, and alternating background bands marking the sorter's segments (as in the original
// usage guide's plot), time axis in seconds.

import { checkOptionNames } from '../core/params.js';
import { esc, fmtTick, n2, niceTicks, unitColor } from './svg.js';
import { validIds, type SortingResultLike } from './types.js';

export interface RasterOptions {
  /** Hz; default the result's sampling frequency. */
  samplingFrequency?: number;
  /** Total SVG width in px. Default 900. */
  width?: number;
  /** Total SVG height in px. Default: 14 px per unit plus margins, at least 160. */
  height?: number;
  /** Title drawn above the plot. Default none. */
  title?: string;
}

const MARGIN = { left: 56, right: 12, top: 18, bottom: 40 };

/**
 * Returns the raster as an SVG document fragment (an <svg> element with xmlns, usable inline
 * in HTML or saved as a .svg file). Spikes that fall on the same pixel column of a row are
 * drawn once, so the size is bounded by width x units, not by the number of spikes.
 */
export function rasterPlotSvg(result: SortingResultLike, options: RasterOptions = {}): string {
  checkOptionNames('rasterPlotSvg', options, ['samplingFrequency', 'width', 'height', 'title']);
  const fsHz = options.samplingFrequency ?? result.samplingFrequency;
  if (!(fsHz > 0)) throw new Error(`samplingFrequency must be a positive number of Hz, got ${fsHz}`);
  const ids = validIds(result);
  const boundaries = result.segmentBoundaries();
  const width = options.width ?? 900;
  const titleSpace = options.title ? 16 : 0;
  const height = options.height ?? Math.max(160, MARGIN.top + titleSpace + MARGIN.bottom + 14 * Math.max(1, ids.length));
  const plotW = Math.max(10, width - MARGIN.left - MARGIN.right);
  const top = MARGIN.top + titleSpace;
  const plotH = Math.max(10, height - top - MARGIN.bottom);
  const t0 = boundaries.length ? boundaries[0][0] / fsHz : 0;
  const t1 = boundaries.length ? boundaries[boundaries.length - 1][1] / fsHz : 1;
  const span = t1 > t0 ? t1 - t0 : 1;
  const xOf = (sec: number) => MARGIN.left + ((sec - t0) / span) * plotW;
  const rowH = plotH / Math.max(1, ids.length);

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="raster" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
  );
  if (options.title) parts.push(`<text x="${MARGIN.left}" y="${MARGIN.top + 4}" font-size="13" font-weight="bold">${esc(options.title)}</text>`);
  // Segment bands alternate so segment changes (where drift was handled) are visible.
  boundaries.forEach(([s, e], i) => {
    const x0 = xOf(s / fsHz);
    const x1 = xOf(e / fsHz);
    parts.push(
      `<rect class="segment" data-segment="${i}" x="${n2(x0)}" y="${top}" width="${n2(Math.max(0, x1 - x0))}" height="${n2(plotH)}" fill="${i % 2 === 0 ? '#e9eef5' : '#ffffff'}"><title>segment ${i}: ${fmtTick(s / fsHz)}–${fmtTick(e / fsHz)} s</title></rect>`,
    );
  });
  parts.push(`<rect x="${MARGIN.left}" y="${top}" width="${plotW}" height="${n2(plotH)}" fill="none" stroke="#888"/>`);

  ids.forEach((id, row) => {
    const train = result.spikes(id);
    const yTop = top + row * rowH + rowH * 0.15;
    const tickH = Math.max(1, rowH * 0.7);
    const seen = new Set<number>();
    let d = '';
    for (let k = 0; k < train.length; k++) {
      const px = Math.round(xOf(train[k] / fsHz) * 2) / 2;
      if (seen.has(px)) continue;
      seen.add(px);
      d += `M${px} ${n2(yTop)}v${n2(tickH)}`;
    }
    const yMid = top + (row + 0.5) * rowH;
    parts.push(
      `<g class="raster-row" data-row="${row}" data-cluster="${id}"><title>unit ${id}: ${train.length} spikes</title>` +
        `<text x="${MARGIN.left - 6}" y="${n2(yMid + 4)}" text-anchor="end">${id}</text>` +
        (d ? `<path d="${d}" stroke="${unitColor(row)}" stroke-width="1" fill="none"/>` : '') +
        '</g>',
    );
  });

  for (const tick of niceTicks(t0, t1)) {
    const x = n2(xOf(tick));
    parts.push(`<line x1="${x}" x2="${x}" y1="${n2(top + plotH)}" y2="${n2(top + plotH + 4)}" stroke="#444"/>`);
    parts.push(`<text x="${x}" y="${n2(top + plotH + 16)}" text-anchor="middle">${fmtTick(tick)}</text>`);
  }
  parts.push(`<text x="${n2(MARGIN.left + plotW / 2)}" y="${height - 6}" text-anchor="middle">time (s)</text>`);
  parts.push(
    `<text transform="translate(14 ${n2(top + plotH / 2)}) rotate(-90)" text-anchor="middle">unit</text>`,
  );
  parts.push('</svg>');
  return parts.join('');
}
