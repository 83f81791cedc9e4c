import { describe, expect, it } from 'vitest';
import { computeNeighbourhoods } from '../../src/stages/sort/neighbours.js';

describe('neighbourhoods (spec §7.3)', () => {
  it('takes the 5 nearest sites, ties by channel index, the channel itself first', () => {
    // a 2-column probe, 20 µm pitch: (0,0) (20,0) (0,20) (20,20) ...
    const geo: number[] = [];
    for (let r = 0; r < 6; r++) geo.push(0, 20 * r, 20, 20 * r);
    const nb = computeNeighbourhoods(Float32Array.from(geo));
    expect(nb.length).toBe(12);
    // channel 4 = (0,40): dist 0 self; 20: ch2 (0,20), ch5 (20,40), ch6 (0,60); sqrt(800): ch3, ch7
    expect(Array.from(nb[4])).toEqual([4, 2, 5, 6, 3]);
    // channel 0 = (0,0): self, ch1 (20,0) and ch2 (0,20) at 20, ch3 at 28.3, ch4 at 40
    expect(Array.from(nb[0])).toEqual([0, 1, 2, 3, 4]);
  });

  it('returns all channels when there are fewer than 5, and puts an identical lower-index site first', () => {
    const nb = computeNeighbourhoods(Float32Array.from([0, 0, 0, 10, 0, 0, 0, 30]));
    expect(Array.from(nb[2])).toEqual([0, 2, 1, 3]);
    expect(Array.from(nb[3])).toEqual([3, 1, 0, 2]);
  });

  it('balanced (mode improved): among equidistant sites keeps above and below even, then left and right, then index', () => {
    // Target 0 at (0,0); two sites above it at 11.2 µm; four sites at 20 µm for two places:
    // above (1), right (4), below (5), left (6).
    const geo = Float32Array.from([0, 0, 0, 20, 10, 5, -10, 5, 20, 0, 0, -20, -20, 0]);
    expect(Array.from(computeNeighbourhoods(geo)[0])).toEqual([0, 2, 3, 1, 4]);
    expect(Array.from(computeNeighbourhoods(geo, true)[0])).toEqual([0, 2, 3, 4, 5]);
    // Without a choice to make (every equidistant site fits), both rules agree.
    const col: number[] = [];
    for (let r = 0; r < 10; r++) col.push(0, 25 * r);
    expect(computeNeighbourhoods(Float32Array.from(col), true).map((n) => Array.from(n))).toEqual(computeNeighbourhoods(Float32Array.from(col)).map((n) => Array.from(n)));
  });
});
