/**
 * A per-layer sparsity plan from sensitivity curves, by the "shared drop tolerance" rule: for a tolerance t,
 * each layer takes the largest sparsity it reaches along its measured curve (accuracy drop against sparsity,
 * linear between the measured points, starting from (0, 0)) before its drop first exceeds t; t is the smallest
 * tolerance at which the plan's overall sparsity (weighted by layer sizes) reaches the target, found by
 * bisection. Where the overall sparsity jumps at t (a layer whose curve dips back below t after a peak at t),
 * that layer's sparsity is set within the jump so that the plan meets the target exactly; its drop there is
 * still <= t. A layer never goes past its largest measured sparsity (no extrapolation), so a target above the
 * plan with every layer at its largest measured sparsity cannot be reached: that is an error naming both.
 */

/** One layer's curve: the accuracy drop (dense minus pruned) at each measured sparsity, sparsities ascending. */
export interface LayerCurve {
  name: string;
  /** Weights of the layer: its share of the overall sparsity. */
  size: number;
  points: readonly { sparsity: number; drop: number }[];
}

/** Sparsity per layer name, as plan.json holds it. */
export type SparsityPlan = Record<string, number>;

export interface TargetPlan {
  plan: SparsityPlan;
  /** The tolerance t: every layer's (interpolated) drop is at most t at every sparsity up to its planned one. */
  tolerance: number;
  /** Overall sparsity of the plan, weighted by layer sizes. */
  overall: number;
}

/** The curve's drop at `sparsity`, linear between measured points (from (0, 0)); past the last, undefined. */
export function dropAt(curve: LayerCurve, sparsity: number): number {
  let [s0, d0] = [0, 0];
  for (const p of curve.points) {
    if (sparsity <= p.sparsity) return d0 + ((sparsity - s0) / (p.sparsity - s0)) * (p.drop - d0);
    [s0, d0] = [p.sparsity, p.drop];
  }
  throw new Error(`dropAt: layer '${curve.name}' is measured up to sparsity ${s0}, not at ${sparsity}`);
}

/** How far the layer goes at tolerance t: the first point where its curve rises above t, or its last measured sparsity. */
export function toleratedSparsity(curve: LayerCurve, tolerance: number): number {
  let [s0, d0] = [0, 0];
  if (d0 > tolerance) return 0;
  for (const p of curve.points) {
    if (p.drop > tolerance) return s0 + ((tolerance - d0) / (p.drop - d0)) * (p.sparsity - s0);
    [s0, d0] = [p.sparsity, p.drop];
  }
  return s0;
}

/** Overall sparsity of per-layer sparsities (in the curves' order), weighted by layer sizes. */
export function overallSparsity(curves: readonly LayerCurve[], sparsities: readonly number[]): number {
  const total = curves.reduce((a, c) => a + c.size, 0);
  return curves.reduce((a, c, i) => a + c.size * sparsities[i], 0) / total;
}

/** The plan at tolerance t. */
export function planAtTolerance(curves: readonly LayerCurve[], tolerance: number): number[] {
  return curves.map((c) => toleratedSparsity(c, tolerance));
}

/** The plan reaching overall sparsity `target` by the shared drop tolerance rule (see the top of this file). */
export function planForTarget(curves: readonly LayerCurve[], target: number): TargetPlan {
  checkCurves(curves);
  if (!(target >= 0 && target < 1)) throw new Error(`sensitivity plan: --target must be in [0, 1), got ${target}`);
  const drops = curves.flatMap((c) => c.points.map((p) => p.drop));
  // Below every drop (and below 0) no layer moves; at the largest drop every layer is at its last point.
  let low = Math.min(0, ...drops) - 1;
  let high = Math.max(0, ...drops);
  const reachable = overallSparsity(curves, planAtTolerance(curves, high));
  if (target > reachable) {
    const last = curves.map((c) => `${c.name} ${c.points.at(-1)!.sparsity}`).join(', ');
    throw new Error(`sensitivity plan: the target ${target} cannot be reached: with every layer at its largest measured sparsity (${last}) the plan is ${reachable}; measure higher sparsities (--sparsities) or ask less`);
  }
  if (overallSparsity(curves, planAtTolerance(curves, low)) >= target) high = low;
  // Invariant: overall(low) < target <= overall(high).
  while (high - low > 1e-12 * Math.max(1, Math.abs(high))) {
    const mid = (low + high) / 2;
    if (mid === low || mid === high) break;
    if (overallSparsity(curves, planAtTolerance(curves, mid)) >= target) high = mid;
    else low = mid;
  }
  const below = planAtTolerance(curves, low);
  const above = planAtTolerance(curves, high);
  const [overallBelow, overallAbove] = [overallSparsity(curves, below), overallSparsity(curves, above)];
  // Only a layer jumping at t differs materially between the two: it takes the point of its jump that meets the target.
  const share = overallAbove > overallBelow && high !== low ? (target - overallBelow) / (overallAbove - overallBelow) : 1;
  const sparsities = above.map((s, i) => below[i] + share * (s - below[i]));
  return { plan: Object.fromEntries(curves.map((c, i) => [c.name, sparsities[i]])), tolerance: high, overall: overallSparsity(curves, sparsities) };
}

function checkCurves(curves: readonly LayerCurve[]): void {
  if (!curves.length) throw new Error('sensitivity plan: no layers measured');
  for (const c of curves) {
    if (!(c.size > 0)) throw new Error(`sensitivity plan: layer '${c.name}' has ${c.size} weights`);
    if (!c.points.length) throw new Error(`sensitivity plan: layer '${c.name}' has no measured sparsity`);
    c.points.forEach((p, k) => {
      if (!(p.sparsity > (k ? c.points[k - 1].sparsity : 0) && p.sparsity < 1) || !Number.isFinite(p.drop)) {
        throw new Error(`sensitivity plan: layer '${c.name}' point ${k} (sparsity ${p.sparsity}, drop ${p.drop}): sparsities must ascend within (0, 1) and drops be finite`);
      }
    });
  }
}
