import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countSpec, failureDigest } from '../../scripts/test-runner.mjs';

const failedSpec = [
  '▶ s',
  '  ✖ x',
  '✖ s (0.7ms)',
  'ℹ tests 2',
  'ℹ pass 1',
  'ℹ fail 1',
  '',
  '✖ failing tests:',
  '',
  'test at test/e2e/a.test.ts:3:1',
  '✖ s (0.7ms)',
  '  Error: the secure Kafka exited (1): Address already in use',
  '      at startSecureKafka (file:///w/test/helpers/secure-kafka.ts:140:5)',
  '      at TestHook.runInAsyncScope (node:async_hooks:206:9)',
  '      at Suite.runHook (node:internal/test_runner/test:723:20)',
].join('\n');

describe('test runner', () => {
  it('counts a file from the summary of its spec output', () => {
    assert.deepEqual(countSpec(failedSpec), { passed: 1, failed: 1, skipped: 0, complete: true });
  });

  it("keeps a failed file's failing-tests section for the end of the run, without node's own stack frames", () => {
    const digest = failureDigest(failedSpec);
    assert.match(digest, /^✖ failing tests:/);
    assert.match(digest, /the secure Kafka exited \(1\): Address already in use/);
    assert.match(digest, /secure-kafka\.ts:140/);
    assert.doesNotMatch(digest, /node:internal|node:async_hooks/);
  });

  it('keeps the last lines of a file that stopped before its summary, and bounds a long section', () => {
    const crashed = ['▶ s', ...Array.from({ length: 100 }, (_, i) => `line ${i}`)].join('\n');
    const digest = failureDigest(crashed);
    assert.equal(digest.split('\n').length, 30);
    assert.match(digest, /line 99$/);
    const long = `✖ failing tests:\n${Array.from({ length: 200 }, (_, i) => `✖ t${i}`).join('\n')}`;
    const bounded = failureDigest(long, 60);
    assert.equal(bounded.split('\n').length, 61);
    assert.match(bounded, /141 more lines/);
  });
});
