/**
 * One LeNet training step, and a second, against PyTorch 1.13 on the same weights and batches: loss,
 * every gradient, and the weights after torch.optim.Adam. The numbers come from fixtures/lenet_step.safetensors
 * (see fixtures/README.md), so this runs without PyTorch.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { crossEntropy, flatten, labels, maxPool2d, nn, optim, relu, safetensors, scoped, tensor, type Tensor } from '@sparsenet/tensor';
import { adamHyperparameters, expectAdamClose as expectAdamCloseWith, expectClose, useDevice } from './helpers.js';

useDevice();

/** PyTorch's LeNet in the fixture script, layer for layer, with its attribute names. */
class LeNet extends nn.Module {
  readonly conv1 = this.registerModule('conv1', new nn.Conv2d(3, 6, 5));
  readonly conv2 = this.registerModule('conv2', new nn.Conv2d(6, 16, 5));
  readonly fc1 = this.registerModule('fc1', new nn.Linear(16 * 13 * 13, 120));
  readonly fc2 = this.registerModule('fc2', new nn.Linear(120, 84));
  readonly fc3 = this.registerModule('fc3', new nn.Linear(84, 7));

  forward(x: Tensor): Tensor {
    let h = maxPool2d(relu(this.conv1.call(x)), 2);
    h = maxPool2d(relu(this.conv2.call(h)), 2);
    h = relu(this.fc1.call(flatten(h)));
    h = relu(this.fc2.call(h));
    return this.fc3.call(h);
  }
}

const NAMES = ['conv1', 'conv2', 'fc1', 'fc2', 'fc3'].flatMap((layer) => [`${layer}.weight`, `${layer}.bias`]);
const { tensors: fixture, metadata } = safetensors.decode(new Uint8Array(readFileSync(new URL('./fixtures/lenet_step.safetensors', import.meta.url))));
const hyper = adamHyperparameters(metadata);
const expectAdamClose = (what: string, w0: Float32Array, ours: Float32Array, torch: Float32Array, g1: Float32Array, steps: number) =>
  expectAdamCloseWith(what, w0, ours, torch, g1, steps, hyper);

function values(name: string): Float32Array {
  const entry = fixture[name];
  if (!entry || entry.dtype !== 'F32') throw new Error(`fixture has no F32 tensor '${name}'`);
  return entry.data as Float32Array;
}

/** The fixture's tensors `<prefix><name>` for every LeNet parameter, as a state dict. */
function weightsAt(prefix: string): nn.StateDict {
  return nn.stateDictFromSafetensors(Object.fromEntries(NAMES.map((name) => [name, fixture[prefix + name]])));
}

interface Step {
  loss: number;
  /** Each parameter's gradient, read before the optimizer step. */
  grads: Map<string, Float32Array>;
  /** Each parameter after the step. */
  weights: Map<string, Float32Array>;
}

async function trainStep(model: LeNet, adam: optim.Adam, batch: number): Promise<Step> {
  return scoped(async () => {
    const x = tensor(values(`input.${batch}`), [4, 3, 64, 64]);
    const y = labels(fixture[`labels.${batch}`].data as Int32Array);
    adam.zeroGrad();
    const loss = crossEntropy(model.call(x), y);
    loss.backward();
    const grads = new Map<string, Float32Array>();
    for (const [name, p] of model.namedParameters()) grads.set(name, (await p.grad!.toArray()) as Float32Array);
    adam.step();
    const weights = new Map<string, Float32Array>();
    for (const [name, p] of model.namedParameters()) weights.set(name, (await p.toArray({ checkFinite: true })) as Float32Array);
    return { loss: await loss.item(), grads, weights };
  });
}

describe('LeNet training steps match PyTorch', () => {
  it('loss, gradients and Adam updates over two steps', async () => {
    const model = new LeNet();
    model.loadStateDict(weightsAt('init.'));
    const adam = new optim.Adam(model.parameters(), hyper);
    const losses = values('loss');

    const first = await trainStep(model, adam, 1);
    expectClose([first.loss], [losses[0]], 'loss at step 1');
    for (const name of NAMES) expectClose(first.grads.get(name)!, values(`grad1.${name}`), `gradient of ${name} at step 1`);
    for (const name of NAMES) expectAdamClose(`${name} after step 1`, values(`init.${name}`), first.weights.get(name)!, values(`step1.${name}`), first.grads.get(name)!, 1);

    const second = await trainStep(model, adam, 2);
    expectClose([second.loss], [losses[1]], 'loss at step 2');
    for (const name of NAMES) expectAdamClose(`${name} after step 2`, values(`init.${name}`), second.weights.get(name)!, values(`step2.${name}`), first.grads.get(name)!, 2);
    model.dispose();
  });

  it('with fc1 pruned 50% by torch.nn.utils.prune.l1_unstructured', async () => {
    const mask = Float32Array.from(fixture['masked.fc1.weight_mask'].data as Uint8Array);
    const model = new LeNet();
    model.fc1.registerBuffer('weight_mask', tensor(mask, [120, 2704]));
    const state = weightsAt('init.');
    // PyTorch's effective weight is weight_orig * mask; ours holds pruned weights at exactly zero.
    const w0 = (state['fc1.weight'].data as Float32Array).map((w, i) => w * mask[i]);
    model.loadStateDict({ ...state, 'fc1.weight': { ...state['fc1.weight'], data: w0 }, 'fc1.weight_mask': { dtype: 'f32', shape: [120, 2704], data: mask } });
    expect(mask.reduce((s, m) => s + m, 0)).toBe((120 * 2704) / 2);
    const adam = new optim.Adam(model.parametersWithMasks(), hyper);
    const losses = values('masked.loss');

    const first = await trainStep(model, adam, 1);
    expectClose([first.loss], [losses[0]], 'masked loss at step 1');
    const second = await trainStep(model, adam, 2);
    expectClose([second.loss], [losses[1]], 'masked loss at step 2');
    for (const name of NAMES) {
      const init = name === 'fc1.weight' ? w0 : values(`init.${name}`);
      expectAdamClose(`masked ${name} after step 2`, init, second.weights.get(name)!, values(`masked.step2.${name}`), first.grads.get(name)!, 2);
    }
    const fc1 = second.weights.get('fc1.weight')!;
    expect(mask.every((m, i) => m === 1 || fc1[i] === 0), 'pruned fc1 weights stay exactly zero').toBe(true);
    model.dispose();
  });
});
