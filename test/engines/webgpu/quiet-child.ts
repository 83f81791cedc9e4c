// Child process of quiet.test.ts: sorts a recording with the library and the given backend,
// verbose off, so that whatever reaches this process's stderr is third-party noise.
import { Recording } from '../../../src/formats/recording.js';
import { performSpikeSorting } from '../../../src/pipeline/perform.js';
import { releaseGpuContext } from '../../../src/engines/webgpu/context.js';

const [binaryFile, geometryJson, fsHz, backend] = process.argv.slice(2);
const rec = new Recording({ binaryFile, dataType: 'int16', probeGeometry: JSON.parse(geometryJson), samplingFrequency: Number(fsHz) });
const sorted = await performSpikeSorting(rec, { verbose: false, backend: backend as 'auto' | 'webgpu', minSegmentLength: 1, onWarning: () => {} });
process.stdout.write(`${JSON.stringify({ units: sorted.length, segments: sorted.numSegments })}\n`);
await releaseGpuContext();
process.exit(0);
