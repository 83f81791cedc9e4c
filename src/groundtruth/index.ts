export {
  generateRecording, resolveGenerateOptions, driftAt, DEFAULT_UV_PER_BIT, DEFAULT_THRESHOLD_SD,
  type GenerateOptions, type ResolvedGenerateOptions, type GeneratedRecording, type GenerationSummary,
  type DriftOptions, type DriftJump, type ResolvedDrift,
} from './generate.js';
export {
  compareToGroundTruth, formatComparison, countMatches, toTrains,
  type CompareOptions, type ComparisonReport, type UnitPerformance, type SnrBin, type SpikeTrains, type SpikeTrainSource,
} from './compare.js';
export { loadGroundTruth, type GroundTruth, type GroundTruthUnit, type GroundTruthLike } from './types.js';
export { PROBE_PRESETS, presetLayout, probeInterfaceJson, type ProbePreset, type ProbeLayout } from './probes.js';
export { detectorKernel, filteredNoiseSd, filteredTrough } from './detectability.js';
