import { describe, expect, it } from 'vitest';
import { init, memory, nn, Random, safetensors, scoped, tensor, type Tensor } from '@sparsenet/tensor';
import { expectClose, randomArray, useDevice } from './helpers.js';

useDevice();

/** LeNet as nn.Sequential blocks (PyTorch names features.0.weight, ...), as opposed to lenet-step's attributes. */
class SequentialLeNet extends nn.Module {
  readonly features: nn.Sequential;
  readonly classifier: nn.Sequential;

  constructor(seed: number) {
    super();
    const random = new Random(seed);
    this.features = this.registerModule(
      'features',
      new nn.Sequential(
        new nn.Conv2d(3, 6, 5, { seed: random }),
        new nn.ReLU(),
        new nn.MaxPool2d(2),
        new nn.Conv2d(6, 16, 5, { seed: random }),
        new nn.ReLU(),
        new nn.MaxPool2d(2),
        new nn.Flatten(),
      ),
    );
    this.classifier = this.registerModule(
      'classifier',
      new nn.Sequential(
        new nn.Linear(16 * 13 * 13, 120, { seed: random }),
        new nn.ReLU(),
        new nn.Linear(120, 84, { seed: random }),
        new nn.ReLU(),
        new nn.Linear(84, 7, { seed: random }),
      ),
    );
  }

  forward(x: Tensor): Tensor {
    return this.classifier.call(this.features.call(x));
  }
}

const LENET_SHAPES: [string, number[]][] = [
  ['features.0.weight', [6, 3, 5, 5]],
  ['features.0.bias', [6]],
  ['features.3.weight', [16, 6, 5, 5]],
  ['features.3.bias', [16]],
  ['classifier.0.weight', [120, 2704]],
  ['classifier.0.bias', [120]],
  ['classifier.2.weight', [84, 120]],
  ['classifier.2.bias', [84]],
  ['classifier.4.weight', [7, 84]],
  ['classifier.4.bias', [7]],
];

function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
}

describe('nn.Module', () => {
  it('names parameters as PyTorch does and counts LeNet', () => {
    const model = new SequentialLeNet(1);
    expect(model.namedParameters().map(([name, t]) => [name, [...t.shape]])).toEqual(LENET_SHAPES);
    // 6*3*25+6 + 16*6*25+16 + 2704*120+120 + 120*84+84 + 84*7+7
    expect(model.numParameters()).toBe(338_231);
    expect(model.parameters().every((t) => t.requiresGrad)).toBe(true);
    expect(model.namedModules().map(([name]) => name)).toEqual(['', 'features', ...[0, 1, 2, 3, 4, 5, 6].map((i) => `features.${i}`), 'classifier', ...[0, 1, 2, 3, 4].map((i) => `classifier.${i}`)]);
    expect(new nn.Linear(4, 3, { bias: false }).namedParameters().map(([n]) => n)).toEqual(['weight']);
    model.dispose();
  });

  it('keeps buffers in the state dict, out of the parameters, and pairs masks with their weights', async () => {
    const model = new SequentialLeNet(2);
    const fc1 = model.classifier.at(0) as nn.Linear;
    const mask = fc1.registerBuffer('weight_mask', tensor(new Float32Array(120 * 2704).fill(1), [120, 2704]));
    expect(fc1.weightMask).toBe(mask);
    expect(model.parameters()).toHaveLength(10);
    expect(model.namedBuffers().map(([n]) => n)).toEqual(['classifier.0.weight_mask']);
    const keys = Object.keys(await model.stateDict());
    expect(keys.slice(4, 7)).toEqual(['classifier.0.weight', 'classifier.0.bias', 'classifier.0.weight_mask']);
    const masked = model.parametersWithMasks().filter((p) => p.mask);
    expect(masked.map((p) => [p.name, p.param, p.mask])).toEqual([['classifier.0.weight', fc1.weight, mask]]);
    model.dispose();
  });

  it('owns its tensors: they outlive memory scopes and are freed by dispose', async () => {
    const before = memory().liveBuffers;
    const model = await scoped(() => new nn.Sequential(new nn.Linear(5, 4), new nn.ReLU(), new nn.Linear(4, 2)));
    expect(model.parameters().every((t) => !t.disposed)).toBe(true);
    expect(memory().liveBuffers).toBe(before + 4);
    model.dispose();
    expect(memory().liveBuffers).toBe(before);
  });

  it('refuses bad names and sizes', () => {
    const layer = new nn.Linear(3, 2);
    expect(() => layer.registerBuffer('a.b', tensor([1]))).toThrow(/Linear: invalid name 'a.b'/);
    expect(() => layer.registerBuffer('weight', tensor([1]))).toThrow(/'weight' is already registered as another kind/);
    expect(() => layer.registerParameter('count', tensor(new Int32Array([1])))).toThrow(/registerParameter: 'count' must be f32, got i32 \[1\]/);
    expect(() => layer.parameter('gamma')).toThrow(/Linear has no parameter 'gamma' \(it has: weight, bias\)/);
    expect(() => new nn.Linear(0, 2)).toThrow(/Linear: inFeatures must be integers >= 1, got 0/);
    expect(() => new nn.Conv2d(3, 6, 5, { padding: -1 })).toThrow(/Conv2d: padding must be integers >= 0, got -1/);
    expect(() => new nn.Sequential(layer).at(3)).toThrow(/Sequential: no layer 3 \(it has 1\)/);
    layer.dispose();
  });

  it('switches train/eval through every submodule', () => {
    const model = new SequentialLeNet(3);
    expect(model.namedModules().every(([, m]) => m.training)).toBe(true);
    expect(model.eval()).toBe(model);
    expect(model.namedModules().every(([, m]) => !m.training)).toBe(true);
    model.train();
    expect(model.features.at(2).training).toBe(true);
    model.dispose();
  });
});

describe('state dicts', () => {
  it('round-trips through stateDict/loadStateDict and through safetensors bytes', async () => {
    const a = new SequentialLeNet(4);
    const b = new SequentialLeNet(5);
    const c = new SequentialLeNet(6);
    const state = await a.stateDict();
    expect(Object.entries(state).map(([name, e]) => [name, e.shape])).toEqual(LENET_SHAPES);
    expect((await b.stateDict())['features.0.weight'].data).not.toEqual(state['features.0.weight'].data);
    b.loadStateDict(state);
    expect(await b.stateDict()).toEqual(state);
    const bytes = await a.saveSafetensors({ epoch: '7' });
    expect(c.loadSafetensors(bytes)).toEqual({ epoch: '7' });
    expect(await c.stateDict()).toEqual(state);
    // The file is plain safetensors, readable without nn.
    expect(nn.stateDictFromSafetensors(safetensors.decode(bytes).tensors)).toEqual(state);
    for (const m of [a, b, c]) m.dispose();
  });

  it('throws naming each bad key and both shapes, and writes nothing then', async () => {
    const model = new SequentialLeNet(7);
    const original = await model.stateDict();
    const donor = new SequentialLeNet(8);
    const other = await donor.stateDict();
    donor.dispose();
    const wrong = { ...other, 'classifier.4.weight': { dtype: 'f32' as const, shape: [5, 84], data: new Float32Array(5 * 84) } };
    expect(() => model.loadStateDict(wrong)).toThrow(/size mismatch for 'classifier.4.weight': state dict \[5,84\], model \[7,84\]/);
    expect(() => model.loadStateDict(wrong, { strict: false })).toThrow(/size mismatch/);
    expect(await model.stateDict()).toEqual(original);

    const { 'features.3.bias': _dropped, ...missing } = other;
    expect(() => model.loadStateDict(missing)).toThrow(/loadStateDict\(SequentialLeNet\): missing key 'features.3.bias' \(model \[16\]\)/);
    const extra = { ...other, 'fc4.weight': { dtype: 'f32' as const, shape: [3, 4], data: new Float32Array(12) } };
    expect(() => model.loadStateDict(extra)).toThrow(/unexpected key 'fc4.weight' \(state dict \[3,4\]\)/);
    const both = { ...missing, 'fc4.weight': extra['fc4.weight'] };
    expect(() => model.loadStateDict(both)).toThrow(/missing key 'features.3.bias'.*; unexpected key 'fc4.weight'/);
    expect(await model.stateDict()).toEqual(original);

    model.loadStateDict(both, { strict: false });
    const loaded = await model.stateDict();
    expect(loaded['features.3.bias']).toEqual(original['features.3.bias']);
    expect(loaded['features.3.weight']).toEqual(other['features.3.weight']);

    const ints = { ...other, 'features.0.bias': { dtype: 'i32' as const, shape: [6], data: new Int32Array(6) } };
    expect(() => model.loadStateDict(ints)).toThrow(/dtype mismatch for 'features.0.bias': state dict i32, model f32/);
    const short = { ...other, 'features.0.bias': { dtype: 'f32' as const, shape: [6], data: new Float32Array(5) } };
    expect(() => model.loadStateDict(short)).toThrow(/'features.0.bias' needs 6 values in a Float32Array, got 5 in a Float32Array/);
    model.dispose();
  });
});

describe('init', () => {
  it('draws PyTorch default bounds: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases', async () => {
    for (const [layer, fanIn] of [
      [new nn.Linear(2704, 120, { seed: 1 }), 2704],
      [new nn.Conv2d(3, 6, 5, { seed: 2 }), 75],
      [new nn.Conv2d(6, 16, [3, 2], { seed: 3 }), 36],
    ] as const) {
      const bound = 1 / Math.sqrt(fanIn);
      for (const t of [layer.weight, layer.bias!]) {
        const values = (await t.toArray()) as Float32Array;
        expect(maxAbs(values), `${layer.constructor.name} [${t.shape}]`).toBeLessThanOrEqual(bound);
        if (values.length > 1000) {
          // A uniform on [-b, b] has mean 0 and variance b^2 / 3; with n >= 2880 draws both are within a few percent.
          const mean = values.reduce((s, v) => s + v, 0) / values.length;
          const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length;
          expect(Math.abs(mean)).toBeLessThan(0.05 * bound);
          expect(variance / (bound * bound / 3)).toBeCloseTo(1, 1);
          expect(maxAbs(values)).toBeGreaterThan(0.99 * bound);
        }
      }
      layer.dispose();
    }
    expect(init.fanIn([120, 2704])).toBe(2704);
    expect(init.fanIn([16, 6, 5, 5])).toBe(150);
    expect(() => init.fanIn([7])).toThrow(/fanIn: a weight needs at least 2 dimensions/);
    // kaiming_uniform with a = 0 (ReLU gain sqrt 2): bound sqrt(6 / fan_in).
    expect(maxAbs(init.kaimingUniform([50, 600], new Random(1), 0))).toBeGreaterThan(0.99 * Math.sqrt(6 / 600));
    expect(maxAbs(init.kaimingUniform([50, 600], new Random(1), 0))).toBeLessThanOrEqual(Math.sqrt(6 / 600));
  });

  it('is reproducible from a seed, a shared generator, or manualSeed', async () => {
    const weights = async (layer: nn.Linear) => {
      const out = [await layer.weight.toArray(), await layer.bias!.toArray()];
      layer.dispose();
      return out;
    };
    expect(await weights(new nn.Linear(30, 20, { seed: 9 }))).toEqual(await weights(new nn.Linear(30, 20, { seed: 9 })));
    expect(await weights(new nn.Linear(30, 20, { seed: 9 }))).not.toEqual(await weights(new nn.Linear(30, 20, { seed: 10 })));
    // Layers sharing a generator draw one after the other, as from torch's global generator.
    const shared = new Random(11);
    const first = await weights(new nn.Linear(30, 20, { seed: shared }));
    const second = await weights(new nn.Linear(30, 20, { seed: shared }));
    expect(second).not.toEqual(first);
    const replay = new Random(11);
    expect(await weights(new nn.Linear(30, 20, { seed: replay }))).toEqual(first);
    expect(await weights(new nn.Linear(30, 20, { seed: replay }))).toEqual(second);
    init.manualSeed(12);
    const unseeded = await weights(new nn.Linear(30, 20));
    init.manualSeed(12);
    expect(await weights(new nn.Linear(30, 20))).toEqual(unseeded);
    expect(unseeded).toEqual(await weights(new nn.Linear(30, 20, { seed: 12 })));
  });
});

describe('layers', () => {
  it('Linear computes x W^T + b with its weight_mask applied', async () => {
    const [n, inF, outF] = [33, 37, 11];
    const layer = new nn.Linear(inF, outF, { seed: 13 });
    const maskValues = randomArray(outF * inF, 14, 0, 1).map((v) => (v < 0.5 ? 0 : 1));
    layer.registerBuffer('weight_mask', tensor(maskValues, [outF, inF]));
    const xv = randomArray(n * inF, 15);
    const w = await layer.weight.toArray();
    const b = await layer.bias!.toArray();
    const ref = new Float64Array(n * outF);
    for (let i = 0; i < n; i++) {
      for (let o = 0; o < outF; o++) {
        let s = b[o];
        for (let k = 0; k < inF; k++) s += xv[i * inF + k] * w[o * inF + k] * maskValues[o * inF + k];
        ref[i * outF + o] = s;
      }
    }
    const y = await scoped(() => layer.call(tensor(xv, [n, inF])));
    expectClose(await y.toArray(), ref, 'masked Linear forward');
    y.dispose();
    layer.dispose();
  });

  it('Sequential LeNet maps [N,3,64,64] to [N,7] and Conv2d honours stride and padding', async () => {
    const model = new SequentialLeNet(16);
    const conv = new nn.Conv2d(3, 4, 3, { stride: 2, padding: 1, seed: 17 });
    await scoped(async () => {
      for (const batch of [1, 3]) {
        const x = tensor(randomArray(batch * 3 * 64 * 64, 18 + batch), [batch, 3, 64, 64]);
        expect(model.call(x).shape).toEqual([batch, 7]);
        expect(conv.call(x).shape).toEqual([batch, 4, 32, 32]);
      }
    });
    model.dispose();
    conv.dispose();
  });
});
