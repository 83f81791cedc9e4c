/// <reference types="@webgpu/types" preserve="true" />
/// <reference types="node" preserve="true" />
// The public API of spikesift. Re-exports only; each name lives in the module named for its stage.

// Reading recordings and probes
export { Recording, type RecordingOptions, type SampleRange } from './formats/recording.js';
export { ParameterError, type DataType, DATA_TYPES } from './formats/dtype.js';
export { loadProbe } from './formats/probe.js';
export { readSpikeGLXMeta, type SpikeGLXInfo, type SpikeGLXOptions } from './formats/spikeglx.js';
export { readOpenEphysStructure, type OpenEphysInfo, type OpenEphysStream, type OpenEphysOptions } from './formats/openephys.js';
export { readNpy, writeNpy, encodeNpy, writeNpyStructured, type NpyArray } from './formats/npy.js';

// Sorting
export { performSpikeSorting, type SortOptions, type ResolvedSortOptions, type SortMode, validateSortOptions } from './pipeline/perform.js';
export { SORT_DEFAULTS } from './core/params.js';

// Results, merging, mapping, parallel blocks
export { SortedRecording, type SegmentResult, type SortInfo } from './result/sorted-recording.js';
export { mergeRecordings, mapClusters } from './result/merge.js';
export { sortInParallel, type ParallelSortOptions } from './parallel/sort-in-parallel.js';
export { solveAssignment } from './stages/track/linear-assignment.js';

// Backends (GPU or CPU) and the filter stage
export { createSignalProcessor, type SignalProcessor, type BackendChoice } from './engines/select.js';
export { allocateFilteredBuffer, type FilteredBuffer } from './core/window.js';
export { GpuUnavailableError, probeAdapter, releaseGpuContext } from './engines/select.js';
export { filterWidths, filterHalo } from './stages/filter/taps.js';
export { dogFilterReference } from './stages/filter/reference.js';
export { msMinimaReference } from './stages/filter/minima.js';

// Ground truth
export * from './groundtruth/index.js';

// Exports and pictures
export { exportPhy } from './export/phy.js';
export { exportSpikeInterface } from './export/spikeinterface.js';
export { rasterPlotSvg } from './export/raster.js';
export { buildReport, writeReport } from './export/report.js';
export { meanWaveforms } from './export/waveforms.js';
