// train.py of a hand-off folder: torchrun + transformers + PEFT, every setting read from
// train_config.json (settings.ts). Kept as text so the extension writes it without a Python
// install; test/unit/handoff compiles it with python3 and runs its --dry-run without torch.
export const TRAIN_SCRIPT = String.raw`
#!/usr/bin/env python3
"""Fine-tune with torchrun + transformers + PEFT, the same run Tuner's ARGS.json describes.

Written by Tuner ("Tuner: Export Run for a Cluster"). Every setting is in train_config.json
beside this file; the flags below only move files. Launch (see README.md):

    torchrun --nproc_per_node 8 train.py --deepspeed ds_config.json

--dry-run prints the settings and the data summary without importing torch.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=os.path.join(HERE, "train_config.json"), help="settings written by Tuner")
    p.add_argument("--model", help="model folder or Hugging Face id (default: the config's)")
    p.add_argument("--output-dir", help="where checkpoints and the adapter or model go (default: output/)")
    p.add_argument("--deepspeed", help="DeepSpeed config (ds_config.json) for ZeRO sharding")
    p.add_argument("--dry-run", action="store_true", help="print the settings and data summary, then exit (no torch needed)")
    return p.parse_args(argv)


def load_settings(args):
    with open(args.config, encoding="utf-8") as f:
        cfg = json.load(f)
    base = os.path.dirname(os.path.abspath(args.config))
    if args.model:
        cfg["model"] = args.model
    elif not os.path.isabs(cfg["model"]) and os.path.isdir(os.path.join(base, cfg["model"])):
        cfg["model"] = os.path.join(base, cfg["model"])
    cfg["output_dir"] = args.output_dir or os.path.join(base, cfg["output_dir"])
    for key in ("train_file", "eval_file", "chat_template_file"):
        if cfg.get(key):
            cfg[key] = os.path.join(base, cfg[key])
    return cfg


def read_records(path):
    records = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit("%s:%d: not valid JSON (%s)" % (path, n, e))
            if not isinstance(rec.get("messages"), list):
                sys.exit('%s:%d: no "messages" list' % (path, n))
            records.append(rec)
    return records


def assistant_spans(tokenizer, messages):
    """Character spans of the assistant turns in the rendered conversation."""
    spans = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        start = len(tokenizer.apply_chat_template(messages[:i], tokenize=False, add_generation_prompt=True)) if i else 0
        end = len(tokenizer.apply_chat_template(messages[: i + 1], tokenize=False))
        spans.append((start, end))
    return spans


def encode(tokenizer, cfg, messages):
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = enc["input_ids"]
    if cfg["train_on_responses_only"]:
        spans = assistant_spans(tokenizer, messages)
        labels = [t if any(s <= o[0] < e for s, e in spans) else -100 for t, o in zip(ids, enc["offset_mapping"])]
    else:
        labels = list(ids)
    if len(ids) > cfg["max_length"]:
        if cfg["truncation"] == "drop":
            return None
        ids, labels = ids[: cfg["max_length"]], labels[: cfg["max_length"]]
    return {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels}


def pack(rows, length):
    """Concatenates records into rows of max_length tokens (transformers' group_texts)."""
    out, cur = [], {"input_ids": [], "attention_mask": [], "labels": []}
    for r in rows:
        for k in cur:
            cur[k].extend(r[k])
        while len(cur["input_ids"]) >= length:
            out.append({k: v[:length] for k, v in cur.items()})
            cur = {k: v[length:] for k, v in cur.items()}
    if cur["input_ids"]:
        out.append(cur)
    return out


def main(argv=None):
    args = parse_args(argv)
    cfg = load_settings(args)
    train = read_records(cfg["train_file"])
    evals = read_records(cfg["eval_file"]) if cfg.get("eval_file") else []
    if args.dry_run:
        print(json.dumps({"settings": cfg, "train_records": len(train), "eval_records": len(evals), "deepspeed": args.deepspeed}, indent=2))
        return 0

    import torch
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig, DataCollatorForSeq2Seq, Trainer, TrainingArguments

    tokenizer = AutoTokenizer.from_pretrained(cfg["model"])
    if cfg.get("chat_template_file"):
        with open(cfg["chat_template_file"], encoding="utf-8") as f:
            tokenizer.chat_template = f.read()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token

    def rows_of(records):
        rows = [r for r in (encode(tokenizer, cfg, rec["messages"]) for rec in records) if r is not None]
        print("%d of %d records kept (max_length %d, %s)" % (len(rows), len(records), cfg["max_length"], cfg["truncation"]), file=sys.stderr)
        return pack(rows, cfg["max_length"]) if cfg["packing"] else rows

    train_rows = rows_of(train)
    eval_rows = rows_of(evals) if evals else []
    train_ds = Dataset.from_list(train_rows)
    eval_ds = Dataset.from_list(eval_rows) if eval_rows else None
    if eval_ds is None and cfg["eval_split"] > 0:
        split = train_ds.train_test_split(test_size=cfg["eval_split"], seed=cfg["seed"])
        train_ds, eval_ds = split["train"], split["test"]

    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[cfg["precision"]]
    config = AutoConfig.from_pretrained(cfg["model"])
    if cfg.get("rope_scaling"):
        config.rope_scaling = cfg["rope_scaling"]
    kwargs = {"config": config, "torch_dtype": dtype}
    quant = cfg.get("quantization")
    if quant:
        kwargs["quantization_config"] = (
            BitsAndBytesConfig(load_in_8bit=True)
            if quant == "int8"
            else BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=quant, bnb_4bit_compute_dtype=dtype, bnb_4bit_use_double_quant=True)
        )
        kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", "0"))}
    model = AutoModelForCausalLM.from_pretrained(cfg["model"], **kwargs)
    if cfg["gradient_checkpointing"]:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False
    if quant:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=cfg["gradient_checkpointing"])
    lora = cfg.get("lora")
    if lora:
        if cfg["gradient_checkpointing"]:
            model.enable_input_require_grads()
        model = get_peft_model(model, LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"], target_modules=lora["target_modules"], bias="none", task_type="CAUSAL_LM"))
        model.print_trainable_parameters()

    evaluating = eval_ds is not None
    targs = TrainingArguments(
        output_dir=cfg["output_dir"],
        per_device_train_batch_size=cfg["per_device_train_batch_size"],
        per_device_eval_batch_size=cfg["per_device_train_batch_size"],
        gradient_accumulation_steps=cfg["gradient_accumulation_steps"],
        learning_rate=cfg["learning_rate"],
        weight_decay=cfg["weight_decay"],
        lr_scheduler_type=cfg["lr_scheduler_type"],
        warmup_steps=cfg["warmup_steps"],
        num_train_epochs=cfg["num_train_epochs"],
        max_steps=cfg["max_steps"] if cfg["max_steps"] else -1,
        max_grad_norm=cfg["max_grad_norm"],
        optim=cfg["optimizer"],
        optim_args=cfg.get("optim_args"),
        bf16=cfg["precision"] == "bf16",
        fp16=cfg["precision"] == "fp16",
        seed=cfg["seed"],
        logging_steps=1,
        save_strategy="steps" if cfg["save_steps"] > 0 else "no",
        save_steps=cfg["save_steps"] if cfg["save_steps"] > 0 else 500,
        eval_strategy=("steps" if cfg["eval_steps"] > 0 else "epoch") if evaluating else "no",
        eval_steps=cfg["eval_steps"] if cfg["eval_steps"] > 0 else None,
        deepspeed=args.deepspeed,
        ddp_find_unused_parameters=False if lora else None,
        report_to="none",
    )
    trainer = Trainer(model=model, args=targs, train_dataset=train_ds, eval_dataset=eval_ds, data_collator=DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100))
    trainer.train()
    if evaluating:
        trainer.evaluate()
    final = os.path.join(cfg["output_dir"], "adapter" if lora else "model")
    trainer.save_model(final)
    tokenizer.save_pretrained(final)
    if trainer.is_world_process_zero():
        print("saved %s" % final, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
`;
