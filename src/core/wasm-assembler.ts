/**
 * A minimal WebAssembly assembler shared by the SIMD kernels (filter-wasm.ts on the filter workers,
 * sorting/linalg-wasm.ts): LEB128 encoders, an instruction buffer with the few helpers both
 * use, and the section framing of a module. The kernels are assembled at run time from short
 * instruction lists (no toolchain, no binary blob).
 *
 * Part of the filter worker's module graph (cpu-pool.ts WORKER_MODULES): it stays beside
 * filter-wasm.ts and imports nothing.
 */

/** Unsigned LEB128 of v (0 <= v < 2^32). */
export function uleb(v: number, out: number[]): void {
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
}

/** Signed LEB128 of a 32-bit integer. */
export function sleb(v: number, out: number[]): void {
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

/** An instruction sequence (function body without locals). */
export class Code {
  readonly b: number[] = [];
  get(i: number): this { this.b.push(0x20); uleb(i, this.b); return this; }
  set(i: number): this { this.b.push(0x21); uleb(i, this.b); return this; }
  tee(i: number): this { this.b.push(0x22); uleb(i, this.b); return this; }
  /** i32.const (signed LEB128, as the format requires). */
  i32(v: number): this { this.b.push(0x41); sleb(v | 0, this.b); return this; }
  op(...codes: number[]): this { this.b.push(...codes); return this; }
  add(): this { return this.op(0x6a); }
  sub(): this { return this.op(0x6b); }
  mul(): this { return this.op(0x6c); }
  shl(): this { return this.op(0x74); }
  geU(): this { return this.op(0x4f); }
  /** block + loop; `body` may `br_if 1` to leave and ends with `br 0` to repeat. */
  loop(body: () => void): this {
    this.op(0x02, 0x40, 0x03, 0x40);
    body();
    return this.op(0x0c, 0x00, 0x0b, 0x0b);
  }
  exitIf(): this { return this.op(0x0d, 0x01); }
  /** A SIMD instruction (0xfd prefix) with raw immediate bytes. */
  simd(code: number, ...imm: number[]): this {
    this.b.push(0xfd);
    uleb(code, this.b);
    this.b.push(...imm);
    return this;
  }
  /** A scalar memory instruction (i32.load, f32.store, ...) with its memarg (alignment exponent, offset). */
  memOp(code: number, offset = 0, align = 2): this {
    this.b.push(code);
    uleb(align, this.b);
    uleb(offset, this.b);
    return this;
  }
  /** A SIMD memory instruction with its memarg (alignment exponent, offset). */
  mem(code: number, offset: number, align = 0): this {
    this.b.push(0xfd);
    uleb(code, this.b);
    uleb(align, this.b);
    uleb(offset, this.b);
    return this;
  }
}

/** Appends a section: id, payload size, payload. */
export function section(id: number, payload: number[], out: number[]): void {
  out.push(id);
  uleb(payload.length, out);
  out.push(...payload);
}

/**
 * Appends the memory section of a module that owns one growable memory: shared, from 1 page up
 * to the 4-GiB limit (address space only; pages are committed as they are touched). Shared,
 * because growing an unshared memory detaches its ArrayBuffer, and the first detach in a
 * thread makes V8 throw away the optimized code of every function that reads a typed array
 * (~20 functions recompiled in a 32-channel sort) and check for detached buffers ever after.
 */
export function sharedMemorySection(out: number[]): void {
  const limits: number[] = [0x01, 0x03, 0x01];
  uleb(65536, limits);
  section(5, limits, out);
}

/** Appends a name (length-prefixed bytes; names here are ASCII). */
export function str(s: string, out: number[]): void {
  uleb(s.length, out);
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
}

/** The module header: magic and version 1. */
export function moduleHeader(): number[] {
  return [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
}

/** Appends the export section: each entry a name, a kind (0 function, 2 memory) and an index. */
export function exportSection(entries: readonly [name: string, kind: number, index: number][], out: number[]): void {
  const exp: number[] = [];
  uleb(entries.length, exp);
  for (const [name, kind, index] of entries) {
    str(name, exp);
    exp.push(kind);
    uleb(index, exp);
  }
  section(7, exp, out);
}
