// SpikeGLX recordings: a flat int16 .bin (nSavedChans columns, sample-major) beside a text
// .meta of key=value lines. Everything a sort needs is in the .meta: the saved channel
// subset (which columns are probe channels and which is the sync word), the rate, the gains
// and the probe layout (~snsGeomMap written by SpikeGLX >= 20230202, else the ~imroTbl, read
// per probe type). Positions follow probeinterface's convention: x = 0 at the left contact
// column, y = 0 at the lowest row, shanks side by side at their pitch.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ParameterError, describeValue } from './dtype.js';
import type { RecordingOptions } from './recording-options.js';

export interface SpikeGLXOptions {
  /** Called with each warning about the files (e.g. a binary shorter than its .meta says). */
  onWarning?: (message: string) => void;
  sampleOffset?: number;
  numSamples?: number;
  recordingOffset?: number;
}

export interface SpikeGLXInfo {
  metaFile: string;
  binFile: string;
  /** Columns per sample in the .bin. */
  nSavedChans: number;
  samplingFrequency: number;
  /** imDatPrb_type (0 for phase 3A/3B probes, which do not write it). */
  probeType: number;
  /** File column of each sorted (AP) channel, in file order. */
  neuralColumns: number[];
  /** File columns of the sync word(s), not sorted. */
  syncColumns: number[];
  /** [x, y] µm of each sorted channel, same order as neuralColumns. */
  positions: number[][];
  /** Shank of each sorted channel. */
  shankIds: number[];
  /** µV per bit of each sorted channel. */
  gainToMicrovolts: number[];
  /** fileSizeBytes as the .meta states it (undefined when absent). */
  fileSizeBytes: number | undefined;
  /** Where the positions came from. */
  geometrySource: '~snsGeomMap' | '~imroTbl';
}

function fail(parameter: string, value: unknown, message: string): never {
  throw new ParameterError(parameter, value, message);
}

/** The key=value lines of a .meta; keys keep their leading '~'. */
export function parseMeta(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const eq = raw.indexOf('=');
    if (eq <= 0) continue;
    out.set(raw.slice(0, eq).trim(), raw.slice(eq + 1).trim());
  }
  return out;
}

/** "(a,b)(c d e)(...)" → [['a','b'], ['c','d','e'], ...]; entries split on commas, spaces or colons. */
function parseTable(value: string): string[][] {
  const out: string[][] = [];
  const re = /\(([^)]*)\)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null) out.push(m[1].trim().split(/[\s,:]+/).filter((t) => t.length > 0));
  return out;
}

/** snsSaveChanSubset: "all" or comma-separated channels and inclusive ranges "a:b". */
function parseSubset(value: string | undefined, total: number, metaFile: string): number[] {
  if (value === undefined || value === 'all') return Array.from({ length: total }, (_, i) => i);
  const out: number[] = [];
  for (const part of value.split(',')) {
    const m = /^\s*(\d+)\s*(?::\s*(\d+)\s*)?$/.exec(part);
    if (!m) fail('binOrMetaPath', metaFile, `${metaFile}: snsSaveChanSubset has an entry ${JSON.stringify(part)} that is neither a channel nor a range a:b`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let c = a; c <= b; c++) out.push(c);
  }
  return out;
}

interface ColumnLayout {
  /** Contact columns per shank, horizontal and vertical pitch (µm). */
  cols: number;
  hPitch: number;
  vPitch: number;
  /** x of column 0 on even and odd rows (the NP1.0 stagger), relative to the leftmost contact. */
  evenX: number;
  oddX: number;
  /** Centre-to-centre distance between shanks. */
  shankPitch: number;
  /** imro entry fields: electrode (or bank, with chan), shank; -1 when absent. */
  format: 'bank' | 'electrode' | 'shank-electrode';
}

// Layout facts per imDatPrb_type, from the IMEC probe specifications as SpikeGLX documents them.
const NP1: ColumnLayout = { cols: 2, hPitch: 32, vPitch: 20, evenX: 16, oddX: 0, shankPitch: 0, format: 'bank' };
const NHP_LINEAR: ColumnLayout = { cols: 2, hPitch: 32, vPitch: 20, evenX: 0, oddX: 0, shankPitch: 0, format: 'bank' };
const NHP_STAGGERED: ColumnLayout = { cols: 2, hPitch: 87, vPitch: 20, evenX: 16, oddX: 0, shankPitch: 0, format: 'bank' };
const ULTRA: ColumnLayout = { cols: 8, hPitch: 6, vPitch: 6, evenX: 0, oddX: 0, shankPitch: 0, format: 'bank' };
const NP2_SINGLE: ColumnLayout = { cols: 2, hPitch: 32, vPitch: 15, evenX: 0, oddX: 0, shankPitch: 0, format: 'electrode' };
const NP2_MULTI: ColumnLayout = { cols: 2, hPitch: 32, vPitch: 15, evenX: 0, oddX: 0, shankPitch: 250, format: 'shank-electrode' };

function layoutOf(type: number): ColumnLayout | undefined {
  if (type === 0 || (type >= 1000 && type <= 1014)) return NP1;
  if (type >= 1015 && type <= 1017) return NHP_LINEAR;
  if (type >= 1020 && type <= 1032) return NHP_STAGGERED;
  if (type === 1100) return ULTRA;
  if (type === 21 || type === 2003 || type === 2004) return NP2_SINGLE;
  if (type === 24 || type === 2013 || type === 2014 || type === 2020 || type === 2021) return NP2_MULTI;
  return undefined;
}

function isNP2(type: number): boolean {
  return type === 21 || type === 24 || (type >= 2000 && type < 3000);
}

function numberField(meta: Map<string, string>, key: string, metaFile: string, fallback?: number): number {
  const raw = meta.get(key);
  if (raw === undefined) {
    if (fallback !== undefined) return fallback;
    fail('binOrMetaPath', metaFile, `${metaFile}: the .meta has no ${key} line; is it a complete SpikeGLX .meta file?`);
  }
  const v = Number(raw);
  if (!Number.isFinite(v)) fail('binOrMetaPath', metaFile, `${metaFile}: ${key}=${raw} is not a number`);
  return v;
}

/** The .meta and .bin paths of a SpikeGLX recording from either of them. */
export function spikeGLXPaths(binOrMetaPath: string): { metaFile: string; binFile: string } {
  if (typeof binOrMetaPath !== 'string' || binOrMetaPath.length === 0) {
    fail('binOrMetaPath', binOrMetaPath, `binOrMetaPath must be the path of a SpikeGLX .bin or .meta file, got ${describeValue(binOrMetaPath)}`);
  }
  const stem = binOrMetaPath.replace(/\.(bin|meta)$/i, '');
  if (stem === binOrMetaPath) {
    fail('binOrMetaPath', binOrMetaPath, `${binOrMetaPath} ends neither in .bin nor in .meta; pass a SpikeGLX file such as run_g0_t0.imec0.ap.bin`);
  }
  return { metaFile: path.resolve(stem + '.meta'), binFile: path.resolve(stem + '.bin') };
}

/** True when `file` is a SpikeGLX .bin with its .meta beside it, or a .meta. */
export function looksLikeSpikeGLX(file: string): boolean {
  if (!/\.(bin|meta)$/i.test(file)) return false;
  return fs.existsSync(spikeGLXPaths(file).metaFile);
}

/** Parses the .meta of a SpikeGLX AP recording (the .bin need not exist). */
export function readSpikeGLXMeta(binOrMetaPath: string): SpikeGLXInfo {
  const { metaFile, binFile } = spikeGLXPaths(binOrMetaPath);
  let text: string;
  try {
    text = fs.readFileSync(metaFile, 'latin1');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    fail('binOrMetaPath', binOrMetaPath, `${metaFile}: cannot be read (${code === 'ENOENT' ? 'no such file' : code ?? String(e)}); ` +
      'SpikeGLX writes the .meta beside the .bin with the same name; keep them together');
  }
  return interpretMeta(parseMeta(text), metaFile, binFile);
}

export function interpretMeta(meta: Map<string, string>, metaFile: string, binFile: string): SpikeGLXInfo {
  const typeThis = meta.get('typeThis') ?? 'imec';
  if (typeThis !== 'imec') {
    fail('binOrMetaPath', metaFile, `${metaFile}: typeThis=${typeThis} is not a Neuropixels probe stream (an NI-DAQ or Onebox auxiliary file); ` +
      'pass the probe\'s .imecN.ap.bin');
  }
  const nSaved = numberField(meta, 'nSavedChans', metaFile);
  const rate = numberField(meta, 'imSampRate', metaFile);
  const savedCounts = (meta.get('snsApLfSy') ?? '').split(',').map(Number);
  const isLF = /\.lf\.(bin|meta)$/i.test(metaFile) || (savedCounts.length === 3 && savedCounts[0] === 0 && savedCounts[1] > 0);
  if (isLF) {
    fail('binOrMetaPath', metaFile, `${metaFile} is an LF (local field potential) file: ${rate} Hz, low-pass filtered below ~500 Hz, ` +
      'so it holds no spikes to sort; sort the AP file of the same run (.ap.bin)');
  }
  const acq = (meta.get('acqApLfSy') ?? meta.get('snsApLfSy') ?? '').split(',').map(Number);
  if (acq.length !== 3 || acq.some((v) => !Number.isSafeInteger(v) || v < 0)) {
    fail('binOrMetaPath', metaFile, `${metaFile}: acqApLfSy/snsApLfSy is missing or not three counts "AP,LF,SY"`);
  }
  const [nAP, nLF] = acq;
  const subset = parseSubset(meta.get('snsSaveChanSubset'), acq[0] + acq[1] + acq[2], metaFile);
  if (subset.length !== nSaved) {
    fail('binOrMetaPath', metaFile, `${metaFile}: snsSaveChanSubset lists ${subset.length} channels but nSavedChans=${nSaved}; the .meta is inconsistent`);
  }
  const neuralColumns: number[] = [];
  const syncColumns: number[] = [];
  const apChannel: number[] = [];
  subset.forEach((ch, col) => {
    if (ch < nAP) {
      neuralColumns.push(col);
      apChannel.push(ch);
    } else if (ch >= nAP + nLF) {
      syncColumns.push(col);
    }
  });
  if (neuralColumns.length === 0) {
    fail('binOrMetaPath', metaFile, `${metaFile}: no AP channel was saved (snsSaveChanSubset=${meta.get('snsSaveChanSubset')}); nothing to sort`);
  }

  const pn = meta.get('imDatPrb_pn');
  const probeType = numberField(meta, 'imDatPrb_type', metaFile, 0);
  const imro = parseTable(meta.get('~imroTbl') ?? '');
  if (imro.length < 2) fail('binOrMetaPath', metaFile, `${metaFile}: ~imroTbl is missing or empty; it describes which electrodes were recorded`);
  const entries = imro.slice(1);
  const entryOf = (ch: number): string[] => {
    // Most tables list one entry per AP channel with the channel first; use it when it matches.
    const e = entries[ch];
    if (e && Number(e[0]) === ch) return e;
    const found = entries.find((r) => Number(r[0]) === ch);
    if (!found) fail('binOrMetaPath', metaFile, `${metaFile}: ~imroTbl has no entry for channel ${ch}`);
    return found;
  };

  let positions: number[][];
  let shankIds: number[];
  let geometrySource: SpikeGLXInfo['geometrySource'];
  const geom = meta.get('~snsGeomMap');
  if (geom !== undefined) {
    const rows = parseTable(geom);
    const shankPitch = Number(rows[0]?.[2] ?? 0);
    const per = rows.slice(1);
    positions = [];
    shankIds = [];
    for (const ch of apChannel) {
      const r = per[ch];
      if (!r || r.length < 3) fail('binOrMetaPath', metaFile, `${metaFile}: ~snsGeomMap has no entry for AP channel ${ch}`);
      const shank = Number(r[0]);
      positions.push([shank * shankPitch + Number(r[1]), Number(r[2])]);
      shankIds.push(shank);
    }
    geometrySource = '~snsGeomMap';
  } else {
    const layout = layoutOf(probeType);
    if (!layout) {
      fail('binOrMetaPath', metaFile, `${metaFile}: probe type ${probeType}${pn ? ` (${pn})` : ''} has no ~snsGeomMap and its ~imroTbl layout is not known to spikesift; ` +
        'pass the geometry with --probe (a probeinterface .json), or re-save the .meta with SpikeGLX >= 20230202, which writes ~snsGeomMap');
    }
    // Phase 3A tables start (serial, option, nChan) and type-0 tables (0, nChan); both are NP1.0.
    positions = [];
    shankIds = [];
    for (const ch of apChannel) {
      const e = entryOf(ch).map(Number);
      let electrode: number;
      let shank = 0;
      if (layout.format === 'bank') electrode = e[1] * nAP + e[0];
      else if (layout.format === 'electrode') electrode = e[3];
      else {
        shank = e[1];
        electrode = e[4];
      }
      if (!Number.isSafeInteger(electrode) || electrode < 0 || !Number.isSafeInteger(shank) || shank < 0) {
        fail('binOrMetaPath', metaFile, `${metaFile}: ~imroTbl entry for channel ${ch} (${entryOf(ch).join(' ')}) does not name an electrode`);
      }
      const row = Math.floor(electrode / layout.cols);
      const col = electrode % layout.cols;
      const x0 = row % 2 === 0 ? layout.evenX : layout.oddX;
      positions.push([shank * layout.shankPitch + x0 + col * layout.hPitch, row * layout.vPitch]);
      shankIds.push(shank);
    }
    geometrySource = '~imroTbl';
  }

  // µV per bit = full-scale volts / max integer / gain. NP1.0-style tables carry a per-channel
  // AP gain (field 3); NP2.0 probes have a fixed gain (80, or imChan0apGain where written).
  const np2 = isNP2(probeType);
  const rangeMax = numberField(meta, 'imAiRangeMax', metaFile, np2 ? 0.5 : 0.6);
  const maxInt = numberField(meta, 'imMaxInt', metaFile, np2 ? 8192 : 512);
  const chan0Gain = meta.has('imChan0apGain') ? numberField(meta, 'imChan0apGain', metaFile) : undefined;
  const headerGain = probeType === 1110 ? Number(imro[0][3]) : undefined;
  const gainToMicrovolts = apChannel.map((ch) => {
    let gain: number | undefined;
    if (!np2 && probeType !== 1110) {
      const e = entries[ch] && Number(entries[ch][0]) === ch ? entries[ch] : entries.find((r) => Number(r[0]) === ch);
      gain = e && e.length >= 5 ? Number(e[3]) : undefined;
    }
    gain = gain !== undefined && gain > 0 ? gain : headerGain ?? chan0Gain ?? (np2 ? 80 : 500);
    return (rangeMax / maxInt / gain) * 1e6;
  });

  const declared = meta.get('fileSizeBytes');
  return {
    metaFile,
    binFile,
    nSavedChans: nSaved,
    samplingFrequency: rate,
    probeType,
    neuralColumns,
    syncColumns,
    positions,
    shankIds,
    gainToMicrovolts,
    fileSizeBytes: declared === undefined ? undefined : Number(declared),
    geometrySource,
  };
}

/** RecordingOptions for the AP channels of a SpikeGLX recording (the sync column is left out). */
export function spikeGLXRecordingOptions(binOrMetaPath: string, options: SpikeGLXOptions = {}): RecordingOptions {
  const info = readSpikeGLXMeta(binOrMetaPath);
  let size: number;
  try {
    size = fs.statSync(info.binFile).size;
  } catch {
    fail('binOrMetaPath', binOrMetaPath, `${info.binFile} does not exist: the .meta ${info.metaFile} was found but not its .bin; ` +
      'keep the two files of a run side by side with the same name');
  }
  const bytesPerSample = 2 * info.nSavedChans;
  const whole = Math.floor(size / bytesPerSample);
  if (info.fileSizeBytes !== undefined && info.fileSizeBytes !== size) {
    const declaredSamples = Math.floor(info.fileSizeBytes / bytesPerSample);
    options.onWarning?.(size < info.fileSizeBytes
      ? `${info.binFile} has ${size} bytes but its .meta says fileSizeBytes=${info.fileSizeBytes}: the recording was cut short ` +
        `(a crash or an interrupted copy?); sorting the ${whole} whole samples it holds (${(whole / info.samplingFrequency).toFixed(2)} s ` +
        `of ${(declaredSamples / info.samplingFrequency).toFixed(2)} s)`
      : `${info.binFile} has ${size} bytes but its .meta says fileSizeBytes=${info.fileSizeBytes}: the .bin is longer than SpikeGLX wrote; ` +
        `check that the .meta belongs to this .bin; sorting its ${whole} whole samples`);
  }
  if (whole < 1) fail('binOrMetaPath', binOrMetaPath, `${info.binFile} holds no whole sample (${size} bytes, ${bytesPerSample} bytes per sample)`);
  const sampleOffset = options.sampleOffset ?? 0;
  return {
    binaryFile: info.binFile,
    dataType: 'int16',
    probeGeometry: info.positions,
    samplingFrequency: info.samplingFrequency,
    fileChannels: info.nSavedChans,
    channels: info.neuralColumns,
    gainToMicrovolts: info.gainToMicrovolts,
    sampleOffset,
    numSamples: options.numSamples ?? Math.max(1, whole - sampleOffset),
    recordingOffset: options.recordingOffset,
  };
}
