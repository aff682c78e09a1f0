// llama.cpp itself, through node-llama-cpp (a devDependency pinned to 3.21.1), as the peer that
// Tuner's GGUF files and engine are checked and benchmarked against (test/native/gguf-llama.test.ts,
// bench/decode-bench.ts). Loaded with getLlama({gpu: false, build: 'never'}): the prebuilt CPU
// binaries of @node-llama-cpp/linux-x64 only, never a download or a source build, so it works
// offline. node-llama-cpp is an ES module with top-level await, so it is imported, not required.
import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel } from 'node-llama-cpp';

type NodeLlamaCpp = typeof import('node-llama-cpp');
// A real import() (TypeScript would turn a plain one into require() in this CommonJS build).
const esmImport = new Function('s', 'return import(s)') as (specifier: string) => Promise<NodeLlamaCpp>;

export interface PeerModelOptions {
  contextSize: number;
  threads: number;
  /** Tokens per llama.cpp batch (prefill chunk); default min(contextSize, 512). */
  batchSize?: number;
  /** KV-cache element type (llama.cpp's default is F16; F32 for exact comparisons). */
  kvCache?: 'F16' | 'F32';
}

/** One GGUF file loaded in llama.cpp with one context and sequence. */
export class PeerModel {
  private constructor(
    readonly model: LlamaModel,
    private readonly context: LlamaContext,
    readonly sequence: LlamaContextSequence,
  ) {}

  static async load(llama: Llama, file: string, o: PeerModelOptions): Promise<PeerModel> {
    const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
    const context = await model.createContext({
      contextSize: o.contextSize, threads: o.threads, batchSize: o.batchSize ?? Math.min(o.contextSize, 512), sequences: 1,
      ...(o.kvCache ? { experimentalKvCacheKeyType: o.kvCache, experimentalKvCacheValueType: o.kvCache } : {}),
    });
    return new PeerModel(model, context, context.getSequence());
  }

  /** Greedy generation of n tokens after `prompt` (from an empty cache; EOS does not stop it). */
  async greedy(prompt: readonly number[], n: number): Promise<number[]> {
    await this.sequence.clearHistory();
    const out: number[] = [];
    if (n <= 0) return out;
    for await (const tok of this.sequence.evaluate(prompt.slice() as never[], { temperature: 0, yieldEogToken: true })) {
      out.push(tok as number);
      if (out.length >= n) break;
    }
    return out;
  }

  /**
   * Teacher-forced greedy: llama.cpp's argmax after prompt + continuation[0..i) for every i, in
   * one batch over the whole sequence. Compared with the continuation another engine generated
   * greedily, it gives the per-position agreement without one early difference derailing the rest.
   */
  async argmaxAlong(prompt: readonly number[], continuation: readonly number[]): Promise<number[]> {
    await this.sequence.clearHistory();
    const all = [...prompt, ...continuation];
    const input = all.map((t, i) =>
      i >= prompt.length - 1 && i < all.length - 1 ? ([t, { generateNext: { token: true, options: { temperature: 0 } } }] as const) : t);
    const res = await this.sequence.controlledEvaluate(input as never);
    const out: number[] = [];
    for (let i = prompt.length - 1; i < all.length - 1; i++) out.push(res[i]?.next.token as number);
    return out;
  }

  /** log-softmax of llama.cpp's logits after `prompt` (from its full probability list), [vocab]. */
  async logProbsAfter(prompt: readonly number[]): Promise<Float64Array> {
    await this.sequence.clearHistory();
    const input = prompt.map((t, i) => (i === prompt.length - 1 ? ([t, { generateNext: { probabilities: true, options: { temperature: 0 } } }] as const) : t));
    const res = await this.sequence.controlledEvaluate(input as never);
    const probs = res[prompt.length - 1]?.next.probabilities;
    if (!probs) throw new Error('llama.cpp returned no probabilities');
    const out = new Float64Array(probs.size).fill(-Infinity); // every id of the vocabulary is listed
    for (const [tok, p] of probs) out[tok as number] = Math.log(p);
    return out;
  }

  tokenize(text: string): number[] {
    return this.model.tokenize(text, false) as number[];
  }

  detokenize(ids: readonly number[]): string {
    return this.model.detokenize(ids as never);
  }

  async dispose(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
  }
}

/** The llama.cpp build node-llama-cpp ships, loaded once per process. */
export class LlamaCppPeer {
  private constructor(readonly lib: NodeLlamaCpp, readonly llama: Llama) {}

  static async open(): Promise<LlamaCppPeer> {
    const lib = await esmImport('node-llama-cpp');
    const llama = await lib.getLlama({ gpu: false, build: 'never', logLevel: lib.LlamaLogLevel.error });
    return new LlamaCppPeer(lib, llama);
  }

  load(file: string, o: PeerModelOptions): Promise<PeerModel> {
    return PeerModel.load(this.llama, file, o);
  }

  /** The file's tokenizer alone (no weights read): llama.cpp's tokenize and detokenize. */
  async loadVocab(file: string): Promise<{ tokenize(text: string): number[]; detokenize(ids: readonly number[]): string; dispose(): Promise<void> }> {
    const model = await this.llama.loadModel({ modelPath: file, vocabOnly: true });
    return {
      tokenize: (text) => model.tokenize(text, false) as number[],
      detokenize: (ids) => model.detokenize(ids as never),
      dispose: () => model.dispose(),
    };
  }

  /** The GGUF header as llama.cpp's reader sees it (metadata + tensor infos). */
  readInfo(file: string): ReturnType<NodeLlamaCpp['readGgufFileInfo']> {
    return this.lib.readGgufFileInfo(file, { readTensorInfo: true, ignoreKeys: [] });
  }

  /** "llama.cpp b1234 (node-llama-cpp 3.21.1), CPU" for reports. */
  describe(): string {
    return `llama.cpp ${this.llama.llamaCppRelease.release} (node-llama-cpp), ${this.llama.gpu === false ? 'CPU' : this.llama.gpu}`;
  }
}
