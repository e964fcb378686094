/**
 * The zoo's ResNet against PyTorch on the same weights and inputs: one training step in training mode (logits,
 * loss, every gradient, the parameters after torch.optim.Adam, BatchNorm's running statistics and
 * num_batches_tracked), then an evaluation-mode forward on the running statistics. The numbers come from
 * fixtures/resnet_step.safetensors, written by pytorch/fixtures/make_resnet_step.py, so this runs without PyTorch.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { crossEntropy, labels, noGrad, optim, safetensors, scoped, tensor } from '@sparsenet/tensor';
import { buildModel } from '@sparsenet/sparsenet';
import { adamHyperparameters, expectAdamClose, expectClose, useDevice } from '../../tensor/test/helpers.js';

useDevice();

const { tensors: fixture, metadata } = safetensors.decode(new Uint8Array(readFileSync(new URL('./fixtures/resnet_step.safetensors', import.meta.url))));
const hyper = adamHyperparameters(metadata);
const size = Number(metadata.image_size);
const numClasses = Number(metadata.classes);

function entry(name: string): safetensors.SafetensorsEntry {
  const found = fixture[name];
  if (!found) throw new Error(`fixture has no tensor '${name}'`);
  return found;
}

const f32 = (name: string) => entry(name).data as Float32Array;

/** The fixture's `<prefix><name>` tensors as a state dict (F32 and I32 as they are). */
function stateAt(prefix: string): Record<string, { dtype: 'f32' | 'i32'; shape: number[]; data: Float32Array | Int32Array }> {
  const out: Record<string, { dtype: 'f32' | 'i32'; shape: number[]; data: Float32Array | Int32Array }> = {};
  for (const [name, e] of Object.entries(fixture)) {
    if (!name.startsWith(prefix)) continue;
    out[name.slice(prefix.length)] = { dtype: e.dtype === 'I32' ? 'i32' : 'f32', shape: e.shape, data: e.data as Float32Array | Int32Array };
  }
  return out;
}

describe('the zoo ResNet matches PyTorch', () => {
  it('one training step (BatchNorm in training mode, Adam), then an evaluation forward', async () => {
    const model = buildModel({ name: 'resnet', options: {}, masked: false }, { numClasses, imageSize: size, seed: 0 });
    const init = stateAt('init.');
    // Every tensor of PyTorch's state dict exists in ours under the same name and shape, and nothing else.
    expect(Object.keys(init).sort()).toEqual((await model.stateDict().then(Object.keys)).sort());
    model.loadStateDict(init);
    const adam = new optim.Adam(model.parameters(), hyper);
    model.train();
    const grads = new Map<string, Float32Array>();
    await scoped(async () => {
      const [n] = entry('input').shape;
      const logits = model.forward(tensor(f32('input'), [n, 3, size, size]));
      const loss = crossEntropy(logits, labels(entry('labels').data as Int32Array));
      loss.backward();
      expectClose((await logits.toArray()) as Float32Array, f32('logits'), 'training-mode logits');
      expectClose([await loss.item()], f32('loss'), 'loss');
      for (const [name, p] of model.namedParameters()) grads.set(name, (await p.grad!.toArray()) as Float32Array);
      adam.step();
    });
    for (const [name, g] of grads) expectClose(g, f32(`grad.${name}`), `gradient of ${name}`);
    const after = await model.stateDict();
    const parameters = new Set(model.namedParameters().map(([name]) => name));
    for (const [name, e] of Object.entries(after)) {
      if (parameters.has(name)) expectAdamClose(`${name} after the step`, f32(`init.${name}`), e.data as Float32Array, f32(`step1.${name}`), grads.get(name)!, 1, hyper);
      else if (e.dtype === 'i32') expect(Array.from(e.data), name).toEqual(Array.from(entry(`step1.${name}`).data));
      else expectClose(e.data, f32(`step1.${name}`), `${name} after the training forward`);
    }
    const counters = Object.keys(after).filter((name) => name.endsWith('num_batches_tracked'));
    expect(counters.length).toBe(9);
    for (const name of counters) expect(after[name].data[0], name).toBe(1);

    model.eval();
    const [m] = entry('eval.input').shape;
    const logits = await scoped(async () => (await noGrad(() => model.forward(tensor(f32('eval.input'), [m, 3, size, size]))).toArray()) as Float32Array);
    expectClose(logits, f32('eval.logits'), 'evaluation-mode logits after the step');
    model.dispose();
    adam.dispose();
  });
});
