/**
 * Adds to counter[0] the number of rows of logits [rows, classes] whose argmax (first maximum) equals the row's
 * i32 label: running training accuracy kept on the GPU, read back only when progress is shown. One workgroup
 * sums in a fixed order, so the count is exact and deterministic (f32 holds integers exactly below 2^24).
 */
import type { KernelRunner, Program } from './runner.js';

const WORKGROUP = 256;

const program: Program = {
  key: 'count_correct',
  bindings: ['uniform', 'read', 'read', 'write'],
  wgsl: /* wgsl */ `
struct U { rows: u32, classes: u32, }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read_write> counter: array<f32>;
var<workgroup> partial: array<f32, ${WORKGROUP}>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(local_invocation_index) lid: u32) {
  var hits = 0.0;
  for (var r = lid; r < u.rows; r += ${WORKGROUP}u) {
    var best = 0u;
    var top = logits[r * u.classes];
    for (var c = 1u; c < u.classes; c++) {
      let v = logits[r * u.classes + c];
      if (v > top) { top = v; best = c; }
    }
    if (i32(best) == labels[r]) { hits += 1.0; }
  }
  partial[lid] = hits;
  workgroupBarrier();
  for (var stride = ${WORKGROUP / 2}u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u) { counter[0] = counter[0] + partial[0]; }
}`,
};

export function countCorrect(runner: KernelRunner, logits: GPUBuffer, labels: GPUBuffer, counter: GPUBuffer, rows: number, classes: number): void {
  runner.run(program, [logits, labels, counter], [rows, classes], [1, 1, 1]);
}
