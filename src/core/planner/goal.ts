// Reads what a goal in plain words says about the run: the model, the data, a memory limit,
// the method, optimizer, quantization, length, epochs. Only what is stated is returned; the rule
// planner fills the rest. Follow-ups ("make it fit in 8 GB", "use Lion") parse the same way and
// are layered over the earlier turns.
import { GiB } from '../hardware/types';
import type { HardwareProfile } from '../hardware/types';
import { describedHardware } from '../hardware/types';

export interface GoalIntent {
  model?: string;
  /** A size named instead of a model ("a 7B model"), in parameters. */
  modelParams?: number;
  data?: string;
  evalData?: string;
  memoryLimitBytes?: number;
  method?: 'full' | 'lora' | 'qlora' | 'lomo';
  quantization?: 'none' | 'int8' | 'int4' | 'nf4';
  optimizer?: 'adamw' | 'lion' | 'sgd';
  maxLength?: number;
  epochs?: number;
  maxSteps?: number;
  learningRate?: number;
  loraRank?: number;
  batchSize?: number;
  modelName?: string;
  device?: 'cpu' | 'cuda';
  /** Hours the user is willing to wait. */
  timeBudgetHours?: number;
  /** The run is for another machine ("on a server with 2 x 48 GB GPUs"). */
  targetHardware?: HardwareProfile;
  /** The description is of the user's own machine ("my 24 GB GPU"). */
  targetIsOwn?: boolean;
  packing?: boolean;
  gradientCheckpointing?: boolean;
  /**
   * A wish about speed: "as fast as possible" (faster settings, every record kept), "quick test"
   * (a short trial run of the setup), "best quality, I have time" (more capacity and passes).
   */
  speed?: 'fast' | 'test' | 'quality';
  /** "continue pretraining on …", "domain adaptation": raw text, every token, packed. */
  pretraining?: boolean;
  /** "use less memory": a smaller micro-batch and recomputed activations, the rest kept. */
  lessMemory?: boolean;
  /** "DPO", "preference pairs": train on chosen / rejected pairs (stage dpo). */
  preference?: boolean;
  /** Parts of the goal that say what the user wants but set nothing the planner acts on. */
  unacted?: string[];
}

const num = (s: string) => Number(s.replace(/,/g, ''));

function bytesOf(value: string, unit: string): number {
  const u = unit.toLowerCase();
  return num(value) * (u.startsWith('t') ? 1024 * GiB : u.startsWith('m') ? GiB / 1024 : GiB);
}

// Words that mark a clause as a wish about the run (so one the planner cannot act on is named).
const WISH = /\b(?:want|wants|prefer|should|must|needs? (?:it|to)|make (?:it|sure)|keep|less|more|better|best|avoid|don'?t|do not|without|focus|prioriti[sz]e)\b/;

/** The goal's fields, and the clauses with a wish none of whose words set a field. */
export function parseGoal(text: string): GoalIntent {
  const g = parseFields(text);
  const unacted = text
    .split(/[.;!?\n]+|,\s+|\s+(?:and|but)\s+/i)
    .map((c) => c.trim())
    .filter((c) => c.length > 3 && WISH.test(c.toLowerCase()) && Object.keys(parseFields(c)).length === 0);
  if (unacted.length > 0) g.unacted = unacted;
  return g;
}

function parseFields(text: string): GoalIntent {
  const g: GoalIntent = {};
  const t = ` ${text} `;
  const lower = t.toLowerCase();

  // Paths and Hugging Face ids: data files end in .jsonl/.json; a model is a folder path or org/name.
  const paths = [...t.matchAll(/(?:^|[\s"'`(])((?:\.{0,2}\/|~\/|[A-Za-z]:\\)?[\w.\-/\\]+\.jsonl?)(?=[\s"'`),.;:]|$)/g)].map((m) => m[1]);
  for (const p of paths) {
    if (/eval|valid|test|dev/i.test(p.split(/[\\/]/).pop() ?? '') && paths.length > 1) g.evalData ??= p;
    else g.data ??= p;
  }
  // Any other path-like token (./x, ../x, /x, ~/x) names the model folder.
  const modelPath = [...t.matchAll(/(?:^|[\s"'`(])((?:\.{1,2}\/|\/|~\/)[\w.\-/]+?)(?=[\s"'`),;:]|[.,](?:\s|$)|$)/g)].map((m) => m[1]).find((p) => !/\.jsonl?$/.test(p));
  const hfId = t.match(/(?:^|[\s"'`(])([A-Za-z][\w.-]*\/[A-Za-z0-9][\w.-]*)(?=[\s"'`),;:]|\.\s|$)/);
  if (modelPath) g.model = modelPath;
  else if (hfId && !/\.jsonl?$/.test(hfId[1]) && !/^(?:\.|~)/.test(hfId[1])) g.model = hfId[1];
  const size = lower.match(/\b(\d+(?:\.\d+)?)\s*([bm])\b(?:\s*(?:param|model|llm|llama|qwen|mistral))?/);
  if (size) g.modelParams = Number(size[1]) * (size[2] === 'b' ? 1e9 : 1e6);

  // Memory limits the user sets for this run.
  const limit = lower.match(/(?:fit|fits|within|under|below|at most|max(?:imum)?|only have|only|limit(?: it)? to|in)\s+(?:in(?:to)?\s+)?(\d+(?:\.\d+)?)\s*(gb|gib|g|mb|tb)\b(?!\s*(?:gpu|card|vram\b.*x))/);
  if (limit) g.memoryLimitBytes = bytesOf(limit[1], limit[2]);
  const vram = lower.match(/(\d+(?:\.\d+)?)\s*(gb|gib|g)\s+(?:of\s+)?(?:vram|gpu memory)/);
  if (vram && !limit) g.memoryLimitBytes = bytesOf(vram[1], vram[2]);

  // Another machine: "2 x 48 GB GPUs", "one 24GB GPU", "an A100 80GB", "CPU only, 8 GB RAM".
  const gpuDesc = lower.match(/(?:(\d+|one|two|four|eight)\s*(?:x|×|\*)?\s*)?(?:[a-z0-9-]+\s+)?(\d+)\s*gb\s+(?:gpus?|cards?|vram)/);
  const ramDesc = lower.match(/(\d+)\s*gb\s+(?:of\s+)?(?:ram|memory)/);
  const cpuOnly = /\bcpu[- ]only\b|\bno gpu\b|\bon (?:the |my )?cpu\b/.test(lower);
  if (gpuDesc && /\b(?:on|for|using|with|server|machine|cluster|elsewhere)\b/.test(lower)) {
    const words: Record<string, number> = { one: 1, two: 2, four: 4, eight: 8 };
    const count = gpuDesc[1] ? words[gpuDesc[1]] ?? Number(gpuDesc[1]) : 1;
    const mem = Number(gpuDesc[2]);
    g.targetHardware = describedHardware({ gpus: count, gpuMemoryGiB: mem, ramGiB: ramDesc ? Number(ramDesc[1]) : Math.max(32, count * mem * 2) });
    // "my 24GB GPU" describes this machine: a probe that finds GPUs wins over the description.
    if (/\bmy\b/.test(lower)) g.targetIsOwn = true;
    if (limit && num(limit[1]) === mem) delete g.memoryLimitBytes;
  } else if (cpuOnly && ramDesc) {
    g.targetHardware = describedHardware({ ramGiB: Number(ramDesc[1]) });
  }
  if (cpuOnly) g.device = 'cpu';
  else if (/\b(?:on|use) (?:the )?(?:gpu|cuda)\b/.test(lower)) g.device = 'cuda';

  if (/\bq-?lora\b/.test(lower)) g.method = 'qlora';
  else if (/\blomo\b/.test(lower)) g.method = 'lomo';
  else if (/\bfull(?:[- ]parameter)?[- ](?:fine-?)?tun|\ball (?:the )?weights\b|\bfull fine\b|\bmethod full\b/.test(lower)) g.method = 'full';
  else if (/\blora\b/.test(lower)) g.method = 'lora';

  if (/\bnf4\b/.test(lower)) g.quantization = 'nf4';
  else if (/\bint4\b|\b4[- ]?bit\b/.test(lower)) g.quantization = g.method === 'qlora' || g.method === undefined ? 'nf4' : 'int4';
  else if (/\bint8\b|\b8[- ]?bit\b/.test(lower)) g.quantization = 'int8';
  else if (/\bno quantization\b|\bunquantized\b|\bwithout quantization\b/.test(lower)) g.quantization = 'none';
  if (/\bint4\b/.test(lower)) g.quantization = 'int4';
  if (g.quantization && g.quantization !== 'none' && g.quantization !== 'int8' && g.method === undefined) g.method = 'qlora';

  if (/\blion\b/.test(lower)) g.optimizer = 'lion';
  else if (/\badamw?\b/.test(lower)) g.optimizer = 'adamw';
  else if (/\bsgd\b/.test(lower)) g.optimizer = 'sgd';

  // "32k context", "8K tokens", "context length of 16k": k is 1,024 tokens, as model cards count.
  const len = lower.match(/(\d[\d,]*)\s*(k)?\s*-?\s*(?:tokens?|token context|context)\b/) ?? lower.match(/(?:max[_ ]length|context(?: length| window)?|sequence length|seq(?:uence)? len)\s*(?:of|=|:)?\s*(\d[\d,]*)\s*(k)?\b/);
  if (len) g.maxLength = num(len[1]) * (len[2] ? 1024 : 1);
  const ep = lower.match(/(\d+(?:\.\d+)?)\s*epochs?\b/) ?? lower.match(/\bepochs?\s*(?:=|:|of)?\s*(\d+(?:\.\d+)?)/);
  if (ep) g.epochs = Number(ep[1]);
  const steps = lower.match(/(\d[\d,]*)\s*(?:optimizer\s+)?steps\b/);
  if (steps) g.maxSteps = num(steps[1]);
  const lr = lower.match(/(?:learning rate|lr)\s*(?:of|=|:)?\s*(\d+(?:\.\d+)?(?:e-?\d+)?)/);
  if (lr) g.learningRate = Number(lr[1]);
  const rank = lower.match(/\b(?:lora )?rank\s*(?:of|=|:|r=)?\s*(\d+)/) ?? lower.match(/\br\s*=\s*(\d+)/);
  if (rank) g.loraRank = Number(rank[1]);
  const batch = lower.match(/batch(?:[_ ]size)?\s*(?:of|=|:)?\s*(\d+)/);
  if (batch) g.batchSize = Number(batch[1]);
  const name = t.match(/(?:call(?:ed)? it|name(?:d)? it|answers? (?:to|as)|model_name)\s*[:=]?\s*["'“]?([\w .-]{2,40}?)["'”]?(?=[,.;!]|\s*$|\s+(?:and|on|with|using)\b)/i);
  if (name) g.modelName = name[1].trim();

  const hours = lower.match(/(\d+(?:\.\d+)?)\s*(hours?|hrs?|h|minutes?|mins?)\b/);
  if (hours) g.timeBudgetHours = Number(hours[1]) / (hours[2].startsWith('m') ? 60 : 1);
  else if (/\bovernight\b/.test(lower)) g.timeBudgetHours = 10;
  // Speed words choose settings, never a step cap (only a stated wait does that).
  if (/\b(?:quick|smoke|short) test\b|\btest run\b|\btrial run\b|\bdry run\b/.test(lower)) g.speed = 'test';
  else if (/\bas (?:fast|quick(?:ly)?) as (?:possible|it can)\b|\bquick(?:ly)?\b|\bfast(?:er)?\b|\bspeed\b/.test(lower)) g.speed = 'fast';
  else if (/\b(?:best|highest|top|maximum) (?:possible )?(?:quality|results?|accuracy)\b|\bi have (?:the )?time\b|\btake (?:your|its|the) time\b|\bno rush\b|\bquality first\b/.test(lower)) g.speed = 'quality';
  if (/\bless (?:memory|ram|vram)\b|\blower memory\b|\bsave memory\b|\bsmaller (?:memory )?footprint\b|\bless gpu memory\b/.test(lower)) g.lessMemory = true;

  if (/\bcontinu\w* (?:the )?pre-?train\w*|\bpre-?train(?:ing)? (?:it )?(?:on|with|further)\b|\bdomain[- ]adapt\w*|\bcontinued pre-?training\b/.test(lower)) g.pretraining = true;
  if (/\bdpo\b|\bpreference (?:pairs?|data|optimi[sz]ation|tuning|training)\b|\bchosen (?:and|\/|or) rejected\b/.test(lower)) g.preference = true;
  if (/\bpack(?:ing)?\b/.test(lower)) g.packing = !/\bno packing\b|\bwithout packing\b/.test(lower);
  if (/gradient checkpointing|activation checkpointing/.test(lower)) g.gradientCheckpointing = !/\bno (?:gradient|activation) checkpointing\b/.test(lower);
  return g;
}

/** Later turns override earlier ones, field by field. */
export function mergeIntents(...intents: GoalIntent[]): GoalIntent {
  const out: GoalIntent = {};
  for (const i of intents) for (const [k, v] of Object.entries(i)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
