/**
 * Workflow 9: raster plot of a result (one row per cluster, segments shaded) as an SVG file.
 *
 *   node --import ./scripts/ts-loader.mjs examples/raster-plot.ts \
 *     [--saved result.spikesift | --file rec.bin --probe probe.json --fs 30000 --dtype int16] [--out DIR]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rasterPlotSvg } from '../src/export/raster.js';
import { SortedRecording } from '../src/result/sorted-recording.js';
import { performSpikeSorting } from '../src/pipeline/perform.js';
import { type ExampleOptions, filesFromArgs, generatedData, isMain, logger, openRecording, outputDir, runMain } from './common.js';

export function rasterPlot(result: SortedRecording, opts: ExampleOptions & { title?: string } = {}): string {
  const svg = rasterPlotSvg(result, { title: opts.title ?? `${result.length} clusters, ${result.numSegments} segments` });
  const path = join(outputDir(opts), 'raster.svg');
  writeFileSync(path, svg);
  logger(opts)(`raster plot written to ${path}`);
  return path;
}

export async function main(argv: string[] = []) {
  const { files, values } = await filesFromArgs(argv);
  const result = values.saved
    ? await SortedRecording.load(values.saved)
    : await performSpikeSorting(openRecording(files?.[0] ?? (await generatedData())));
  return rasterPlot(result, { outDir: values.out });
}

if (isMain(import.meta.url)) runMain(main);
