/**
 * What the page exposes on `window.sparsenet`: its state and results as JSON-able values (the browser test reads
 * them), and the actions its buttons run.
 */
import type { DeviceInfo } from '@sparsenet/tensor';
import type { ArchitectureSpec } from '../../packages/sparsenet/src/run-metadata.js';

export interface ConformanceRow {
  name: string;
  kernel: string;
  status: 'ok' | 'unsupported';
  passed: boolean;
  detail: string;
  ms: number;
  /** Each output as read back (numbers, for JSON). */
  outputs: Record<string, number[]>;
}

export interface Prediction {
  file: string;
  /** The true class, from samples.json (absent for a picked file). */
  dx?: string;
  /** The 64x64 RGB bytes the model saw (HWC), as decoded and resized in the browser. */
  pixels: number[];
  logits: number[];
  probabilities: number[];
  /** The checkpoint's class names, in the order of logits and probabilities. */
  classes: string[];
}

export interface MaskSummary {
  layer: string;
  shape: number[];
  kept: number;
  total: number;
  /** How the heatmap draws it: one cell per weight, or one per block of weights (coloured by the fraction kept). */
  mode: 'full' | 'block-fraction';
  /** Weights per cell: outputs x inputs. */
  block: [number, number];
}

export interface PageState {
  status: 'starting' | 'ready' | 'running' | 'done' | 'error';
  error: string | null;
  device: DeviceInfo | null;
  /** Kernel variants forced through the URL (?variants=matmul=register,conv2d=direct). */
  variants: Record<string, string>;
  conformance: ConformanceRow[] | null;
  /** `sparse`: the model has masks. */
  checkpoint: { source: string; sparse: boolean; architecture: ArchitectureSpec } | null;
  predictions: Prediction[] | null;
  masks: MaskSummary[] | null;
  training: { losses: number[]; ms: number } | null;
}

export interface PageApi {
  state: PageState;
  runConformance(): Promise<void>;
  /** Loads a checkpoint from a URL, classifies the samples and draws its masks. */
  classify(checkpointUrl: string): Promise<void>;
  train(steps: number): Promise<void>;
  /** The heatmap's colour at the centre of weight (o, i, ky, kx)'s cell of a layer (linear: ky = kx = 0). */
  maskCellColor(layer: string, o: number, i: number, ky?: number, kx?: number): [number, number, number];
}

declare global {
  interface Window {
    sparsenet: PageApi;
  }
}
