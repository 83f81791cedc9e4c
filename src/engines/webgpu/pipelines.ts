/**
 * Loads WGSL from the package's `shaders/` folder (found relative to this module, so it works
 * from src/gpu under vitest / ts-loader and from dist/gpu in the published package) and caches
 * compute pipelines per device by key.
 */
import { readFileSync } from 'node:fs';
import { GpuContext, GpuError } from './context.js';

const sources = new Map<string, string>();
const INCLUDE = /^\/\/! include ([\w.-]+\.wgsl)\s*$/gm;

/**
 * The WGSL of `file` with its shared snippets: a line `//! include name.wgsl` is replaced by
 * that file's text (each snippet once per shader, so a rule such as the peak rule is written
 * in one place).
 */
export function shaderSource(file: string): string {
  const seen = new Set<string>([file]);
  return readShader(file).replace(INCLUDE, (_line, name: string) => {
    if (seen.has(name)) return '';
    seen.add(name);
    return readShader(name);
  });
}

function readShader(file: string): string {
  let src = sources.get(file);
  if (src === undefined) {
    const url = new URL(`../../../shaders/${file}`, import.meta.url);
    try {
      src = readFileSync(url, 'utf8');
    } catch (e) {
      throw new GpuError(`cannot read shader ${url.pathname} (${(e as Error).message}); the package's shaders/ folder must ship next to dist/`);
    }
    sources.set(file, src);
  }
  return src;
}

const caches = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();

/**
 * A compute pipeline for `entryPoint` of `file` with override `constants`; cached by file,
 * entry point and constants. WGSL compilation errors are thrown with line numbers.
 * Call it inside `ctx.run` (its error scopes nest in the caller's).
 */
export function getPipeline(
  ctx: GpuContext,
  file: string,
  entryPoint: string,
  constants: Record<string, number> = {},
): Promise<GPUComputePipeline> {
  return pipelineFromSource(ctx, file, () => shaderSource(file), entryPoint, constants);
}

/** As getPipeline for WGSL given as text (`name` labels it and keys the cache). */
export function pipelineFromSource(
  ctx: GpuContext,
  name: string,
  code: () => string,
  entryPoint: string,
  constants: Record<string, number> = {},
): Promise<GPUComputePipeline> {
  let cache = caches.get(ctx.device);
  if (!cache) {
    cache = new Map();
    caches.set(ctx.device, cache);
  }
  const key = `${name}#${entryPoint}#${JSON.stringify(constants)}`;
  let p = cache.get(key);
  if (!p) {
    p = ctx.scoped(`compiling ${name}:${entryPoint}`, async () => {
      const module = ctx.device.createShaderModule({ code: code(), label: name });
      const info = await module.getCompilationInfo();
      const errors = info.messages.filter((m) => m.type === 'error');
      if (errors.length > 0) {
        throw new GpuError(`WGSL errors in ${name}: ${errors.map((m) => `line ${m.lineNum}:${m.linePos} ${m.message}`).join('; ')}`);
      }
      return ctx.device.createComputePipelineAsync({
        layout: 'auto',
        label: key,
        compute: { module, entryPoint, constants },
      });
    });
    const cached = p;
    const map = cache;
    map.set(key, cached);
    cached.catch(() => map.delete(key));
  }
  return p;
}

/** Bind group of `buffers` in binding order 0..n-1 for group 0 of `pipeline`. */
export function bindBuffers(ctx: GpuContext, pipeline: GPUComputePipeline, buffers: (GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number })[]): GPUBindGroup {
  return ctx.device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((b, i) => ({ binding: i, resource: 'buffer' in b ? b : { buffer: b } })),
  });
}
