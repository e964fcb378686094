/**
 * The model zoo: a name maps to a builder of an ordinary nn.Module (PyTorch's module names, so checkpoints load
 * into the definitions in pytorch/zoo.py) and its default options. A new model is one file exporting a
 * ZooEntry, listed here, plus its test. No Node imports: the web page rebuilds models with it.
 */
import type { nn } from '@sparsenet/tensor';
import { maskLayers } from '../prune/masks.js';
import type { ArchitectureSpec } from '../run-metadata.js';
import { lenetEntry } from './lenet.js';
import { resnet20Entry, resnetEntry } from './resnet.js';
import { vggEntry } from './vgg.js';

/** What every model is built for: the run's classes, square image side and initialisation seed. */
export interface BuildContext {
  numClasses: number;
  imageSize: number;
  seed: number;
}

export interface ZooEntry<Options extends object = Record<string, unknown>> {
  name: string;
  /** One line for --help. */
  description: string;
  defaults: Options;
  /** Throws naming the model and the option when `options` are not usable for `context`. */
  build(options: Options, context: BuildContext): nn.Module;
  /**
   * The options of the narrower model of this architecture whose conv and linear layers (by dotted name) have
   * `outputs(layer)` output units: what a structured-pruned model compacts into (compact-model.ts).
   */
  compacted(options: Options, outputs: (layer: string) => number): Options;
}

const ENTRIES: ZooEntry[] = [lenetEntry, vggEntry, resnetEntry, resnet20Entry] as unknown as ZooEntry[];

export const ZOO: ReadonlyMap<string, ZooEntry> = new Map(ENTRIES.map((entry) => [entry.name, entry]));
export const ARCHITECTURES: readonly string[] = ENTRIES.map((entry) => entry.name);

export function zooEntry(name: string): ZooEntry {
  const entry = ZOO.get(name);
  if (!entry) throw new Error(`zoo: no architecture '${name}' (choices: ${ARCHITECTURES.join(', ')})`);
  return entry;
}

/**
 * The entry's defaults overlaid with `options`; an option the model does not have, or one of another JSON type
 * than its default, is an error naming the architecture and the option.
 */
export function resolveOptions(name: string, options: Record<string, unknown>): Record<string, unknown> {
  const { defaults } = zooEntry(name);
  for (const [key, value] of Object.entries(options)) {
    if (!(key in defaults)) throw new Error(`zoo: ${name} has no option '${key}' (options: ${Object.keys(defaults).join(', ')})`);
    const expected = jsonKind(defaults[key]);
    if (jsonKind(value) !== expected) throw new Error(`zoo: ${name} option '${key}' must be ${expected}, got ${JSON.stringify(value)}`);
  }
  return { ...defaults, ...options };
}

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return `a ${typeof value}`;
}

/** The spec with every option filled in from the zoo's defaults (what run metadata records). */
export function fullSpec(spec: ArchitectureSpec): ArchitectureSpec {
  return { ...spec, options: resolveOptions(spec.name, spec.options) };
}

/** Builds the architecture of `spec` for `context`; masked specs get all-ones masks on every conv and linear layer. */
export function buildModel(spec: ArchitectureSpec, context: BuildContext): nn.Module {
  const model = zooEntry(spec.name).build(resolveOptions(spec.name, spec.options), context);
  if (spec.masked) maskLayers(model);
  return model;
}

/** "SparseNet (conv1 6, conv2 16, fc1 120, fc2 84)" for LeNet, else "resnet, masked ({...options})". */
export function describeArchitecture(spec: ArchitectureSpec): string {
  const widths = spec.options.widths as Record<string, number> | undefined;
  if (spec.name === 'lenet' && widths) return `${spec.masked ? 'SparseNet' : 'LeNet'} (${Object.entries(widths).map(([k, v]) => `${k} ${v}`).join(', ')})`;
  return `${spec.name}${spec.masked ? ', masked' : ''} (${JSON.stringify(spec.options)})`;
}
