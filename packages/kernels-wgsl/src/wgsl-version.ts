/**
 * Versions of kernels for persisted tuning choices: a short hash of the WGSL a choice was measured on, so that
 * an edited kernel is measured again. FNV-1a 64 (not cryptographic: it only has to tell edits apart).
 */
import type { Program } from './runner.js';

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;

/** FNV-1a 64 of the UTF-16 code units of `text`, as 16 hex digits. */
export function fnv1a64(text: string): string {
  let hash = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) hash = BigInt.asUintN(64, (hash ^ BigInt(text.charCodeAt(i))) * FNV_PRIME);
  return hash.toString(16).padStart(16, '0');
}

/** The version of a list of programs: their keys and WGSL texts, in order. */
export function programsVersion(programs: readonly Program[]): string {
  return fnv1a64(programs.map((p) => `${p.key}\n${p.wgsl}`).join('\n\0\n'));
}
