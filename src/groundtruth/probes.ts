// Probe layouts for synthetic recordings and their probeinterface description.

export type ProbePreset = 'linear32' | 'poly64' | 'poly128' | 'np384' | 'np2-1536';
export const PROBE_PRESETS: readonly ProbePreset[] = ['linear32', 'poly64', 'poly128', 'np384', 'np2-1536'];

export interface ProbeLayout {
  /** C x 2 (x, y) in µm, in file channel order. */
  positions: number[][];
  /** Drawn contact shape (probeinterface); only used for probe.json. */
  shape: 'circle' | 'square';
  shapeParams: { radius: number } | { width: number };
  /** Name used in probe.json annotations. */
  name: string;
}

/**
 * - linear32: one column of 32 sites at 25 µm pitch.
 * - poly64: two columns 32 µm apart, 20 µm pitch in each, the second staggered by half a pitch.
 * - poly128: as poly64 with 64 rows per column.
 * - np384: Neuropixels-1.0-like: 192 rows 20 µm apart, two sites per row, rows alternating
 *   between x = (43, 11) and (59, 27) µm, i.e. four staggered columns.
 * - np2-1536: a Neuropixels-2.0 four-shank layout recorded on all 1536 sites (as a quad-base
 *   probe does): shanks 250 µm apart, each two columns 32 µm apart with rows 15 µm apart.
 */
export function presetLayout(preset: ProbePreset): ProbeLayout {
  const positions: number[][] = [];
  switch (preset) {
    case 'linear32':
      for (let i = 0; i < 32; i++) positions.push([0, 25 * i]);
      return { positions, shape: 'circle', shapeParams: { radius: 7.5 }, name: 'linear32' };
    case 'poly64':
      for (let i = 0; i < 32; i++) {
        positions.push([0, 20 * i]);
        positions.push([32, 20 * i + 10]);
      }
      return { positions, shape: 'circle', shapeParams: { radius: 7.5 }, name: 'poly64' };
    case 'poly128':
      for (let i = 0; i < 64; i++) {
        positions.push([0, 20 * i]);
        positions.push([32, 20 * i + 10]);
      }
      return { positions, shape: 'circle', shapeParams: { radius: 7.5 }, name: 'poly128' };
    case 'np2-1536':
      for (let shank = 0; shank < 4; shank++) {
        for (let i = 0; i < 384; i++) positions.push([250 * shank + 32 * (i % 2), 15 * Math.floor(i / 2)]);
      }
      return { positions, shape: 'square', shapeParams: { width: 12 }, name: 'np2-1536' };
    case 'np384': {
      const xs = [43, 11, 59, 27];
      for (let i = 0; i < 384; i++) positions.push([xs[i % 4]!, 20 * Math.floor(i / 2)]);
      return { positions, shape: 'square', shapeParams: { width: 12 }, name: 'np384' };
    }
  }
}

/** probeinterface (format 0.2.x) JSON object for a single planar probe. */
export function probeInterfaceJson(layout: ProbeLayout): object {
  const C = layout.positions.length;
  let xmin = Infinity, xmax = -Infinity, ymin = Infinity, ymax = -Infinity;
  for (const [x, y] of layout.positions) {
    xmin = Math.min(xmin, x!); xmax = Math.max(xmax, x!);
    ymin = Math.min(ymin, y!); ymax = Math.max(ymax, y!);
  }
  const m = 20;
  // A pointed shank outline around the sites (purely cosmetic for probe plots).
  const contour = [
    [xmin - m, ymax + 4 * m], [xmin - m, ymin - m], [(xmin + xmax) / 2, ymin - 5 * m],
    [xmax + m, ymin - m], [xmax + m, ymax + 4 * m],
  ];
  return {
    specification: 'probeinterface',
    version: '0.2.23',
    probes: [{
      ndim: 2,
      si_units: 'um',
      annotations: { name: layout.name, manufacturer: 'spikesift synthetic' },
      contact_annotations: {},
      contact_positions: layout.positions.map((p) => [p[0], p[1]]),
      contact_plane_axes: layout.positions.map(() => [[1, 0], [0, 1]]),
      contact_shapes: layout.positions.map(() => layout.shape),
      contact_shape_params: layout.positions.map(() => ({ ...layout.shapeParams })),
      probe_planar_contour: contour,
      contact_ids: layout.positions.map((_, i) => `e${i}`),
      shank_ids: layout.positions.map(() => ''),
      device_channel_indices: Array.from({ length: C }, (_, i) => i),
    }],
  };
}
