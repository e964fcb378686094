/**
 * The layer graph of any model built from our nn modules and ops, traced as Torch-Pruning's DepGraph traces
 * PyTorch's autograd graph: one forward of a zero image [1, C, H, W] in evaluation mode (BatchNorm's running
 * statistics untouched, Dropout off) records the autograd tape; walking it from the output, every tensor's
 * channels are followed from the layer that made them (conv2d and linear, named by the module owning their weight
 * tensor) through channel-wise ops to the layers that read them, and residual adds join the channel spaces they
 * sum. Structure comes from the tape, never from module names or registration order. An op the walk does not know
 * throws naming the op, its shapes and the module whose forward made it.
 */
import { beginScope, isGradEnabled, nn, tapeOrder, tensor, type Tensor } from '@sparsenet/tensor';
import type { ChannelGroup, GraphLayer, LayerGraph } from '../prune/graph.js';
import { evaluateWith, type ForwardOverride } from './patch.js';

/** Ops that keep every channel where it is and turn zeros into zeros. */
const CHANNELWISE = new Set(['relu', 'maxPool2d', 'avgPool2d', 'adaptiveAvgPool2d', 'dropout', 'scale']);
/** Ops that keep every channel where it is but shift it (a zero channel comes out as its beta). */
const NORMALISATIONS = new Set(['batchNorm2d']);
/** Elementwise sums of two tensors, with or without a fused ReLU: their channel spaces become one. */
const SUMS = new Set(['add', 'addRelu']);

/** A traced tensor's channels: a space (one per producing layer, merged by sums) and features per channel. */
interface Flow {
  space: number;
  block: number;
}

/** A parameter or buffer of the model: the module it belongs to. */
interface Operand {
  module: string;
  name: string;
  owner: nn.Module;
}

/** The op that made a tensor: its origin up to the parenthesis (`conv2d([1,3,64,64], [6,3,5,5])`). */
const opName = (t: Tensor): string => t.origin.split('(')[0];

export function traceLayerGraph(model: nn.Module, inputShape: readonly number[]): LayerGraph {
  const op = `traceLayerGraph(${model.constructor.name})`;
  if (inputShape.length !== 3 || !inputShape.every((d) => Number.isInteger(d) && d > 0)) throw new Error(`${op}: input shape must be [C, H, W] of positive integers, got [${inputShape}]`);
  if (!isGradEnabled()) throw new Error(`${op}: tracing reads the autograd tape; call it outside noGrad`);
  const modules = new Map(model.namedModules());
  const operands = new Map<Tensor, Operand>();
  for (const [path, owner] of modules) {
    for (const [name, t] of [...owner.namedParameters(), ...owner.namedBuffers()]) {
      if (!name.includes('.') && !operands.has(t)) operands.set(t, { module: path, name, owner });
    }
  }
  const madeIn = new Map<Tensor, string>();
  const scope = beginScope();
  try {
    const x = tensor(new Float32Array(inputShape.reduce((a, b) => a * b, 1)), [1, ...inputShape], { requiresGrad: true });
    const out = evaluateWith(model, (path, module) => noteTensors(madeIn, path, module), () => model.call(x));
    return walk(op, model, x, out, operands, madeIn, inputShape);
  } finally {
    scope.end();
  }
}

/** A forward noting, for error messages, which module made each tensor (the innermost; the model's own forward for the rest). */
function noteTensors(madeIn: Map<Tensor, string>, path: string, module: nn.Module): ForwardOverride {
  const label = path ? `module '${path}' (${module.constructor.name})` : `${module.constructor.name}.forward`;
  return (x, forward) => {
    const inner = beginScope();
    try {
      return forward(x);
    } finally {
      const made = [...inner.tensors];
      for (const t of made) if (!madeIn.has(t)) madeIn.set(t, label);
      inner.keep(made);
      inner.end();
    }
  };
}

function walk(op: string, model: nn.Module, x: Tensor, out: Tensor, operands: Map<Tensor, Operand>, madeIn: Map<Tensor, string>, inputShape: readonly number[]): LayerGraph {
  const parent: number[] = [];
  const spaces: { channels: number; producers: string[]; consumers: string[]; norms: string[]; shifted: boolean }[] = [];
  const newSpace = (channels: number, producer?: string): number => {
    parent.push(spaces.length);
    spaces.push({ channels, producers: producer ? [producer] : [], consumers: [], norms: [], shifted: false });
    return spaces.length - 1;
  };
  const find = (s: number): number => (parent[s] === s ? s : (parent[s] = find(parent[s])));
  const flows = new Map<Tensor, Flow>([[x, { space: newSpace(inputShape[0]), block: 1 }]]);
  const layers: (GraphLayer & { space: number; inputSpace: number })[] = [];
  const unsupported = (t: Tensor, why: string): Error =>
    new Error(`${op}: ${why}: op '${opName(t)}' (${t.origin}) in ${madeIn.get(t)}; the layer graph follows conv2d, linear, batchNorm2d, relu, max/avg pooling, dropout, add and flatten`);

  for (const t of tapeOrder(out)) {
    if (t === x || operands.has(t)) continue;
    if (!t.node) throw unsupported(t, `a tensor made neither from the input nor from the model's parameters reaches the output`);
    const name = opName(t);
    const data = t.node.inputs.filter((input) => !operands.has(input));
    const owners = [...new Set(t.node.inputs.flatMap((input) => (operands.has(input) ? [operands.get(input)!] : [])).map((o) => o.module))];
    const flowOf = (input: Tensor): Flow => {
      const flow = flows.get(input);
      if (!flow) throw unsupported(t, `input [${input.shape}] (${input.origin}) is not made from the model's input`);
      return flow;
    };
    if (name === 'conv2d' || name === 'linear') {
      const weight = operands.get(t.node.inputs[1]);
      const kind = name === 'conv2d' ? 'conv' : 'linear';
      const expected = kind === 'conv' ? nn.Conv2d : nn.Linear;
      if (data.length !== 1 || !weight || weight.name !== 'weight' || !(weight.owner instanceof expected)) {
        throw unsupported(t, `${name}'s weight must be the 'weight' of an nn.${expected.name}`);
      }
      if (layers.some((layer) => layer.name === weight.module)) throw unsupported(t, `layer '${weight.module}' is applied twice (shared layers are not supported)`);
      const input = flowOf(data[0]);
      const shape = [...t.node.inputs[1].shape];
      const inputSpace = find(input.space);
      if (kind === 'conv' && input.block !== 1) throw unsupported(t, `conv '${weight.module}' reads flattened features`);
      let outputSize: [number, number] | undefined;
      if (kind === 'conv') outputSize = convOutputSize(op, weight.module, weight.owner as nn.Conv2d, data[0], t);
      spaces[inputSpace].consumers.push(weight.module);
      const space = newSpace(shape[0], weight.module);
      layers.push({ name: weight.module, kind, shape, input: { group: -1, block: input.block }, output: -1, outputSize, space, inputSpace });
      flows.set(t, { space, block: 1 });
    } else if (CHANNELWISE.has(name) || NORMALISATIONS.has(name)) {
      if (data.length !== 1 || data[0].shape[1] !== t.shape[1]) throw unsupported(t, 'a channel-wise op must keep its one input\'s channels');
      const flow = flowOf(data[0]);
      if (NORMALISATIONS.has(name)) {
        if (owners.length !== 1 || flow.block !== 1) throw unsupported(t, 'a normalisation must use one module\'s parameters on unflattened channels');
        spaces[find(flow.space)].norms.push(owners[0]);
        spaces[find(flow.space)].shifted = true;
      } else if (owners.length) throw unsupported(t, `a channel-wise op uses parameters of '${owners[0]}'`);
      flows.set(t, flow);
    } else if (SUMS.has(name)) {
      const [a, b] = data.map(flowOf);
      if (data.length !== 2 || a.block !== b.block) throw unsupported(t, 'a sum must add two tensors with their channels in the same layout');
      // The lower id stays the root, so that the input's space (0) is always its own root.
      const [keep, drop] = [find(a.space), find(b.space)].sort((p, q) => p - q);
      if (keep !== drop) {
        parent[drop] = keep;
        const [into, from] = [spaces[keep], spaces[drop]];
        into.producers.push(...from.producers);
        into.consumers.push(...from.consumers);
        into.norms.push(...from.norms);
        into.shifted ||= from.shifted;
      }
      flows.set(t, { space: keep, block: a.block });
    } else if (name === 'reshape' && data.length === 1) {
      const input = data[0];
      const flow = flowOf(input);
      const [n, ...rest] = input.shape;
      const same = input.shape.join() === t.shape.join();
      const flattensChannels = t.shape.length === 2 && t.shape[0] === n && input.shape.length === 4;
      if (!same && !flattensChannels) throw unsupported(t, 'only flattening [N, C, H, W] to [N, C*H*W] keeps channels apart');
      flows.set(t, same ? flow : { space: flow.space, block: flow.block * rest[1] * rest[2] });
    } else throw unsupported(t, 'not a layer, a channel-wise op, a sum or a flatten');
  }
  return graphOf(model, layers, spaces, find, flows.get(out), inputShape, op);
}

/** The conv's output plane before any fused pooling, from its module's stride and padding and its input. */
function convOutputSize(op: string, name: string, conv: nn.Conv2d, input: Tensor, output: Tensor): [number, number] {
  const size = [0, 1].map((d) => Math.floor((input.shape[2 + d] + 2 * conv.padding[d] - conv.kernelSize[d]) / conv.stride[d]) + 1) as [number, number];
  const pooled = output.origin.endsWith('max-pooled');
  if (!pooled && (output.shape[2] !== size[0] || output.shape[3] !== size[1])) {
    throw new Error(`${op}: conv '${name}' made [${output.shape}] from [${input.shape}], but its module's stride [${conv.stride}] and padding [${conv.padding}] give ${size[0]}x${size[1]}`);
  }
  return size;
}

function graphOf(
  model: nn.Module,
  traced: (GraphLayer & { space: number; inputSpace: number })[],
  spaces: { channels: number; producers: string[]; consumers: string[]; norms: string[]; shifted: boolean }[],
  find: (s: number) => number,
  output: Flow | undefined,
  inputShape: readonly number[],
  op: string,
): LayerGraph {
  if (!output) throw new Error(`${op}: the output is not made from the input`);
  const registration = model.namedModules().map(([name]) => name);
  const layers = [...traced].sort((a, b) => registration.indexOf(a.name) - registration.indexOf(b.name));
  // Groups: the input's first, then in the registration order of their first producer.
  const roots = [0, ...layers.map((layer) => find(layer.space))].filter((root, i, all) => all.indexOf(root) === i);
  const outputRoot = find(output.space);
  const groups = roots.map((root, id): ChannelGroup => {
    const space = spaces[root];
    const byRegistration = (names: string[]) => [...new Set(names)].sort((a, b) => registration.indexOf(a) - registration.indexOf(b));
    return {
      id,
      channels: space.channels,
      producers: byRegistration(space.producers),
      consumers: byRegistration(space.consumers),
      norms: byRegistration(space.norms),
      fixed: root === 0 ? 'input' : root === outputRoot ? 'output' : null,
      zeroWhenPruned: !space.shifted,
    };
  });
  return {
    inputShape: [...inputShape],
    layers: layers.map(({ name, kind, shape, input, outputSize, space, inputSpace }) => ({
      name, kind, shape, input: { group: roots.indexOf(find(inputSpace)), block: input.block }, output: roots.indexOf(find(space)), ...(outputSize ? { outputSize } : {}),
    })),
    groups,
  };
}
