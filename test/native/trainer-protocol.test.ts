// The TypeScript side of the trainer protocol and shard format, without running training:
// event validation (anything unexpected is a ProtocolError), the client stopping a trainer
// that speaks another protocol, and the shard writer's encoding and checks.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { formatCommand, parseTrainerEvent, ProtocolError } from '../../src/core/engine/protocol';
import { decodeShard, encodeShard, readShards, writeShards } from '../../src/core/engine/shards';
import { TrainerProcess } from '../../src/core/engine/trainer-client';
import { tempDir } from './trainer-fixtures';

const STEP = { version: 1, type: 'step', step: 3, epoch: 0, loss: 2.5, lr: 1e-3, grad_norm: 0.7, tokens: 128, tokens_per_s: 1000, ms: 128, peak_memory_bytes: 1 << 20 };

describe('trainer protocol (TypeScript)', () => {
  it('accepts valid events and rejects everything else', () => {
    assert.deepEqual(parseTrainerEvent(JSON.stringify(STEP)), STEP);
    assert.equal(parseTrainerEvent('{"version":1,"type":"error","code":"bad_plan","message":"m","hint":"h","step":2}').type, 'error');
    const bad: [string, RegExp][] = [
      ['not json', /not JSON/],
      ['[1,2]', /not a JSON object/],
      [JSON.stringify({ ...STEP, version: 2 }), /protocol version 2/],
      [JSON.stringify({ ...STEP, type: 'progress' }), /unknown trainer event type "progress"/],
      [JSON.stringify({ ...STEP, loss: '2.5' }), /"loss" should be number, got string/],
      [JSON.stringify({ ...STEP, loss: null }), /"loss" should be number, got null/],
      [JSON.stringify({ version: 1, type: 'paused' }), /"step" should be number/],
      ['{"version":1,"type":"done","step":1,"reason":"crashed","outputs":{}}', /unknown reason/],
      ['{"version":1,"type":"done","step":1,"reason":"completed","outputs":{"weights":"/x"}}', /unexpected output/],
      ['{"version":1,"type":"error","code":"x","message":"m"}', /"hint" should be string/],
    ];
    for (const [line, why] of bad) {
      assert.throws(() => parseTrainerEvent(line), (e: unknown) => e instanceof ProtocolError && why.test(e.message), line);
    }
    assert.equal(formatCommand('step'), '{"version":1,"type":"step"}\n');
  });

  it('stops a trainer whose output it cannot parse and reports why', async () => {
    const dir = tempDir('protocol');
    const fake = path.join(dir, 'old-trainer.sh');
    // Stands in for a tuner-train of another protocol version.
    fs.writeFileSync(fake, '#!/bin/sh\necho \'{"version":0,"type":"step"}\'\nexec sleep 30\n', { mode: 0o755 });
    const p = TrainerProcess.start({ planPath: 'unused.json', binary: fake });
    const exit = await p.exited;
    assert.ok(exit.protocolError instanceof ProtocolError);
    assert.match(exit.protocolError.message, /protocol version 0/);
    assert.equal(exit.signal, 'SIGTERM');
    assert.equal(exit.events.length, 0);
  });
});

describe('shard writer', () => {
  it('round-trips documents and detects damage', () => {
    const docs = [
      { tokens: [1, 2, 3], mask: [0, 1, 1] },
      { tokens: [], mask: [] },
      { tokens: [4294967295 % 1000, 7], mask: [1, 0] },
    ];
    const buf = encodeShard(docs, 1000);
    assert.equal(buf.length, 48 + 8 * 4 + 5 * 5);
    assert.equal(buf.toString('latin1', 0, 8), 'TUNERSHD');
    assert.deepEqual(decodeShard(buf), docs);
    assert.throws(() => decodeShard(buf.subarray(0, buf.length - 1)), /truncated/);
    const flipped = Buffer.from(buf);
    flipped[60] ^= 1;
    assert.throws(() => decodeShard(flipped), /checksum/);
    assert.throws(() => encodeShard([{ tokens: [1000], mask: [1] }], 1000), /token 0: id 1000/);
    assert.throws(() => encodeShard([{ tokens: [1], mask: [2] }], 1000), /mask 2/);
    assert.throws(() => encodeShard([{ tokens: [1, 2], mask: [1] }], 1000), /2 tokens but 1 mask/);
  });

  it('keeps packed documents\' record starts (after the mask, counted at header offset 40)', () => {
    const docs = [
      { tokens: [1, 2, 3, 4, 5], mask: [0, 1, 0, 1, 1], sampleStarts: [2, 4] },
      { tokens: [6, 7], mask: [0, 1] },
      { tokens: [8, 9, 10], mask: [0, 1, 1], sampleStarts: [1] },
    ];
    const buf = encodeShard(docs, 1000);
    assert.equal(buf.length, 48 + 8 * 4 + 5 * 10 + 8 * 3);
    assert.equal(buf.readBigUInt64LE(40), 3n);
    assert.deepEqual(decodeShard(buf), docs);
    assert.throws(() => encodeShard([{ tokens: [1, 2], mask: [0, 1], sampleStarts: [0] }], 1000), /sample start 0/);
    assert.throws(() => encodeShard([{ tokens: [1, 2], mask: [0, 1], sampleStarts: [2] }], 1000), /sample start 2/);
  });

  it('splits into files and writes a manifest with totals and checksums', () => {
    const dir = path.join(tempDir('shards'), 'data');
    const docs = Array.from({ length: 10 }, (_, i) => ({ tokens: Array.from({ length: 5 + i }, (_, j) => j), mask: Array.from({ length: 5 + i }, (_, j) => (j > 1 ? 1 : 0)) }));
    const manifest = writeShards(dir, docs, { vocabSize: 32, seqLen: 16, tokenizerFingerprint: 'abc' }, 30);
    assert.ok(manifest.files.length > 1);
    assert.equal(manifest.documents, 10);
    assert.equal(manifest.tokens, docs.reduce((n, d) => n + d.tokens.length, 0));
    assert.equal(manifest.trained_tokens, docs.reduce((n, d) => n + d.tokens.length - 2, 0));
    assert.equal(manifest.files.reduce((n, f) => n + f.documents, 0), 10);
    const back = readShards(dir);
    assert.deepEqual(back.documents, docs);
    assert.equal(back.manifest.tokenizer_fingerprint, 'abc');
    assert.ok(!fs.readdirSync(dir).some((f) => f.endsWith('.tmp')));
  });
});
