/** The dynamic sparse training methods `--pruner` takes (they train sparse from the first step; no schedule). */
export const DYNAMIC_METHODS = ['set', 'rigl'] as const;

export type DynamicMethod = (typeof DYNAMIC_METHODS)[number];

export function isDynamicMethod(name: string): name is DynamicMethod {
  return (DYNAMIC_METHODS as readonly string[]).includes(name);
}
