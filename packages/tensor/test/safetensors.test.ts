import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { safetensors } from '@sparsenet/tensor';

const { decode, encode } = safetensors;
type SafetensorsEntry = safetensors.SafetensorsEntry;

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));

/** Raw bytes with a hand-made header, to corrupt files in ways encode() refuses to. */
function withHeader(header: unknown, data: Uint8Array, declaredLength?: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(declaredLength ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors', () => {
  it('round-trips every dtype, scalars, empty tensors, views and metadata', () => {
    const backing = new Float32Array([9, 1.5, -2, 3e-8, 9]);
    const tensors: Record<string, SafetensorsEntry> = {
      view: { dtype: 'F32', shape: [3], data: backing.subarray(1, 4) },
      scalar: { dtype: 'F32', shape: [], data: new Float32Array([Math.PI]) },
      empty: { dtype: 'F32', shape: [2, 0], data: new Float32Array(0) },
      f64: { dtype: 'F64', shape: [2], data: new Float64Array([1 / 3, -1e300]) },
      i64: { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 62n), 5n]) },
      i32: { dtype: 'I32', shape: [2, 2], data: new Int32Array([-1, 0, 2 ** 31 - 1, -(2 ** 31)]) },
      i16: { dtype: 'I16', shape: [1], data: new Int16Array([-300]) },
      i8: { dtype: 'I8', shape: [3], data: new Int8Array([-128, 0, 127]) },
      u8: { dtype: 'U8', shape: [3], data: new Uint8Array([0, 128, 255]) },
      bool: { dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) },
    };
    const bytes = encode(tensors, { note: 'hello', epoch: '3' });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8, 'data starts 8-byte aligned').toBe(0);
    const back = decode(bytes);
    expect(back.metadata).toEqual({ note: 'hello', epoch: '3' });
    expect(Object.keys(back.tensors)).toEqual(Object.keys(tensors));
    for (const [name, entry] of Object.entries(tensors)) {
      expect(back.tensors[name].dtype, name).toBe(entry.dtype);
      expect(back.tensors[name].shape, name).toEqual(entry.shape);
      expect(Array.from(back.tensors[name].data as ArrayLike<unknown>), name).toEqual(Array.from(entry.data as ArrayLike<unknown>));
      expect(back.tensors[name].data.constructor, name).toBe(entry.data.constructor);
    }
    expect(decode(encode({})).tensors).toEqual({});
  });

  it('decodes data at unaligned offsets (headers need not be padded)', () => {
    const data = new Uint8Array(new Float32Array([1.25, -7]).buffer);
    const bytes = withHeader({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, y: { dtype: 'U8', shape: [0], data_offsets: [8, 8] } }, data);
    expect(bytes.length % 4, 'the data starts off a 4-byte boundary').not.toBe(0);
    expect(Array.from(decode(bytes).tensors.x.data as Float32Array)).toEqual([1.25, -7]);
  });

  it('reads the file the Python script wrote, and writes the same bytes', () => {
    const bytes = fixture('tiny.safetensors');
    const { tensors, metadata } = decode(bytes);
    expect(metadata).toEqual({ written_by: 'make_lenet_step.py' });
    expect(tensors.floats).toEqual({ dtype: 'F32', shape: [2, 3], data: new Float32Array([-0.5, -0.25, 0, 0.25, 0.5, 0.75]) });
    expect(tensors.ints).toEqual({ dtype: 'I32', shape: [3], data: new Int32Array([-1, 0, 2 ** 31 - 1]) });
    expect(tensors.bytes).toEqual({ dtype: 'U8', shape: [2, 2], data: new Uint8Array([0, 1, 254, 255]) });
    expect(tensors.scalar).toEqual({ dtype: 'F32', shape: [], data: new Float32Array([3.5]) });
    expect(tensors.empty).toEqual({ dtype: 'F32', shape: [0, 4], data: new Float32Array(0) });
    expect(encode(tensors, metadata)).toEqual(bytes);
  });

  it('reads the LeNet fixture header and tensors', () => {
    const { tensors, metadata } = decode(fixture('lenet_step.safetensors'));
    expect(metadata.torch).toMatch(/^1\.13/);
    expect(Number(metadata.lr)).toBe(1e-3);
    expect(tensors['init.conv1.weight'].shape).toEqual([6, 3, 5, 5]);
    expect(tensors['init.fc1.weight'].shape).toEqual([120, 2704]);
    expect(tensors['labels.1']).toMatchObject({ dtype: 'I32', shape: [4] });
    expect(tensors['masked.fc1.weight_mask']).toMatchObject({ dtype: 'U8', shape: [120, 2704] });
    const bound = 1 / Math.sqrt(2704);
    expect((tensors['init.fc1.weight'].data as Float32Array).every((v) => Math.abs(v) <= bound)).toBe(true);
  });

  it('decodes a Node Buffer read from a file (whose slice() is a view into a shared pool)', () => {
    const bytes = readFileSync(new URL('./fixtures/tiny.safetensors', import.meta.url));
    const padded = Buffer.concat([Buffer.alloc(13), bytes]).subarray(13);
    for (const source of [bytes, padded]) {
      const { tensors } = decode(source);
      for (const [name, t] of Object.entries(decode(new Uint8Array(bytes)).tensors)) {
        expect(tensors[name].data.length, name).toBe(t.data.length);
        expect(Array.from(tensors[name].data as ArrayLike<number>), name).toEqual(Array.from(t.data as ArrayLike<number>));
      }
    }
  });

  it('names what is wrong with truncated or corrupt bytes', () => {
    const good = encode({ a: { dtype: 'F32', shape: [2, 2], data: new Float32Array(4) }, b: { dtype: 'I32', shape: [1], data: new Int32Array(1) } });
    const headerLength = Number(new DataView(good.buffer).getBigUint64(0, true));
    const data = new Uint8Array(8);
    const f32 = (offsets: number[], shape = [2]) => ({ dtype: 'F32', shape, data_offsets: offsets });
    const cases: [Uint8Array, RegExp][] = [
      [good.subarray(0, 5), /5 bytes is too short for the 8-byte header length/],
      [good.subarray(0, 8 + headerLength - 3), new RegExp(`header length ${headerLength} exceeds the ${headerLength - 3} bytes after it \\(truncated`)],
      [good.subarray(0, good.length - 2), /tensor 'b' data_offsets \[16, 20\] run past the 18 bytes of data \(truncated/],
      [withHeader({}, new Uint8Array(0), 2 ** 40), /header length 1099511627776 exceeds the 100000000-byte limit/],
      [(() => { const b = good.slice(); b[8] = 0x78; return b; })(), /header is not valid UTF-8 JSON/],
      [(() => { const b = good.slice(); b[9] = 0xff; return b; })(), /header is not valid UTF-8 JSON/],
      [withHeader([1, 2], new Uint8Array(0)), /header is not a JSON object/],
      [withHeader({ x: { dtype: 'F16x', shape: [2], data_offsets: [0, 8] } }, data), /tensor 'x' has unknown dtype "F16x"/],
      [withHeader({ x: { dtype: 'F32', shape: [2.5], data_offsets: [0, 8] } }, data), /tensor 'x' has invalid shape \[2.5\]/],
      [withHeader({ x: { dtype: 'F32', shape: [2] } }, data), /tensor 'x' has invalid data_offsets undefined/],
      [withHeader({ x: f32([8, 0]) }, data), /tensor 'x' has invalid data_offsets \[8,0\]/],
      [withHeader({ x: f32([0, 8], [3]) }, data), /tensor 'x' has 8 bytes but F32 \[3\] needs 12/],
      [withHeader({ x: f32([0, 8]), y: f32([4, 12]) }, new Uint8Array(12)), /tensor 'y' starts at byte 4 but the tensors before it end at 8 \(overlap\)/],
      [withHeader({ x: f32([4, 12], [2]) }, new Uint8Array(12)), /tensor 'x' starts at byte 4 but the tensors before it end at 0 \(gap\)/],
      [withHeader({ x: f32([0, 8]) }, new Uint8Array(10)), /the data section has 10 bytes but the tensors use 8 \(trailing bytes\)/],
      [withHeader({ __metadata__: { epoch: 3 } }, new Uint8Array(0)), /metadata 'epoch' is not a string/],
    ];
    for (const [bytes, message] of cases) expect(() => decode(bytes), String(message)).toThrow(message);
  });

  it('refuses to encode data that does not match its dtype or shape', () => {
    expect(() => encode({ x: { dtype: 'F32', shape: [3], data: new Float32Array(2) } })).toThrow(/tensor 'x' has 2 values but shape \[3\] needs 3/);
    expect(() => encode({ x: { dtype: 'F32', shape: [2], data: new Int32Array(2) } })).toThrow(/tensor 'x' is F32 and needs a Float32Array, got Int32Array/);
    expect(() => encode({ x: { dtype: 'F32', shape: [-1], data: new Float32Array(0) } })).toThrow(/tensor 'x' has invalid shape \[-1\]/);
    expect(() => encode({}, { n: 3 as unknown as string })).toThrow(/metadata 'n' must be a string/);
  });
});
