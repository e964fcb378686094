/**
 * nn.BatchNorm2d against torch.nn.BatchNorm2d (PyTorch 1.13) on the same weights and batches: a training
 * forward and backward, the running statistics after two training forwards, then an evaluation forward and
 * backward. The numbers come from fixtures/batchnorm.safetensors, written by pytorch/fixtures/make_batchnorm.py,
 * so this runs without PyTorch.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nn, safetensors, tensor } from '@sparsenet/tensor';
import { expectClose, useDevice } from './helpers.js';

useDevice();

const { tensors: fixture, metadata } = safetensors.decode(new Uint8Array(readFileSync(new URL('./fixtures/batchnorm.safetensors', import.meta.url))));
const STATE = ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'];

function entry(name: string) {
  const e = fixture[name];
  if (!e) throw new Error(`batchnorm.safetensors has no tensor '${name}'`);
  return e;
}

const input = (name: string) => tensor(entry(name).data as Float32Array, entry(name).shape);
const stateAt = (prefix: string) => nn.stateDictFromSafetensors(Object.fromEntries(STATE.map((name) => [name, entry(prefix + name)])));

describe('nn.BatchNorm2d against PyTorch', () => {
  it('matches a training step, the running statistics and an evaluation step', async () => {
    const channels = entry('init.weight').shape[0];
    const bn = new nn.BatchNorm2d(channels, { momentum: Number(metadata.momentum), eps: Number(metadata.eps) });
    bn.loadStateDict(stateAt('init.'));

    bn.train();
    const x = input('train.x');
    x.requiresGrad = true;
    const y = bn.call(x);
    expectClose(await y.toArray(), entry('train.y').data, 'training y');
    y.backward(input('train.dy'));
    expectClose(await x.grad!.toArray(), entry('train.dx').data, 'training dx');
    expectClose(await bn.weight.grad!.toArray(), entry('train.weight_grad').data, 'training weight grad');
    expectClose(await bn.bias.grad!.toArray(), entry('train.bias_grad').data, 'training bias grad');
    expectClose(await bn.call(input('train2.x')).toArray(), entry('train2.y').data, 'second training y');

    const after = await bn.stateDict();
    const want = stateAt('after.');
    expect(Object.keys(after)).toEqual(STATE);
    for (const name of ['running_mean', 'running_var']) expectClose(after[name].data, want[name].data, name);
    expect(after.num_batches_tracked).toEqual(want.num_batches_tracked);

    bn.eval();
    bn.weight.grad = null;
    bn.bias.grad = null;
    const xe = input('eval.x');
    xe.requiresGrad = true;
    const ye = bn.call(xe);
    expectClose(await ye.toArray(), entry('eval.y').data, 'eval y');
    ye.backward(input('eval.dy'));
    expectClose(await xe.grad!.toArray(), entry('eval.dx').data, 'eval dx');
    expectClose(await bn.weight.grad!.toArray(), entry('eval.weight_grad').data, 'eval weight grad');
    expectClose(await bn.bias.grad!.toArray(), entry('eval.bias_grad').data, 'eval bias grad');
    expect(await bn.stateDict()).toEqual(after);
  });
});
