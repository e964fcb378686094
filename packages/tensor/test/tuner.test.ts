import { describe, expect, it } from 'vitest';
import * as k from '@sparsenet/kernels-wgsl';
import { empty, runtime } from '@sparsenet/tensor';
import { useDevice } from './helpers.js';

useDevice();

const VARIANTS = ['one', 'two'] as const;
type Variant = (typeof VARIANTS)[number];

/** A request whose variants fill a scratch tensor with 1 or 2; `wgsl` stands for the kernel's text (its version). */
function fillRequest(wgsl: string): () => k.TuneRequest<Variant> {
  return () => {
    const out = empty([1000], 'f32', 'tuner test');
    return k.tuneRequest({
      kernel: 'demo',
      shape: '1000',
      variants: VARIANTS,
      programs: [{ key: 'demo', wgsl, bindings: ['write'] }],
      run: (variant) => k.fill(runtime().runner, out.buffer, 1000, variant === 'one' ? 1 : 2, 'f32'),
      release: () => out.dispose(),
    });
  };
}

describe('kernel tuner persistence', () => {
  it('versions programs by a 64-bit FNV-1a of their WGSL', () => {
    expect(k.fnv1a64('')).toBe('cbf29ce484222325');
    expect(k.fnv1a64('a')).toBe('af63dc4c8601ec8c');
    const program = { key: 'p', wgsl: 'fn main() {}', bindings: [] };
    expect(k.programsVersion([program])).toBe(k.programsVersion([{ ...program }]));
    expect(k.programsVersion([program])).not.toBe(k.programsVersion([{ ...program, wgsl: 'fn main() { }' }]));
  });

  it('measures once; a second tuner given the export measures nothing and chooses the same; an edited kernel is measured again', async () => {
    const { runner } = runtime();
    const first = new k.KernelTuner(runner);
    expect(first.choose('demo', '1000', VARIANTS, 'two', fillRequest('v1'))).toBe('two');
    expect(first.pendingCount).toBe(1);
    await first.tunePending(2);
    expect(first.measuredCount).toBe(2);
    const records = first.export();
    const chosen = records['demo:1000'];
    expect(VARIANTS).toContain(chosen.variant);
    expect(chosen.version).toBe(k.programsVersion([{ key: 'demo', wgsl: 'v1', bindings: ['write'] }]));

    const second = new k.KernelTuner(runner);
    second.import(JSON.parse(JSON.stringify(records)));
    expect(second.export()).toEqual({});
    const heuristic: Variant = chosen.variant === 'one' ? 'two' : 'one';
    expect(second.choose('demo', '1000', VARIANTS, heuristic, fillRequest('v1'))).toBe(chosen.variant);
    expect(second.pendingCount).toBe(0);
    await second.tunePending(2);
    expect(second.measuredCount).toBe(0);
    expect(second.export()).toEqual(records);

    const edited = new k.KernelTuner(runner);
    edited.import(records);
    expect(edited.choose('demo', '1000', VARIANTS, heuristic, fillRequest('v2'))).toBe(heuristic);
    expect(edited.pendingCount).toBe(1);
    await edited.tunePending(2);
    expect(edited.measuredCount).toBe(2);
    expect(edited.export()['demo:1000'].version).not.toBe(chosen.version);
  });

  it('refuses records that are not {variant, version}, naming the key', () => {
    const tuner = new k.KernelTuner(runtime().runner);
    expect(() => tuner.import({ 'matmul:1x1x1:nn': 'tiled' } as unknown as Record<string, k.TuningRecord>)).toThrow(/tuner.import: 'matmul:1x1x1:nn' is not a \{variant, version\} record/);
    expect(() => tuner.import(null as unknown as Record<string, k.TuningRecord>)).toThrow(/tuner.import: expected an object/);
  });

  it('keys matmul and conv2d choices by every flag compiled into their WGSL', () => {
    const spec = k.matmulSpec(64, 120, 2704, { transB: true, bias: {} as GPUBuffer, relu: true, maskB: {} as GPUBuffer });
    expect(k.matmulTuningShape(64, 120, 2704, spec)).toBe('64x2704x120:nt+bias+relu+maskB');
    const shape: k.Conv2dShape = { n: 64, c: 3, h: 64, w: 64, o: 6, kh: 5, kw: 5, strideH: 1, strideW: 1, padH: 0, padW: 0 };
    expect(k.conv2dTuningShape(shape, { bias: {} as GPUBuffer, relu: true })).toBe('64x3x64x64:6x5x5:s1x1:p0x0+bias+relu');
  });
});
