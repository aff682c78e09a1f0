// The engine's fuzz targets (native/fuzz: JSON parser, safetensors, shard and checkpoint readers)
// built with clang's libFuzzer under ASan and UBSan and run a few seconds each over the corpus
// kept in the repository, so an input that once crashed a reader (docs/fuzzing.md) keeps being
// replayed and a new crash on the corpus fails npm test. Longer runs: native/fuzz/run.sh 600.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { REPO_ROOT } from './native-tools';

describe('fuzz targets of the native readers', () => {
  it('build under ASan/UBSan and find nothing in a short run over the corpus', { timeout: 300_000 }, () => {
    const r = spawnSync('bash', [path.join(REPO_ROOT, 'native', 'fuzz', 'run.sh'), '5'], { encoding: 'utf8', timeout: 290_000 });
    assert.equal(r.error, undefined);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    for (const t of ['json', 'safetensors', 'shards', 'checkpoint']) {
      const m = new RegExp(`fuzz_${t}: (\\d+) executions in 5 s, no finding`).exec(r.stdout);
      assert.ok(m, `fuzz_${t} ran: ${r.stdout}`);
      assert.ok(Number(m[1]) > 100, `fuzz_${t} executed ${m[1]} inputs`);
    }
    process.stdout.write(r.stdout);
  });
});
