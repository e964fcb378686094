/**
 * The safetensors format (https://github.com/huggingface/safetensors), in plain TypeScript with no Node
 * imports so that it runs in browsers too: an 8-byte little-endian header length, a JSON header naming each
 * tensor's dtype, shape and byte range, then the raw little-endian data. Typed arrays use the platform's byte
 * order, which is little-endian on every platform WebGPU runs on.
 */

const TYPED = {
  F64: Float64Array,
  F32: Float32Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U64: BigUint64Array,
  U32: Uint32Array,
  U16: Uint16Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
} as const;

export type SafetensorsDType = keyof typeof TYPED;
export type SafetensorsArray =
  | Float64Array
  | Float32Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | BigUint64Array
  | Uint32Array
  | Uint16Array
  | Uint8Array;

export interface SafetensorsEntry {
  dtype: SafetensorsDType;
  shape: number[];
  data: SafetensorsArray;
}

export interface Safetensors {
  tensors: Record<string, SafetensorsEntry>;
  /** The header's optional `__metadata__`: string keys to string values. */
  metadata: Record<string, string>;
}

const METADATA = '__metadata__';
/** The reference implementation refuses headers above 100 MB; so do we, before parsing untrusted JSON. */
const MAX_HEADER_BYTES = 100_000_000;

function isDType(value: unknown): value is SafetensorsDType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(TYPED, value);
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function isShape(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((d) => Number.isSafeInteger(d) && d >= 0);
}

/** Encodes tensors (in the order given) and optional string metadata as safetensors bytes. */
export function encode(tensors: Record<string, SafetensorsEntry>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw new Error(`safetensors.encode: metadata '${key}' must be a string, got ${typeof value}`);
    }
    header[METADATA] = metadata;
  }
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const [name, { dtype, shape, data }] of Object.entries(tensors)) {
    if (name === METADATA) throw new Error(`safetensors.encode: '${METADATA}' is reserved and cannot name a tensor`);
    if (!isDType(dtype)) throw new Error(`safetensors.encode: tensor '${name}' has unknown dtype ${String(dtype)} (known: ${Object.keys(TYPED).join(', ')})`);
    if (!isShape(shape)) throw new Error(`safetensors.encode: tensor '${name}' has invalid shape ${JSON.stringify(shape)}`);
    if (!(data instanceof TYPED[dtype])) {
      throw new Error(`safetensors.encode: tensor '${name}' is ${dtype} and needs a ${TYPED[dtype].name}, got ${data?.constructor?.name}`);
    }
    if (data.length !== elementCount(shape)) {
      throw new Error(`safetensors.encode: tensor '${name}' has ${data.length} values but shape [${shape}] needs ${elementCount(shape)}`);
    }
    header[name] = { dtype, shape, data_offsets: [offset, offset + data.byteLength] };
    parts.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    offset += data.byteLength;
  }
  // Pad the header with spaces (as the reference writer does) so that the data starts 8-byte aligned.
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const spaced = new Uint8Array(padded).fill(0x20);
    spaced.set(json);
    json = spaced;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * Decodes safetensors bytes. Every tensor's data is copied out (so it is aligned and independent of `bytes`).
 * Throws naming what is wrong: a truncated file, a bad header, offsets that overlap, leave gaps or run past
 * the end, or a byte count that does not match the shape.
 */
export function decode(bytes: Uint8Array): Safetensors {
  const fail = (what: string): never => {
    throw new Error(`safetensors.decode: ${what}`);
  };
  if (bytes.length < 8) fail(`${bytes.length} bytes is too short for the 8-byte header length (truncated file?)`);
  const headerBytes = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerBytes > BigInt(MAX_HEADER_BYTES)) fail(`header length ${headerBytes} exceeds the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`);
  const headerLength = Number(headerBytes);
  if (8 + headerLength > bytes.length) {
    fail(`header length ${headerLength} exceeds the ${bytes.length - 8} bytes after it (truncated file?)`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (error) {
    fail(`header is not valid UTF-8 JSON (${(error as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');

  const metadata: Record<string, string> = {};
  const ranges: { name: string; begin: number; end: number; dtype: SafetensorsDType; shape: number[] }[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA) {
      if (!info || typeof info !== 'object' || Array.isArray(info)) fail(`'${METADATA}' is not an object`);
      for (const [key, value] of Object.entries(info as Record<string, unknown>)) {
        if (typeof value !== 'string') fail(`metadata '${key}' is not a string`);
        metadata[key] = value as string;
      }
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = (info ?? {}) as Record<string, unknown>;
    if (!isDType(dtype)) fail(`tensor '${name}' has unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(TYPED).join(', ')})`);
    if (!isShape(shape)) fail(`tensor '${name}' has invalid shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      fail(`tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as number[];
    const needed = elementCount(shape as number[]) * TYPED[dtype as SafetensorsDType].BYTES_PER_ELEMENT;
    if (end - begin !== needed) fail(`tensor '${name}' has ${end - begin} bytes but ${dtype} [${shape}] needs ${needed}`);
    ranges.push({ name, begin, end, dtype: dtype as SafetensorsDType, shape: shape as number[] });
  }

  // As the reference reader does: the tensors must tile the data section exactly, with no overlap or gap.
  const dataStart = 8 + headerLength;
  const dataBytes = bytes.length - dataStart;
  let covered = 0;
  for (const range of [...ranges].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    if (range.end > dataBytes) {
      fail(`tensor '${range.name}' data_offsets [${range.begin}, ${range.end}] run past the ${dataBytes} bytes of data (truncated file?)`);
    }
    if (range.begin !== covered) {
      fail(`tensor '${range.name}' starts at byte ${range.begin} but the tensors before it end at ${covered} (${range.begin < covered ? 'overlap' : 'gap'})`);
    }
    covered = range.end;
  }
  if (covered !== dataBytes) fail(`the data section has ${dataBytes} bytes but the tensors use ${covered} (trailing bytes)`);

  const tensors: Record<string, SafetensorsEntry> = {};
  for (const { name, begin, end, dtype, shape } of ranges) {
    // A fresh, aligned copy: `bytes` may be a Node Buffer, whose slice() is a view into a larger pool.
    const copy = new Uint8Array(end - begin);
    copy.set(bytes.subarray(dataStart + begin, dataStart + end));
    tensors[name] = { dtype, shape, data: new TYPED[dtype](copy.buffer) };
  }
  return { tensors, metadata };
}
