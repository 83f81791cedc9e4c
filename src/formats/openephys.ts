// Open Ephys binary format: a recording folder holds structure.oebin (JSON: one entry per
// continuous stream with its folder, channel count, sample rate and per-channel bit_volts)
// and continuous/<folder>/continuous.dat (int16, num_channels columns, sample-major). The
// Record Node folder two levels up holds settings.xml, whose Neuropix-PXI section lists each
// probe's electrode positions per channel (ELECTRODE_XPOS / ELECTRODE_YPOS, keyed CHn).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ParameterError, describeValue } from './dtype.js';
import type { RecordingOptions } from './recording-options.js';

export interface OpenEphysOptions {
  /** stream_name (e.g. "ProbeA-AP") or folder_name of the continuous stream; needed when there are several. */
  stream?: string;
  /** Geometry for streams whose settings.xml has none (not a Neuropixels probe), in sorted-channel order. */
  probeGeometry?: number[][];
  sampleOffset?: number;
  numSamples?: number;
  recordingOffset?: number;
  onWarning?: (message: string) => void;
}

export interface OpenEphysStream {
  folderName: string;
  streamName: string;
  numChannels: number;
  sampleRate: number;
  /** µV per bit of every channel (bit_volts; Open Ephys stores µV for electrode channels). */
  bitVolts: number[];
  channelNames: string[];
  /** Units of each channel as written ('uV' for electrodes, 'V' or 'mV' for ADC/AUX inputs). */
  units: string[];
}

export interface OpenEphysInfo {
  oebinFile: string;
  streams: OpenEphysStream[];
}

function fail(parameter: string, value: unknown, message: string): never {
  throw new ParameterError(parameter, value, message);
}

/** structure.oebin from the file itself or from a recording folder that holds it. */
function oebinPath(oebinOrFolder: string): string {
  if (typeof oebinOrFolder !== 'string' || oebinOrFolder.length === 0) {
    fail('path', oebinOrFolder, `path must be an Open Ephys structure.oebin or the recording folder holding it, got ${describeValue(oebinOrFolder)}`);
  }
  const p = path.resolve(oebinOrFolder);
  if (fs.existsSync(p) && fs.statSync(p).isDirectory()) {
    const inside = path.join(p, 'structure.oebin');
    if (!fs.existsSync(inside)) {
      fail('path', oebinOrFolder, `${p} has no structure.oebin; pass an Open Ephys recording folder (e.g. Record Node 101/experiment1/recording1)`);
    }
    return inside;
  }
  if (!fs.existsSync(p)) fail('path', oebinOrFolder, `${p} does not exist; pass structure.oebin or its recording folder`);
  return p;
}

/** True when `file` is a structure.oebin or a folder holding one. */
export function looksLikeOpenEphys(file: string): boolean {
  const p = path.resolve(file);
  if (!fs.existsSync(p)) return false;
  if (fs.statSync(p).isDirectory()) return fs.existsSync(path.join(p, 'structure.oebin'));
  return path.basename(p).toLowerCase().endsWith('.oebin');
}

export function readOpenEphysStructure(oebinOrFolder: string): OpenEphysInfo {
  const oebinFile = oebinPath(oebinOrFolder);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(oebinFile, 'utf8'));
  } catch (e) {
    fail('path', oebinOrFolder, `${oebinFile}: is not valid JSON (${(e as Error).message}); structure.oebin is written by Open Ephys as JSON`);
  }
  const cont = (json as { continuous?: unknown })?.continuous;
  if (!Array.isArray(cont) || cont.length === 0) fail('path', oebinOrFolder, `${oebinFile}: has no "continuous" streams`);
  const streams = cont.map((s: Record<string, unknown>, i: number): OpenEphysStream => {
    const channels = Array.isArray(s.channels) ? (s.channels as Record<string, unknown>[]) : [];
    const numChannels = Number(s.num_channels);
    const sampleRate = Number(s.sample_rate);
    if (typeof s.folder_name !== 'string' || !Number.isSafeInteger(numChannels) || numChannels < 1 || !(sampleRate > 0)) {
      fail('path', oebinOrFolder, `${oebinFile}: continuous[${i}] lacks folder_name, num_channels or sample_rate`);
    }
    return {
      folderName: s.folder_name,
      streamName: typeof s.stream_name === 'string' ? s.stream_name : s.folder_name.replace(/\/$/, ''),
      numChannels,
      sampleRate,
      bitVolts: channels.map((c) => Number(c.bit_volts)),
      channelNames: channels.map((c, k) => (typeof c.channel_name === 'string' ? c.channel_name : `CH${k}`)),
      units: channels.map((c) => (typeof c.units === 'string' ? c.units : '')),
    };
  });
  return { oebinFile, streams };
}

function describeStreams(streams: OpenEphysStream[]): string {
  return streams.map((s) => `"${s.streamName}" (folder ${s.folderName}, ${s.numChannels} channels at ${s.sampleRate} Hz)`).join(', ');
}

function pickStream(info: OpenEphysInfo, name: string | undefined): OpenEphysStream {
  const { streams } = info;
  if (name === undefined) {
    if (streams.length === 1) return streams[0];
    fail('stream', name, `${info.oebinFile} has ${streams.length} continuous streams: ${describeStreams(streams)}; ` +
      'name the one to sort (stream option, or --stream on the command line)');
  }
  const clean = (s: string) => s.replace(/\/$/, '');
  const found = streams.find((s) => s.streamName === name || clean(s.folderName) === clean(name));
  if (!found) fail('stream', name, `${info.oebinFile} has no stream ${JSON.stringify(name)}; its continuous streams are ${describeStreams(streams)}`);
  return found;
}

function attributes(tag: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /([A-Za-z_][\w.-]*)\s*=\s*"([^"]*)"/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(tag)) !== null) out.set(m[1], m[2]);
  return out;
}

/** The NP_PROBE elements of a settings.xml, in file order, with their per-channel positions. */
export function neuropixelsProbesInSettings(xml: string): { attrs: Map<string, string>; x: Map<string, number>; y: Map<string, number>; shank: Map<string, number> }[] {
  const out: ReturnType<typeof neuropixelsProbesInSettings> = [];
  const re = /<NP_PROBE\b([^>]*)>([\s\S]*?)<\/NP_PROBE>/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(xml)) !== null) {
    const body = m[2];
    const grab = (tagName: string): Map<string, string> => {
      const t = new RegExp(`<${tagName}\\b([^>]*)/?>`).exec(body);
      return t ? attributes(t[1]) : new Map();
    };
    const toNum = (a: Map<string, string>) => new Map([...a].map(([k, v]) => [k, Number(v)]));
    // CHANNELS values are "bank:shank"; the shank moves the contact by the shank pitch.
    const shank = new Map([...grab('CHANNELS')].map(([k, v]) => [k, Number(v.split(':')[1] ?? 0)]));
    out.push({ attrs: attributes(m[1]), x: toNum(grab('ELECTRODE_XPOS')), y: toNum(grab('ELECTRODE_YPOS')), shank });
  }
  return out;
}

/** settings.xml of the Record Node holding this recording (settings_N.xml for experiment N > 1). */
function settingsFor(oebinFile: string): string | undefined {
  const recordingDir = path.dirname(oebinFile);
  const experimentDir = path.dirname(recordingDir);
  const nodeDir = path.dirname(experimentDir);
  const n = /experiment(\d+)$/.exec(experimentDir)?.[1];
  const names = n && n !== '1' ? [`settings_${n}.xml`, 'settings.xml'] : ['settings.xml'];
  for (const name of names) {
    const p = path.join(nodeDir, name);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

/** Contact positions of a Neuropixels stream, in channel order, from settings.xml; undefined when absent. */
export function openEphysProbeGeometry(oebinOrFolder: string, streamName: string, channelNames: readonly string[]): number[][] | undefined {
  const settings = settingsFor(oebinPath(oebinOrFolder));
  if (!settings) return undefined;
  const probes = neuropixelsProbesInSettings(fs.readFileSync(settings, 'utf8'));
  if (probes.length === 0) return undefined;
  // Streams are named ProbeA, ProbeB... (NP1.0 probes add -AP/-LFP), one per NP_PROBE in order.
  const letter = /^Probe([A-Z])(?:-(?:AP|LFP))?$/.exec(streamName)?.[1];
  const probe = letter ? probes[letter.charCodeAt(0) - 65] : probes.length === 1 ? probes[0] : undefined;
  if (!probe) return undefined;
  const pn = probe.attrs.get('probe_part_number') ?? '';
  const multiShank = /^(NP2010|NP2013|NP2014|NP2020|NP2021|PRB2_4)/.test(pn) || /multishank|quad/i.test(probe.attrs.get('probe_name') ?? '');
  const rows: number[][] = [];
  for (const name of channelNames) {
    const x = probe.x.get(name);
    const y = probe.y.get(name);
    if (x === undefined || y === undefined || !Number.isFinite(x) || !Number.isFinite(y)) return undefined;
    rows.push([x + (multiShank ? 250 * (probe.shank.get(name) ?? 0) : 0), y]);
  }
  return rows;
}

/** RecordingOptions for one continuous stream: electrode channels sorted, ADC/AUX columns read past. */
export function openEphysRecordingOptions(oebinOrFolder: string, options: OpenEphysOptions = {}): RecordingOptions {
  const info = readOpenEphysStructure(oebinOrFolder);
  const s = pickStream(info, options.stream);
  if (/-LFP$/.test(s.streamName) || s.sampleRate < 10000) {
    fail('stream', s.streamName, `stream "${s.streamName}" is sampled at ${s.sampleRate} Hz (an LFP band): it holds no spikes to sort; ` +
      `pick the AP / wide-band stream among ${describeStreams(info.streams)}`);
  }
  const datFile = path.join(path.dirname(info.oebinFile), 'continuous', s.folderName, 'continuous.dat');
  if (!fs.existsSync(datFile)) {
    fail('path', oebinOrFolder, `${datFile} does not exist: structure.oebin lists stream "${s.streamName}" but its continuous.dat is missing`);
  }
  // Electrode channels are stored in µV; ADC and AUX inputs of the same stream are in V/mV.
  const neural: number[] = [];
  for (let k = 0; k < s.numChannels; k++) {
    const name = s.channelNames[k] ?? `CH${k}`;
    const units = s.units[k] ?? 'uV';
    if (/^(ADC|AUX)/i.test(name) || (units !== '' && units !== 'uV' && units !== 'µV')) continue;
    neural.push(k);
  }
  const names = neural.map((k) => s.channelNames[k] ?? `CH${k}`);
  let geometry = options.probeGeometry;
  if (!geometry) geometry = openEphysProbeGeometry(info.oebinFile, s.streamName, names);
  if (!geometry) {
    fail('probeGeometry', undefined, `stream "${s.streamName}" has no probe geometry in settings.xml (it is not a Neuropixels probe, or settings.xml is not in the Record Node folder); ` +
      `pass probeGeometry (CLI: --probe FILE) with one [x, y] row per electrode channel (${neural.length})`);
  }
  const size = fs.statSync(datFile).size;
  const whole = Math.floor(size / (2 * s.numChannels));
  if (size % (2 * s.numChannels) !== 0) {
    options.onWarning?.(`${datFile} has ${size} bytes, not a whole number of ${s.numChannels}-channel int16 samples: the recording was cut short; sorting its ${whole} whole samples`);
  }
  const gains = neural.map((k) => s.bitVolts[k]);
  const sampleOffset = options.sampleOffset ?? 0;
  return {
    binaryFile: datFile,
    dataType: 'int16',
    probeGeometry: geometry,
    samplingFrequency: s.sampleRate,
    fileChannels: s.numChannels,
    channels: neural,
    ...(gains.every((g) => Number.isFinite(g) && g > 0) ? { gainToMicrovolts: gains } : {}),
    sampleOffset,
    numSamples: options.numSamples ?? Math.max(1, whole - sampleOffset),
    recordingOffset: options.recordingOffset,
  };
}
