/**
 * `--shard auto`: the part a cluster engine's task runs, read from the environment the engine gives it.
 *   - Slurm job arrays: SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_MIN, _MAX and _STEP (or _COUNT). Arrays that
 *     start anywhere and stepped ranges (--array=0-10:2 gives tasks 0, 2, ..., 10) map to parts 1..N in task
 *     order; a list that is not an arithmetic range (--array=1,2,7) is refused, since a task could not know its
 *     part from its own id.
 *   - Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX (0-based) with the Job's completions, passed as
 *     --shard-count N or SPARSENET_SHARD_COUNT (the pod's environment does not carry it).
 */
import type { Shard } from './grid.js';

/** The environment variable that carries the part count under Kubernetes (or anywhere --shard-count is not given). */
export const SHARD_COUNT_VARIABLE = 'SPARSENET_SHARD_COUNT';

type Environment = Record<string, string | undefined>;

function integerVariable(env: Environment, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`sweep --shard auto: ${name}='${raw}' is not a non-negative integer`);
  return n;
}

/** Where the part came from, for the log. */
export interface ShardFromEnvironment {
  shard: Shard;
  source: string;
}

/** The shard of this task, from the engine's environment; `count` is --shard-count when given. */
export function shardFromEnvironment(env: Environment, count?: number): ShardFromEnvironment {
  const countOf = (engine: string): number => {
    const n = count ?? integerVariable(env, SHARD_COUNT_VARIABLE);
    if (n === undefined) throw new Error(`sweep --shard auto: ${engine} does not say how many parts there are; pass --shard-count N or set ${SHARD_COUNT_VARIABLE} (the Job's completions)`);
    if (n < 1) throw new Error(`sweep --shard auto: the part count must be at least 1, got ${n}`);
    return n;
  };
  const taskId = integerVariable(env, 'SLURM_ARRAY_TASK_ID');
  if (taskId !== undefined) {
    const min = integerVariable(env, 'SLURM_ARRAY_TASK_MIN');
    const max = integerVariable(env, 'SLURM_ARRAY_TASK_MAX');
    const step = integerVariable(env, 'SLURM_ARRAY_TASK_STEP') ?? 1;
    const tasks = integerVariable(env, 'SLURM_ARRAY_TASK_COUNT');
    if (min === undefined || (max === undefined && tasks === undefined)) {
      throw new Error('sweep --shard auto: SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_MAX (or _COUNT); is this an array job?');
    }
    if (step < 1) throw new Error(`sweep --shard auto: SLURM_ARRAY_TASK_STEP=${step} must be at least 1`);
    const span = max !== undefined ? Math.floor((max - min) / step) + 1 : tasks!;
    if (tasks !== undefined && tasks !== span) {
      throw new Error(`sweep --shard auto: the array (min ${min}, max ${max}, step ${step}) has ${tasks} tasks, not the ${span} of an arithmetic range; submit a range such as --array=0-${tasks - 1} (or a stepped one, 0-10:2), not a list`);
    }
    if (taskId < min || (taskId - min) % step !== 0 || (taskId - min) / step >= span) {
      throw new Error(`sweep --shard auto: SLURM_ARRAY_TASK_ID=${taskId} is not a task of the range ${min}-${min + (span - 1) * step}:${step}`);
    }
    if (count !== undefined && count !== span) throw new Error(`sweep --shard auto: --shard-count ${count} disagrees with the Slurm array's ${span} tasks`);
    const index = (taskId - min) / step + 1;
    return { shard: { index, count: span }, source: `Slurm array task ${taskId} of ${min}-${min + (span - 1) * step}${step > 1 ? `:${step}` : ''}` };
  }
  const completionIndex = integerVariable(env, 'JOB_COMPLETION_INDEX');
  if (completionIndex !== undefined) {
    const n = countOf('JOB_COMPLETION_INDEX');
    if (completionIndex >= n) throw new Error(`sweep --shard auto: JOB_COMPLETION_INDEX=${completionIndex} is past the ${n} parts (indices are 0-based)`);
    return { shard: { index: completionIndex + 1, count: n }, source: `Kubernetes Indexed Job completion index ${completionIndex} of ${n}` };
  }
  throw new Error('sweep --shard auto: neither SLURM_ARRAY_TASK_ID (Slurm job array) nor JOB_COMPLETION_INDEX (Kubernetes Indexed Job) is set; pass --shard K/N outside a cluster engine');
}
