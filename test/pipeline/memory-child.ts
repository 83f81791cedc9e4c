// Child process of memory.test.ts: sorts one recording and prints its peak resident memory,
// so each measurement belongs to a fresh process.
import { Recording } from '../../src/formats/recording.js';
import { performSpikeSorting } from '../../src/pipeline/perform.js';

const [binaryFile, geometryJson, fs, minSegmentLength] = process.argv.slice(2);
const rec = new Recording({ binaryFile, dataType: 'int16', probeGeometry: JSON.parse(geometryJson), samplingFrequency: Number(fs) });
const sorted = await performSpikeSorting(rec, { verbose: false, backend: 'cpu', minSegmentLength: Number(minSegmentLength) });
process.stdout.write(`${JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS, segments: sorted.numSegments, units: sorted.length })}\n`);
