// The expert-plan scenarios: goal × machine × model × data, each with the choices an expert would
// make as ranges and the published recipe those ranges follow. The recipes, as published:
//
// - LF-SFT   LLaMA-Factory examples/train_lora/llama3_lora_sft.yaml: lora_rank 8, lora_target all,
//            cutoff_len 2048, batch 1 x accumulation 8, learning_rate 1.0e-4, 3 epochs, cosine,
//            warmup_ratio 0.1.
// - LF-QLORA LLaMA-Factory examples/train_qlora/llama3_lora_sft_otfq.yaml: quantization_bit 4
//            (bitsandbytes), lora_target all, batch 1 x 8, 1.0e-4, 3 epochs, val_size 0.1.
// - LF-PT    LLaMA-Factory examples/train_lora/llama3_lora_pretrain.yaml: stage pt, lora_target
//            all, cutoff_len 2048, batch 1 x 8, 1.0e-4, 3 epochs (packing is LLaMA-Factory's
//            default for stage pt).
// - LF-DPO   LLaMA-Factory examples/train_lora/llama3_lora_dpo.yaml: stage dpo, pref_beta 0.1,
//            lora_target all, batch 1 x 8, learning_rate 5.0e-6, 3 epochs.
// - LF-FULL  LLaMA-Factory examples/train_full/llama3_full_sft.yaml: finetuning_type full,
//            learning_rate 1.0e-5, 3 epochs.
// - TT-LORA  torchtune recipes/configs/llama3_1/8B_lora_single_device.yaml: lora_rank 8,
//            lora_alpha 16, q/v/output_proj + MLP, batch 2 x accumulation 8, lr 3e-4, 1 epoch,
//            activation checkpointing on.
// - QLORA    The QLoRA paper (Dettmers et al. 2023) and its scripts/finetune_guanaco_{7b,65b}.sh:
//            nf4 with double quantization, LoRA on all linear layers, r 64, alpha 16, batch 4 x 4
//            = 16, learning rate 2e-4 (7B/13B) and 1e-4 (33B/65B), gradient checkpointing.
// - UNSLOTH  Unsloth's LoRA hyperparameters guide: r 16 (8-128), lora_alpha = r or 2r, all of
//            q/k/v/o/gate/up/down, learning rate 2e-4 for LoRA/QLoRA and 5e-6 for DPO, 1-3
//            epochs, effective batch 16 (2 x 8); continued pretraining with a high rank.
import { describedHardware, type HardwareProfile } from '../../../src/core/hardware/types';
import type { DatasetInfo } from '../../../src/core/planner/context';
import { lengthHistogram } from '../../../src/core/planner/lengths';
import type { CONFIGS } from './models';

export type Range = readonly [number, number];

export interface Expected {
  method: readonly ('full' | 'lora' | 'qlora' | 'lomo')[];
  /** Adapter rank and alpha (adapter methods only). */
  rank?: Range;
  alpha?: Range;
  lr: Range;
  /** batch_size × gradient_accumulation × GPUs. */
  effectiveBatch: Range;
  /** Epochs, or (quick test) max_steps. */
  epochs?: Range;
  maxSteps?: Range;
  maxLength: Range;
  packing: boolean;
  quantization: readonly string[];
  /** 'all-linear' for adapters on every linear layer; full and LOMO have none. */
  targets?: 'all-linear';
  stage?: 'sft' | 'dpo';
  /** Share of records held out, as a range (0 = none). */
  evalSplit?: Range;
  /** The run does not fit this machine, or is impractical here: the plan must say so. */
  warns?: RegExp;
}

export interface Scenario {
  name: string;
  goal: string;
  machine: keyof typeof MACHINES;
  model: keyof typeof CONFIGS & string;
  data: DatasetInfo;
  expect: Expected;
  /** The recipe the expected choices follow (keys above). */
  recipe: string;
}

export const MACHINES: Record<'cpu-laptop' | 'gpu-24' | 'gpu-80' | 'gpus-4x80', HardwareProfile> = {
  'cpu-laptop': describedHardware({ ramGiB: 16, cores: 4 }),
  'gpu-24': describedHardware({ gpus: 1, gpuMemoryGiB: 24, gpuName: 'RTX 4090 (24 GB)', ramGiB: 64 }),
  'gpu-80': describedHardware({ gpus: 1, gpuMemoryGiB: 80, gpuName: 'A100 (80 GB)', ramGiB: 256 }),
  'gpus-4x80': describedHardware({ gpus: 4, gpuMemoryGiB: 80, gpuName: 'H100 (80 GB)', ramGiB: 1024 }),
};

/**
 * A dataset of `records` whose sampled lengths follow a log-normal with this median and p95
 * (capped at `max`), so its length histogram is what a tokenizer would report for such data.
 */
export function dataset(format: DatasetInfo['format'], records: number, median: number, p95: number, max: number): DatasetInfo {
  const sampled = Math.min(records, 2000);
  const sigma = Math.log(p95 / median) / 1.645;
  // Logistic approximation of the normal quantile: plenty for a histogram.
  const lengths = Array.from({ length: sampled }, (_, i) => {
    const u = (i + 0.5) / sampled;
    return Math.min(max, Math.max(4, Math.round(median * Math.exp((sigma * Math.log(u / (1 - u))) / 1.702))));
  }).sort((a, b) => a - b);
  lengths[lengths.length - 1] = max;
  const mean = Math.round(lengths.reduce((n, x) => n + x, 0) / lengths.length);
  return {
    ref: './train.jsonl', file: '/w/train.jsonl', format, records, errors: 0, warnings: 0,
    tokens: { mean, p95: lengths[Math.floor(0.95 * (lengths.length - 1))], max, sampled, counter: 'tokenizer', histogram: lengthHistogram(lengths) },
  };
}

const TINY_CHAT = dataset('messages', 200, 150, 400, 700);
const MEDIUM_CHAT = dataset('messages', 5000, 300, 900, 2000);
const LARGE_CHAT = dataset('messages', 120_000, 250, 800, 3000);
const MEDIUM_QA = dataset('input-output', 3000, 120, 350, 600);
const LONG_DOCS = dataset('messages', 2000, 9000, 24_000, 30_000);
const MID_DOCS = dataset('messages', 2000, 5000, 12_000, 16_000);
const SMALL_TEXT = dataset('text', 5000, 700, 1800, 4000);
const LARGE_TEXT = dataset('text', 1_000_000, 600, 1500, 8000);
const PAIRS = dataset('preference', 2000, 250, 700, 1200);
const FEW_PAIRS = dataset('preference', 300, 200, 500, 900);

/** Adapter SFT on instruction data: UNSLOTH / LF-SFT / TT-LORA / QLORA agree on these. */
const LORA_SFT = { rank: [8, 32], alpha: [16, 64], lr: [1e-4, 3e-4], targets: 'all-linear', stage: 'sft', packing: false } as const;

export const SCENARIOS: Scenario[] = [
  // CPU laptop: 16 GB, 4 cores.
  { name: 'CPU laptop, 0.5B, 200 chat records', goal: 'Teach it to answer our support questions', machine: 'cpu-laptop', model: 'qwen-0.5b', data: TINY_CHAT,
    expect: { ...LORA_SFT, method: ['lora'], effectiveBatch: [4, 8], epochs: [3, 5], maxLength: [400, 1024], quantization: ['none'], evalSplit: [0, 0] },
    recipe: 'UNSLOTH (r 16, alpha r-2r, all linear, 2e-4; small data: more epochs) with LF-SFT\'s batch 1 x 8' },
  { name: 'CPU laptop, 0.5B, 5,000 chat records', goal: 'Fine-tune on my chat logs', machine: 'cpu-laptop', model: 'qwen-0.5b', data: MEDIUM_CHAT,
    expect: { ...LORA_SFT, method: ['lora'], effectiveBatch: [8, 16], epochs: [1, 3], maxLength: [900, 2048], quantization: ['none'], evalSplit: [0.01, 0.1] },
    recipe: 'LF-SFT (lora_target all, batch 1 x 8, 3 epochs, cosine) with UNSLOTH\'s r 16 / 2e-4' },
  { name: 'CPU laptop, 0.5B, as fast as possible', goal: 'Fine-tune on my chat logs as fast as possible', machine: 'cpu-laptop', model: 'qwen-0.5b', data: MEDIUM_CHAT,
    expect: { method: ['lora'], rank: [8, 8], alpha: [16, 16], lr: [1e-4, 3e-4], targets: 'all-linear', stage: 'sft', effectiveBatch: [8, 16], epochs: [1, 1], maxLength: [900, 2048], packing: true, quantization: ['none'] },
    recipe: 'TT-LORA (rank 8, alpha 16, 1 epoch; its dataset.packed "True increases speed")' },
  { name: 'CPU laptop, 0.5B, quick test', goal: 'quick test of the setup', machine: 'cpu-laptop', model: 'qwen-0.5b', data: MEDIUM_QA,
    expect: { ...LORA_SFT, method: ['lora'], effectiveBatch: [8, 16], maxSteps: [20, 20], maxLength: [256, 512], quantization: ['none'] },
    recipe: 'LF-SFT\'s max_samples trial (a short run of the real settings), UNSLOTH defaults' },
  { name: 'CPU laptop, 0.5B, 3,000 question/answer records', goal: 'Train it on these question and answer pairs', machine: 'cpu-laptop', model: 'qwen-0.5b', data: MEDIUM_QA,
    expect: { ...LORA_SFT, method: ['lora'], effectiveBatch: [8, 16], epochs: [1, 3], maxLength: [256, 512], quantization: ['none'], evalSplit: [0.01, 0.1] },
    recipe: 'UNSLOTH (r 16, 2e-4, 1-3 epochs) with LF-SFT\'s batch 1 x 8' },
  { name: 'CPU laptop, 0.5B, continued pretraining on 5,000 documents', goal: 'Continue pretraining on our legal texts', machine: 'cpu-laptop', model: 'qwen-0.5b', data: SMALL_TEXT,
    expect: { method: ['full', 'lora'], rank: [64, 128], lr: [1e-5, 1e-4], effectiveBatch: [8, 16], epochs: [1, 3], maxLength: [2048, 2048], packing: true, quantization: ['none'], evalSplit: [0.01, 0.1] },
    recipe: 'LF-PT (stage pt, cutoff_len 2048, packed, lora_target all, 1e-4) and UNSLOTH continued pretraining (high rank, embeddings trained: full here)' },
  { name: 'CPU laptop, 0.5B, 2,000 preference pairs', goal: 'Make it prefer the chosen answers', machine: 'cpu-laptop', model: 'qwen-0.5b', data: PAIRS,
    expect: { method: ['lora'], rank: [8, 32], alpha: [16, 64], lr: [5e-6, 5e-6], targets: 'all-linear', stage: 'dpo', effectiveBatch: [8, 16], epochs: [1, 3], maxLength: [700, 1024], packing: false, quantization: ['none'] },
    recipe: 'LF-DPO (stage dpo, pref_beta 0.1, lora_target all, 5e-6, batch 1 x 8) and UNSLOTH (5e-6 for DPO)' },
  { name: 'CPU laptop, 8B, 5,000 chat records: does not fit, said with the alternatives', goal: 'Fine-tune Llama on my chat logs', machine: 'cpu-laptop', model: 'llama-3.1-8b', data: MEDIUM_CHAT,
    expect: { ...LORA_SFT, method: ['qlora'], effectiveBatch: [8, 16], epochs: [1, 3], maxLength: [900, 2048], quantization: ['nf4'], warns: /This run would take about .+ on this machine's 4-core CPU \([\d,]+ steps\): too long to be practical here\. Alternatives: .*a machine with a GPU/ },
    recipe: 'QLORA (an nf4 base is what fits 16 GB) with UNSLOTH / LF-SFT settings; weeks on four cores, said with the alternatives' },
  // One consumer GPU, 24 GB.
  { name: '24 GB GPU, Llama-3.1-8B, 5,000 chat records', goal: 'Fine-tune on my chat logs', machine: 'gpu-24', model: 'llama-3.1-8b', data: MEDIUM_CHAT,
    expect: { ...LORA_SFT, method: ['lora', 'qlora'], effectiveBatch: [8, 16], epochs: [1, 3], maxLength: [900, 2048], quantization: ['none', 'nf4'], evalSplit: [0.01, 0.1] },
    recipe: 'QLORA / LF-QLORA (a 4-bit base where 16-bit does not fit a 24 GB card), UNSLOTH r 16 / 2e-4, TT-LORA' },
  { name: '24 GB GPU, Mistral-7B, 200 chat records', goal: 'Teach it to answer our support questions', machine: 'gpu-24', model: 'mistral-7b', data: TINY_CHAT,
    expect: { ...LORA_SFT, method: ['lora', 'qlora'], effectiveBatch: [4, 8], epochs: [3, 5], maxLength: [400, 1024], quantization: ['none', 'nf4'], evalSplit: [0, 0] },
    recipe: 'UNSLOTH (small data: more epochs, smaller batch) and LF-SFT\'s batch 1 x 8' },
  { name: '24 GB GPU, Qwen2.5-7B, 120,000 chat records', goal: 'Fine-tune on our conversation archive', machine: 'gpu-24', model: 'qwen2.5-7b', data: LARGE_CHAT,
    expect: { method: ['lora', 'qlora'], rank: [16, 64], alpha: [16, 64], lr: [1e-4, 3e-4], targets: 'all-linear', stage: 'sft', effectiveBatch: [16, 32], epochs: [1, 1], maxLength: [800, 2048], packing: false, quantization: ['none', 'nf4'], evalSplit: [0.001, 0.01] },
    recipe: 'QLORA (batch 16, 2e-4, all linear) and UNSLOTH (1 epoch on large data, a higher rank for more data)' },
  { name: '24 GB GPU, Llama-3.1-8B, 32k context documents: does not fit, said with smaller models', goal: 'Fine-tune with 32k context on these long reports', machine: 'gpu-24', model: 'llama-3.1-8b', data: LONG_DOCS,
    expect: { ...LORA_SFT, method: ['qlora'], effectiveBatch: [8, 16], epochs: [1, 3], maxLength: [32768, 32768], quantization: ['nf4'], warns: /Even with qlora \(nf4\), batch 1 and gradient checkpointing, \.\/models\/llama-3\.1-8b needs about [\d.]+ GB but 24\.0 GB is available\. Smaller local models: \.\/models\/qwen-0\.5b, \.\/models\/qwen2\.5-1\.5b/ },
    recipe: 'QLORA (nf4, checkpointing) and TT-LORA; 32k tokens of a 128k vocabulary hold 16 GiB of logits alone' },
  { name: '24 GB GPU, Qwen2.5-1.5B, 16k context documents', goal: 'Fine-tune with 16k context on these reports', machine: 'gpu-24', model: 'qwen2.5-1.5b', data: MID_DOCS,
    expect: { ...LORA_SFT, method: ['lora', 'qlora'], effectiveBatch: [8, 16], epochs: [1, 3], maxLength: [16384, 16384], quantization: ['none', 'nf4'] },
    recipe: 'TT-LORA (activation checkpointing for long sequences) and LF-SFT; flash-style attention holds no T x T scores' },
  { name: '24 GB GPU, Llama-3.1-8B, 2,000 preference pairs', goal: 'DPO on these preference pairs', machine: 'gpu-24', model: 'llama-3.1-8b', data: PAIRS,
    expect: { method: ['lora', 'qlora'], rank: [8, 32], alpha: [16, 64], lr: [5e-6, 5e-6], targets: 'all-linear', stage: 'dpo', effectiveBatch: [8, 16], epochs: [1, 3], maxLength: [700, 1024], packing: false, quantization: ['none', 'nf4'] },
    recipe: 'LF-DPO (stage dpo, pref_beta 0.1, 5e-6, lora_target all) and UNSLOTH (5e-6 for DPO)' },
  { name: '24 GB GPU, Qwen2.5-1.5B, full fine-tune asked', goal: 'Full fine-tune on my chat logs', machine: 'gpu-24', model: 'qwen2.5-1.5b', data: MEDIUM_CHAT,
    expect: { method: ['full', 'lomo'], lr: [1e-5, 1e-3], effectiveBatch: [1, 16], epochs: [1, 3], maxLength: [900, 2048], packing: false, quantization: ['none'] },
    recipe: 'LF-FULL (finetuning_type full, 1e-5); LOMO where AdamW\'s states do not fit' },
  { name: '24 GB GPU, Qwen2.5-7B, continued pretraining on a large corpus', goal: 'Continue pretraining on 2 GB of legal text', machine: 'gpu-24', model: 'qwen2.5-7b', data: LARGE_TEXT,
    expect: { method: ['lora', 'qlora'], rank: [64, 128], alpha: [16, 128], lr: [5e-5, 1e-4], targets: 'all-linear', effectiveBatch: [8, 32], epochs: [1, 1], maxLength: [2048, 2048], packing: true, quantization: ['none', 'nf4'], evalSplit: [0.0005, 0.001] },
    recipe: 'LF-PT (cutoff_len 2048, packed, all linear, 1e-4) and UNSLOTH continued pretraining (r 64-128); one pass over a large corpus' },
  { name: '24 GB GPU, Mistral-7B, best quality', goal: 'Best quality please, I have time', machine: 'gpu-24', model: 'mistral-7b', data: MEDIUM_QA,
    expect: { method: ['lora', 'qlora'], rank: [32, 64], alpha: [16, 64], lr: [1e-4, 3e-4], targets: 'all-linear', stage: 'sft', effectiveBatch: [8, 16], epochs: [2, 3], maxLength: [256, 512], packing: false, quantization: ['none', 'nf4'], evalSplit: [0.01, 0.1] },
    recipe: 'QLORA (all linear, r 64 for quality) and LF-SFT (3 epochs, an eval split)' },
  // One large GPU, 80 GB.
  { name: '80 GB GPU, Llama-3.1-8B, 5,000 chat records', goal: 'Fine-tune on my chat logs', machine: 'gpu-80', model: 'llama-3.1-8b', data: MEDIUM_CHAT,
    expect: { ...LORA_SFT, method: ['lora'], effectiveBatch: [8, 16], epochs: [1, 3], maxLength: [900, 2048], quantization: ['none'], evalSplit: [0.01, 0.1] },
    recipe: 'TT-LORA (bf16 LoRA on one device, batch 2 x 8) and UNSLOTH r 16 / 2e-4' },
  { name: '80 GB GPU, Llama-3.1-8B, full fine-tune asked', goal: 'Full fine-tune on my chat logs', machine: 'gpu-80', model: 'llama-3.1-8b', data: MEDIUM_CHAT,
    expect: { method: ['full', 'lomo'], lr: [1e-5, 1e-3], effectiveBatch: [1, 16], epochs: [1, 3], maxLength: [900, 2048], packing: false, quantization: ['none'] },
    recipe: 'LF-FULL (1e-5); an 8B model\'s AdamW states (~128 GB) leave LOMO on one 80 GB card' },
  { name: '80 GB GPU, Qwen2.5-7B, 32k context documents', goal: 'Train with 32k context on these long reports', machine: 'gpu-80', model: 'qwen2.5-7b', data: LONG_DOCS,
    expect: { ...LORA_SFT, method: ['lora'], effectiveBatch: [8, 16], epochs: [1, 3], maxLength: [32768, 32768], quantization: ['none'] },
    recipe: 'TT-LORA (activation checkpointing) with flash-style attention; LF-SFT settings otherwise' },
  { name: '80 GB GPU, 70B, 3,000 question/answer records', goal: 'Fine-tune the 70B on our Q&A', machine: 'gpu-80', model: 'llama-70b', data: MEDIUM_QA,
    expect: { method: ['qlora'], rank: [16, 64], alpha: [16, 64], lr: [1e-4, 1e-4], targets: 'all-linear', stage: 'sft', effectiveBatch: [8, 16], epochs: [1, 3], maxLength: [256, 512], packing: false, quantization: ['nf4'] },
    recipe: 'QLORA (65B on one 48-80 GB GPU: nf4, all linear, learning rate 1e-4 for 33B/65B)' },
  // Several GPUs: 4 x 80 GB.
  { name: '4 x 80 GB, 70B, 5,000 chat records', goal: 'Fine-tune on my chat logs', machine: 'gpus-4x80', model: 'llama-70b', data: MEDIUM_CHAT,
    expect: { method: ['lora', 'qlora'], rank: [16, 64], alpha: [16, 64], lr: [1e-4, 1e-4], targets: 'all-linear', stage: 'sft', effectiveBatch: [16, 64], epochs: [1, 3], maxLength: [900, 2048], packing: false, quantization: ['none', 'nf4'] },
    recipe: 'QLORA (1e-4 from 33B, all linear) with data parallel over the 4 GPUs' },
  { name: '4 x 80 GB, Qwen2.5-7B, 120,000 chat records', goal: 'Fine-tune on our conversation archive', machine: 'gpus-4x80', model: 'qwen2.5-7b', data: LARGE_CHAT,
    expect: { method: ['lora'], rank: [16, 64], alpha: [16, 64], lr: [1e-4, 3e-4], targets: 'all-linear', stage: 'sft', effectiveBatch: [16, 64], epochs: [1, 1], maxLength: [800, 2048], packing: false, quantization: ['none'], evalSplit: [0.001, 0.01] },
    recipe: 'UNSLOTH (1 epoch on large data, rank up with data) and QLORA\'s batch 16 per device group' },
  { name: '4 x 80 GB, Llama-3.1-8B, 300 preference pairs', goal: 'Train it on chosen and rejected answers', machine: 'gpus-4x80', model: 'llama-3.1-8b', data: FEW_PAIRS,
    expect: { method: ['lora'], rank: [8, 32], alpha: [16, 64], lr: [5e-6, 5e-6], targets: 'all-linear', stage: 'dpo', effectiveBatch: [4, 32], epochs: [3, 5], maxLength: [512, 1024], packing: false, quantization: ['none'] },
    recipe: 'LF-DPO (5e-6, pref_beta 0.1, 3 epochs on small data)' },
  { name: '4 x 80 GB, Mistral-7B, continued pretraining on 5,000 documents', goal: 'Domain adaptation on our manuals', machine: 'gpus-4x80', model: 'mistral-7b', data: SMALL_TEXT,
    expect: { method: ['full', 'lora'], rank: [64, 128], lr: [1e-5, 1e-4], effectiveBatch: [8, 64], epochs: [1, 3], maxLength: [2048, 2048], packing: true, quantization: ['none'], evalSplit: [0.01, 0.1] },
    recipe: 'LF-PT (cutoff_len 2048, packed, 1e-4 with adapters) and LF-FULL (1e-5 when every weight trains)' },
  { name: '4 x 80 GB, Qwen2.5-1.5B, 200 chat records', goal: 'Teach it our house style', machine: 'gpus-4x80', model: 'qwen2.5-1.5b', data: TINY_CHAT,
    expect: { ...LORA_SFT, method: ['lora'], effectiveBatch: [4, 32], epochs: [3, 5], maxLength: [400, 1024], quantization: ['none'], evalSplit: [0, 0] },
    recipe: 'UNSLOTH (small data: more epochs, no eval split to spare) and LF-SFT' },
];
