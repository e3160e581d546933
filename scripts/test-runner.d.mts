// Types for the parts of test-runner.mjs (plain JavaScript, see there) that unit tests call.
export interface SpecCounts {
  passed: number;
  failed: number;
  skipped: number;
  complete: boolean;
}
export function countSpec(output: string): SpecCounts;
export function failureDigest(output: string, maxLines?: number): string;
