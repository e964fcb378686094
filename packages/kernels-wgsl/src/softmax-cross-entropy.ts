/**
 * Fused softmax cross-entropy with mean reduction (PyTorch's F.cross_entropy): for logits [rows, classes] and
 * i32 labels [rows], one dispatch computes each row's stable log-sum-exp and loss, optionally the logits
 * gradient (softmax - onehot) / rows, and the mean loss. A single workgroup: each thread takes rows in turn,
 * then a tree sums the row losses in a fixed order (deterministic, no second pass). Classifier batches are
 * small (rows * classes in the thousands), so one workgroup is plenty.
 * A label outside [0, classes) makes its row's loss and gradient NaN, so the mean is NaN: never silently wrong.
 */
import type { KernelRunner, Program } from './runner.js';

const WORKGROUP = 256;

function makeProgram(withGrad: boolean): Program {
  return {
    key: `softmax_cross_entropy${withGrad ? '_grad' : ''}`,
    bindings: withGrad ? ['uniform', 'read', 'read', 'write', 'write'] : ['uniform', 'read', 'read', 'write'],
    wgsl: /* wgsl */ `
struct U { rows: u32, classes: u32, nan: f32, }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
${withGrad ? '@group(0) @binding(4) var<storage, read_write> grad: array<f32>;' : ''}
var<workgroup> partial: array<f32, ${WORKGROUP}>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(local_invocation_index) lid: u32) {
  let inv_rows = 1.0 / f32(u.rows);
  var total = 0.0;
  for (var r = lid; r < u.rows; r += ${WORKGROUP}u) {
    let base = r * u.classes;
    var top = logits[base];
    for (var j = 1u; j < u.classes; j++) { top = max(top, logits[base + j]); }
    var sum = 0.0;
    for (var j = 0u; j < u.classes; j++) { sum += exp(logits[base + j] - top); }
    let label = labels[r];
    let valid = label >= 0 && label < i32(u.classes);
    let class_index = select(0u, u32(label), valid);
    total += select(u.nan, top + log(sum) - logits[base + class_index], valid);
    ${withGrad ? `for (var j = 0u; j < u.classes; j++) {
      let p = exp(logits[base + j] - top) / sum;
      grad[base + j] = select(u.nan, (p - select(0.0, 1.0, j == class_index)) * inv_rows, valid);
    }` : ''}
  }
  partial[lid] = total;
  workgroupBarrier();
  for (var stride = ${WORKGROUP / 2}u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u) { loss[0] = partial[0] / f32(u.rows); }
}`,
  };
}

const programs = { plain: makeProgram(false), grad: makeProgram(true) };

/** loss[0] = mean cross-entropy; `grad` ([rows, classes]) receives d(loss)/d(logits), or pass null. */
export function softmaxCrossEntropy(runner: KernelRunner, logits: GPUBuffer, labels: GPUBuffer, loss: GPUBuffer, grad: GPUBuffer | null, rows: number, classes: number): void {
  const uniforms = [rows, classes, { f32: NaN }];
  if (grad) runner.run(programs.grad, [logits, labels, loss, grad], uniforms, [1, 1, 1]);
  else runner.run(programs.plain, [logits, labels, loss], uniforms, [1, 1, 1]);
}
