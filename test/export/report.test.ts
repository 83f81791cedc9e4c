import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Recording } from '../../src/formats/recording.js';
import { rasterPlotSvg } from '../../src/export/raster.js';
import { buildReport } from '../../src/export/report.js';
import { validIds } from '../../src/export/types.js';
import { chromiumAvailable, CHROMIUM, renderInChromium } from './chromium.js';
import { GEOMETRY, buildSorting, tempDir, writeRecording } from './helpers.js';

function count(text: string, re: RegExp): number {
  return text.match(re)?.length ?? 0;
}

describe('rasterPlotSvg', () => {
  it('draws one row per valid cluster, alternating segment bands and a seconds axis', () => {
    const { result } = buildSorting({ numSamples: 90000, offset: 30000, numSegments: 4, units: 5, broken: 2 });
    const svg = rasterPlotSvg(result, { width: 600 });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    expect(count(svg, /class="raster-row"/g)).toBe(4);
    expect([...svg.matchAll(/data-cluster="(\d+)"/g)].map((m) => Number(m[1]))).toEqual([0, 1, 3, 4]);
    const bands = [...svg.matchAll(/class="segment" data-segment="\d+" [^>]*fill="(#[0-9a-f]+)"/g)].map((m) => m[1]);
    expect(bands).toHaveLength(4);
    expect(bands[0]).not.toBe(bands[1]);
    expect(bands[0]).toBe(bands[2]);
    expect(bands[1]).toBe(bands[3]);
    // Axis from 1 s to 4 s (offset 30000 samples at 30 kHz).
    expect(svg).toContain('>time (s)</text>');
    expect(svg).toMatch(/>1<\/text>/);
    expect(svg).toMatch(/>4<\/text>/);
  });

  it('draws ticks once per pixel column, so size does not grow with spikes', () => {
    const small = rasterPlotSvg(buildSorting({ numSamples: 300000, units: 2, spikesPerUnitPerSegment: 200 }).result, { width: 400 });
    const large = rasterPlotSvg(buildSorting({ numSamples: 300000, units: 2, spikesPerUnitPerSegment: 5000 }).result, { width: 400 });
    expect(large.length).toBeLessThan(2 * 2 * 400 * 40);
    expect(small.length).toBeLessThan(large.length);
  });

  it('honours an explicit sampling frequency', () => {
    const { result } = buildSorting({ numSamples: 30000, units: 1 });
    // At 15 kHz the same 30000 samples span 2 s.
    expect(rasterPlotSvg(result, { samplingFrequency: 15000 })).toMatch(/>2<\/text>/);
    expect(() => rasterPlotSvg(result, { samplingFrequency: 0 })).toThrow(/samplingFrequency/);
  });
});

describe('buildReport', () => {
  it('holds the raster, a card per unit with waveforms, drift plots, rates and accuracy, and nothing from the network', () => {
    const dir = tempDir();
    const { result, trains } = buildSorting({ numSamples: 60000, numSegments: 3, units: 4, margin: 300, broken: 3 });
    writeRecording(path.join(dir, 'r.bin'), 60000, trains);
    const rec = new Recording({ binaryFile: path.join(dir, 'r.bin'), dataType: 'int16', probeGeometry: GEOMETRY, samplingFrequency: 30000 });
    const html = buildReport({
      result,
      recording: rec,
      accuracy: { rows: [{ gtUnit: 11, sortedUnit: 1, accuracy: 0.91, precision: 0.93, recall: 0.97 }, { gtUnit: 12, sortedUnit: null, accuracy: 0, precision: 0, recall: 0 }], headline: ['well detected 1 of 2'] },
    });
    expect(count(html, /data-unit="/g)).toBe(3);
    expect(count(html, /class="raster-row"/g)).toBe(3);
    expect(count(html, /class="probe"/g)).toBe(3);
    expect(html).toContain('class="drift"');
    expect(html).toContain('class="amplitude"');
    expect(html).toContain('class="rates"');
    expect(html).toContain('class="accuracy"');
    expect(html).toContain('GT 11: accuracy 0.910');
    expect(html).toContain('mean DoG-filtered waveforms');
    // Units named as exportPhy numbers them (the valid ids in order get Phy ids 0..n-1).
    expect([...html.matchAll(/<h3[^>]*>unit (\d+) \(Phy (\d+)\)<\/h3>/g)].map((m) => [Number(m[1]), Number(m[2])])).toEqual(validIds(result).map((id, k) => [id, k]));
    // A legend under the depth and amplitude charts, one swatch per unit.
    expect(count(html.slice(html.indexOf('class="legend"')), /<span><i style="background:/g)).toBeGreaterThanOrEqual(3);
    // Amplitude axes start at zero (the overview and every unit's small chart).
    for (const cls of ['amplitude', 'unit-amplitude']) {
      const svg = html.slice(html.indexOf(`class="${cls}"`));
      expect(svg.slice(0, svg.indexOf('</svg>'))).toMatch(/text-anchor="end">0<\/text>/);
    }
    // Every waveform glyph has a time and an amplitude scale bar.
    expect(count(html, /class="scale-bar"/g)).toBe(3);
    expect(html).toMatch(/>\d+\.\d ms<\/text>.*\(filtered units\)<\/text>/);
    // Self-contained: no external scripts, styles, images or fetches.
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it('draws amplitude footprints when no recording is given', () => {
    const { result } = buildSorting({ numSamples: 30000, units: 2 });
    const html = buildReport({ result });
    expect(count(html, /data-unit="/g)).toBe(2);
    expect(html).toContain('amplitude footprints');
    expect(html).not.toContain('class="accuracy"');
  });
});

describe('the report in a real browser (headless Chromium)', () => {
  it.skipIf(!chromiumAvailable())('renders without script errors and draws every unit; saves a screenshot next to the report', () => {
    const dir = tempDir('spikesift-report-');
    const { result, trains } = buildSorting({ numSamples: 90000, numSegments: 3, units: 5, margin: 300, broken: 4, spikesPerUnitPerSegment: 40 });
    writeRecording(path.join(dir, 'r.bin'), 90000, trains);
    const rec = new Recording({ binaryFile: path.join(dir, 'r.bin'), dataType: 'int16', probeGeometry: GEOMETRY, samplingFrequency: 30000 });
    const file = path.join(dir, 'report.html');
    fs.writeFileSync(file, buildReport({ result, recording: rec }));
    const png = path.join(dir, 'report.png');
    const { dom } = renderInChromium(file, png);
    expect(dom).toMatch(/<html[^>]* data-errors=""/);
    expect(count(dom, /data-unit="/g)).toBe(4);
    expect(dom).toMatch(/data-drawn-units="4"/);
    const bytes = fs.readFileSync(png);
    expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
    console.log(`report screenshot: ${png}`);
  });

  it.skipIf(!chromiumAvailable())('reports a script error through the error trap (the check can fail)', () => {
    const dir = tempDir('spikesift-report-');
    const { result } = buildSorting({ numSamples: 30000, units: 1 });
    const file = path.join(dir, 'broken.html');
    fs.writeFileSync(file, buildReport({ result }).replace('</body>', '<script>undefinedFunction();</script></body>'));
    const { dom } = renderInChromium(file, path.join(dir, 'broken.png'), '400,300');
    expect(dom).toMatch(/data-errors="\[[^"]*undefinedFunction/);
  });

  if (!chromiumAvailable()) {
    it('is skipped', () => {
      console.log(`skipping the browser check: ${CHROMIUM} is absent (apt-get install -y chromium)`);
    });
  }
});
