import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { parse } from 'yaml';
import { parseSweepArgs } from '@sparsenet/sparsenet';

const repo = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));

describe('deploy/k8s/sweep-job.yaml', () => {
  const manifest = parse(readFileSync(repo('deploy/k8s/sweep-job.yaml'), 'utf8'));

  it('is a valid batch/v1 Indexed Job (schema of kubernetes-models, Kubernetes 1.29+ for backoffLimitPerIndex)', () => {
    expect(() => new Job(manifest).validate()).not.toThrow();
    expect(manifest.spec).toMatchObject({ completionMode: 'Indexed', backoffLimitPerIndex: expect.any(Number), parallelism: expect.any(Number) });
    expect(manifest.spec.template.spec.restartPolicy).toBe('Never');
    // The schema check can fail: a wrong type is refused, also for backoffLimitPerIndex, so the schema knows that
    // field (an unknown field would pass: the schemas allow extra properties, as the API server does).
    expect(() => new Job({ ...manifest, spec: { ...manifest.spec, completions: 'eight' } }).validate()).toThrow();
    expect(() => new Job({ ...manifest, spec: { ...manifest.spec, backoffLimitPerIndex: 'three' } }).validate()).toThrow();
  });

  it("gives each pod its own part through --shard auto: completion index i runs part i + 1 of the Job's completions", () => {
    const [container] = manifest.spec.template.spec.containers;
    const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(Number(env.SPARSENET_SHARD_COUNT)).toBe(manifest.spec.completions);
    const argv = [...container.command.slice(2), ...container.args];
    const parts = Array.from({ length: manifest.spec.completions }, (_, i) => parseSweepArgs(argv, { ...env, JOB_COMPLETION_INDEX: String(i) }).config);
    expect(parts.map((c) => c.shard)).toEqual(parts.map((_, i) => ({ index: i + 1, count: manifest.spec.completions })));
    expect(parts[0].out).toBe(container.volumeMounts[0].mountPath);
    expect(parts[0].seeds).toEqual([0, 1, 2]);
  });
});

describe('deploy/slurm/sweep.sbatch', () => {
  const script = readFileSync(repo('deploy/slurm/sweep.sbatch'), 'utf8');

  it('runs part i of N for array task i of its --array range, through --shard auto', () => {
    const range = /^#SBATCH --array=(\d+)-(\d+)$/m.exec(script);
    expect(range).not.toBeNull();
    const [min, max] = [Number(range![1]), Number(range![2])];
    expect(script).toMatch(/sweep\.js --shard auto --out "\$out" "\$@"/);
    expect(script).toMatch(/^#SBATCH --requeue$/m);
    expect(script).toMatch(/^##SBATCH --gres=gpu:1$/m);
    const slurm = (id: number) => ({ SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_MIN: String(min), SLURM_ARRAY_TASK_MAX: String(max), SLURM_ARRAY_TASK_COUNT: String(max - min + 1) });
    const shards = Array.from({ length: max - min + 1 }, (_, i) => parseSweepArgs(['--shard', 'auto'], slurm(min + i)).config.shard);
    expect(shards).toEqual(shards.map((_, i) => ({ index: i + 1, count: max - min + 1 })));
  });
});
