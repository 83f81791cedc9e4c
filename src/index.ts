// The public API of spikesift. Re-exports only; each name lives in the module named for its stage.

// Reading recordings and probes
export { Recording, type RecordingOptions, type SampleRange } from './io/recording.js';
export { ParameterError, type DataType, DATA_TYPES } from './io/dtype.js';
export { loadProbe } from './io/probe.js';
export { readSpikeGLXMeta, type SpikeGLXInfo, type SpikeGLXOptions } from './io/spikeglx.js';
export { readOpenEphysStructure, type OpenEphysInfo, type OpenEphysStream, type OpenEphysOptions } from './io/openephys.js';
export { readNpy, writeNpy, encodeNpy, writeNpyStructured, type NpyArray } from './io/npy.js';

// Sorting
export { performSpikeSorting, type SortOptions, type ResolvedSortOptions, validateSortOptions } from './sorting/perform.js';
export { SORT_DEFAULTS } from './sorting/params.js';

// Results, merging, mapping, parallel blocks
export { SortedRecording, type SegmentResult } from './merging/sorted-recording.js';
export { mergeRecordings, mapClusters } from './merging/merge.js';
export { sortInParallel, type ParallelSortOptions } from './parallel/sort-in-parallel.js';
export { solveAssignment } from './merging/linear-assignment.js';

// Backends (GPU or CPU) and the filter stage
export {
  createSignalProcessor,
  allocateFilteredBuffer,
  type FilteredBuffer,
  type SignalProcessor,
  type BackendChoice,
} from './preprocess/signal-processor.js';
export { GpuUnavailableError, probeAdapter, releaseGpuContext } from './gpu/context.js';
export { filterWidths, filterHalo } from './preprocess/constants.js';
export { dogFilterReference } from './preprocess/filter.js';
export { msMinimaReference } from './preprocess/minima.js';

// Ground truth
export * from './groundtruth/index.js';

// Exports and pictures
export { exportPhy } from './export/phy.js';
export { exportSpikeInterface } from './export/spikeinterface.js';
export { rasterPlotSvg } from './export/raster.js';
export { buildReport, writeReport } from './export/report.js';
export { meanWaveforms } from './export/waveforms.js';
