/**
 * Pruning schedules as pure functions of the step (an epoch or an optimizer step: the caller's unit). Each is a
 * list of pruning events {step, sparsity}; at an event the training code prunes to `sparsity` with a pruner
 * (whose `fraction` is exactly this target overall sparsity) and fine-tunes until the next one.
 */

export interface PruningEvent {
  step: number;
  /** Target sparsity after pruning at this step. */
  sparsity: number;
}

export interface PruningSchedule {
  readonly events: readonly PruningEvent[];
  isPruningStep(step: number): boolean;
  /** The target in force at `step`: that of the last event at or before it, 0 before the first. */
  sparsityAt(step: number): number;
}

/** Prune once to `sparsity` at `step`, then fine-tune. */
export function oneShotSchedule(options: { step: number; sparsity: number }): PruningSchedule {
  checkStep('oneShotSchedule', 'step', options.step);
  checkSparsity('oneShotSchedule', 'sparsity', options.sparsity);
  return scheduleOf([{ step: options.step, sparsity: options.sparsity }]);
}

/**
 * `rounds` events, at start, start + every, ..., reaching `sparsity` at the last. Spacing 'geometric' (default,
 * as iterative lottery-ticket pruning) prunes the same fraction of the survivors each round:
 * s_n = 1 - (1 - s)^(n / N); 'linear' takes equal steps: s_n = s * n / N.
 */
export function iterativeSchedule(options: { start: number; every: number; rounds: number; sparsity: number; spacing?: 'geometric' | 'linear' }): PruningSchedule {
  const op = 'iterativeSchedule';
  const { start, every, rounds, sparsity } = options;
  const spacing = options.spacing ?? 'geometric';
  checkStep(op, 'start', start);
  checkPositive(op, 'every', every);
  checkPositive(op, 'rounds', rounds);
  checkSparsity(op, 'sparsity', sparsity);
  if (spacing !== 'geometric' && spacing !== 'linear') throw new Error(`${op}: spacing must be 'geometric' or 'linear', got '${String(spacing)}'`);
  const events: PruningEvent[] = [];
  for (let n = 1; n <= rounds; n++) {
    // The last round is set to the target itself, free of rounding in the power.
    const s = n === rounds ? sparsity : spacing === 'geometric' ? 1 - (1 - sparsity) ** (n / rounds) : (sparsity * n) / rounds;
    events.push({ step: start + (n - 1) * every, sparsity: s });
  }
  return scheduleOf(events);
}

export interface GradualOptions {
  /** s_i (default 0). */
  initialSparsity?: number;
  /** s_f. */
  finalSparsity: number;
  /** t0. */
  startStep: number;
  /** dt: steps between pruning events. */
  frequency: number;
  /** n: the schedule ends at t0 + n * dt. */
  pruningSteps: number;
}

/**
 * Zhu and Gupta (2017): s_t = s_f + (s_i - s_f) (1 - (t - t0) / (n dt))^3 for t in [t0, t0 + n dt], clamped to
 * s_i before and s_f after. This is the continuous curve; gradualSchedule samples it every dt steps.
 */
export function polynomialSparsity(step: number, options: GradualOptions): number {
  const { finalSparsity: sf, startStep: t0, frequency: dt, pruningSteps: n } = options;
  const si = options.initialSparsity ?? 0;
  const progress = (step - t0) / (n * dt);
  // The ends are returned as given: sf + (si - sf) is not si in floating point.
  if (progress <= 0) return si;
  if (progress >= 1) return sf;
  return sf + (si - sf) * (1 - progress) ** 3;
}

/** Gradual pruning: events at t0, t0 + dt, ..., t0 + n dt (n + 1 of them), targets from polynomialSparsity. */
export function gradualSchedule(options: GradualOptions): PruningSchedule {
  const op = 'gradualSchedule';
  checkSparsity(op, 'initialSparsity', options.initialSparsity ?? 0);
  checkSparsity(op, 'finalSparsity', options.finalSparsity);
  checkStep(op, 'startStep', options.startStep);
  checkPositive(op, 'frequency', options.frequency);
  checkPositive(op, 'pruningSteps', options.pruningSteps);
  const events: PruningEvent[] = [];
  for (let j = 0; j <= options.pruningSteps; j++) {
    const step = options.startStep + j * options.frequency;
    events.push({ step, sparsity: polynomialSparsity(step, options) });
  }
  return scheduleOf(events);
}

/**
 * The schedule of a run whose last step is `lastStep`: the events past it are moved to it, keeping the latest
 * target, so the run still ends at the final sparsity (an event at or after the run's end would never happen:
 * a gradual span shorter than its dt, or the last round at the end of the last epoch).
 */
export function clampSchedule(schedule: PruningSchedule, lastStep: number): PruningSchedule {
  checkStep('clampSchedule', 'lastStep', lastStep);
  const events = schedule.events.filter((e) => e.step < lastStep);
  const late = schedule.events.filter((e) => e.step >= lastStep);
  if (late.length) events.push({ step: lastStep, sparsity: late[late.length - 1].sparsity });
  return scheduleOf(events);
}

function scheduleOf(events: PruningEvent[]): PruningSchedule {
  const byStep = new Map(events.map((e) => [e.step, e.sparsity]));
  return {
    events,
    isPruningStep: (step) => byStep.has(step),
    sparsityAt: (step) => events.filter((e) => e.step <= step).at(-1)?.sparsity ?? 0,
  };
}

function checkStep(op: string, what: string, value: number): void {
  if (!(Number.isInteger(value) && value >= 0)) throw new Error(`${op}: ${what} must be an integer >= 0, got ${value}`);
}

function checkPositive(op: string, what: string, value: number): void {
  if (!(Number.isInteger(value) && value > 0)) throw new Error(`${op}: ${what} must be an integer > 0, got ${value}`);
}

function checkSparsity(op: string, what: string, value: number): void {
  if (!(value >= 0 && value <= 1)) throw new Error(`${op}: ${what} must be in [0, 1], got ${value}`);
}
