/**
 * Provenance of a sort (`SortedRecording.info`): which spikesift, which parameters, which
 * engine on which adapter, and which steps actually ran on the GPU. Saved with the result
 * (the file header's `info`); files written before it existed load with `info` null.
 */

/** Steps of a sort that an engine may run on a GPU, in pipeline order (names used in `stagesOnDevice`). */
export const DEVICE_STAGES = [
  'filter', 'minima', 'channelScores', 'detection', 'gather', 'templateCorrelation',
  'amplitudes', 'meanWindows', 'subtraction', 'recovery',
] as const;
export type DeviceStage = (typeof DEVICE_STAGES)[number];

export interface SortInfo {
  /** spikesift's package version. */
  version: string;
  /** The resolved sort parameters (JSON-safe values only; callbacks are left out). */
  parameters: Record<string, unknown>;
  /** 'cpu' or 'webgpu'. */
  engine: string;
  /** The engine's one-line description (for 'auto': what it chose and why). */
  engineDescription: string;
  /** The GPU adapter's name, or null when no GPU was used. */
  adapter: string | null;
  /** Steps that ran on the GPU in this sort (recorded as they ran, in DEVICE_STAGES order). */
  stagesOnDevice: DeviceStage[];
  /** ISO time the sort finished. */
  date: string;
}

/** Checks a loaded `info` object; throws a RangeError naming the bad field. */
export function checkSortInfo(v: unknown): SortInfo {
  const o = v as Partial<SortInfo> | null;
  const bad = (why: string): never => {
    throw new RangeError(`SortedRecording: info ${why}`);
  };
  if (o === null || typeof o !== 'object') return bad('must be an object');
  if (typeof o.version !== 'string') bad('.version must be a string');
  if (o.parameters === null || typeof o.parameters !== 'object') bad('.parameters must be an object');
  if (typeof o.engine !== 'string' || typeof o.engineDescription !== 'string') bad('.engine and .engineDescription must be strings');
  if (o.adapter !== null && typeof o.adapter !== 'string') bad('.adapter must be a string or null');
  if (!Array.isArray(o.stagesOnDevice) || !o.stagesOnDevice.every((s) => (DEVICE_STAGES as readonly string[]).includes(s))) {
    bad(`.stagesOnDevice must list steps of ${DEVICE_STAGES.join(', ')}`);
  }
  if (typeof o.date !== 'string') bad('.date must be a string');
  return o as SortInfo;
}

/** Orders a set of stage names as in DEVICE_STAGES. */
export function orderStages(stages: Iterable<DeviceStage>): DeviceStage[] {
  const set = new Set(stages);
  return DEVICE_STAGES.filter((s) => set.has(s));
}

let cachedVersion: string | null = null;

/** The package version from package.json (next to src/ and dist/). */
export async function packageVersion(): Promise<string> {
  if (cachedVersion === null) {
    try {
      const { readFile } = await import('node:fs/promises');
      const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
      cachedVersion = pkg.version ?? 'unknown';
    } catch {
      cachedVersion = 'unknown';
    }
  }
  return cachedVersion;
}
