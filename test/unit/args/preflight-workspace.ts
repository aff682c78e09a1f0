// A folder the pre-flight tests share: Llama 3.1 8B's config.json (no weights: the estimate reads
// only the shape) and a 100-record train.jsonl beside an ARGS.json path.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function llama8bWorkspace(prefix: string): { root: string; argsFile: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.mkdirSync(path.join(root, 'llama8b'));
  fs.writeFileSync(path.join(root, 'llama8b', 'config.json'), JSON.stringify({
    architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 128256, hidden_size: 4096, intermediate_size: 14336,
    num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8, torch_dtype: 'bfloat16',
  }));
  fs.writeFileSync(path.join(root, 'train.jsonl'), Array.from({ length: 100 }, (_, i) => JSON.stringify({ input: `q${i}`, output: `a${i}` })).join('\n') + '\n');
  return { root, argsFile: path.join(root, 'ARGS.json') };
}
