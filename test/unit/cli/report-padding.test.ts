// The console's training start line is followed by the padding the trainer reports for an
// epoch (its start event), saying when the records are packed; older trainers' events have none.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { consoleReporter } from '../../../src/cli/report';
import type { StartEvent } from '../../../src/core/engine/protocol';

test('the start line is followed by the epoch\'s padding share', () => {
  const lines: string[] = [];
  const reporter = consoleReporter({ write: (s: string) => lines.push(s), isTTY: false } as never);
  const start = {
    version: 1, type: 'start', method: 'lora', params: 1000, trainable_params: 100, tokens_per_step: 64, threads: 2, max_steps: 3, step: 0,
    resumed_from: null, model: {}, data: {},
  } as unknown as StartEvent;
  reporter.onTrainStart!({ ...start, padding: 0.0938, packed: true });
  reporter.onTrainStart!({ ...start, padding: 0.7578, packed: false });
  reporter.onTrainStart!(start);
  const padding = lines.filter((l) => l.includes('padding'));
  assert.deepEqual(padding, ['      padding: 9.4 % of the batch positions (records packed)\n', '      padding: 75.8 % of the batch positions\n']);
});
