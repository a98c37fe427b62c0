#!/usr/bin/env python3
"""PyTorch peer of benchmarks/sts-throughput/bench.ts: transformers' LlamaModel built from the same
config, random bf16 weights (transformers' own init: N(0, 0.02^2), RMSNorm weights 1), SDPA attention,
the same token ids and the same batches, which bench.ts writes to a workload file:

    {"config": {HF LlamaConfig fields}, "billmStartIndex": k | null, "ids": [[...], ...],
     "modes": [{"mode": "dataset16", "batches": [[sentence indices], ...], "usefulFlops": F}, ...],
     "warmup": 2,
     "sweep": null | {"ks": [0, ..., L], "batches": [[sentence indices], ...], "usefulFlops": F}}

Each batch is right-padded with id 0 (attention_mask 1 on real tokens, positions 0..T-1 as in bellm's
packing), run under torch.inference_mode(), and the last real token's final hidden state is copied to the
host, like bellm's pooled download. With billmStartIndex k, layers >= k attend bidirectionally to the
real tokens (BeLLM; padding stays masked), by handing those layers a [B, 1, T, T] boolean mask.
With "sweep", the same model is then evaluated once per k in "ks" over the sweep's batches: L + 1
independent evaluations, each what one run of a BeLLM-style script with that k costs.

    python3 benchmarks/sts-throughput/reference.py --workload workload.json --out torch-results.json

Needs torch with CUDA and transformers >= 4.48 (the attention-interface layout); tested by reading only.
Prints one line per mode to stderr and writes {"info": {...}, "results": [...]} with bench.ts's fields.
"""
import argparse
import json
import sys
import time

import torch
import transformers
from transformers import LlamaConfig, LlamaModel


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def build_model(c, device, dtype=torch.bfloat16):
    config = LlamaConfig(
        vocab_size=c["vocab_size"], hidden_size=c["hidden_size"], intermediate_size=c["intermediate_size"],
        num_hidden_layers=c["num_hidden_layers"], num_attention_heads=c["num_attention_heads"],
        num_key_value_heads=c["num_key_value_heads"], head_dim=c["head_dim"], rms_norm_eps=c["rms_norm_eps"],
        rope_theta=c["rope_theta"], max_position_embeddings=c["max_position_embeddings"],
        bos_token_id=c["bos_token_id"], pad_token_id=c["pad_token_id"] if c["pad_token_id"] is not None else 0,
        initializer_range=0.02, use_cache=False,
    )
    torch.manual_seed(0)
    with torch.device(device):
        try:  # transformers 5: dtype=
            model = LlamaModel._from_config(config, attn_implementation="sdpa", dtype=dtype)
        except TypeError:  # transformers 4.x: torch_dtype=
            model = LlamaModel._from_config(config, attn_implementation="sdpa", torch_dtype=dtype)
    model.eval()
    if next(model.parameters()).dtype != dtype:
        model = model.to(dtype)
    return model


STATE = {"bidir_mask": None, "k": None}


def make_switchable(model):
    """Layers with index >= STATE["k"]: the (causal + padding) mask is replaced by a padding-only mask
    (BeLLM, correct masking). STATE["k"] None (or >= L) leaves every layer causal."""
    for i, layer in enumerate(model.layers):
        attn = layer.self_attn
        orig = attn.forward

        def forward(*a, _orig=orig, _i=i, **kw):
            k = STATE["k"]
            if k is None or _i < k:
                return _orig(*a, **kw)
            if "attention_mask" not in kw:
                raise RuntimeError("this transformers version passes attention_mask positionally; "
                                   "run bench.ts with --billm none for a causal-only comparison")
            kw["attention_mask"] = STATE["bidir_mask"]
            return _orig(*a, **kw)

        attn.forward = forward


def run_batch(model, ids, batch, device, pad_id, bidirectional):
    seqs = [ids[i] for i in batch]
    T = max(len(s) for s in seqs)
    input_ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), T), dtype=torch.long)
    for r, s in enumerate(seqs):
        input_ids[r, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[r, : len(s)] = 1
    input_ids = input_ids.to(device, non_blocking=True)
    mask = mask.to(device, non_blocking=True)
    if bidirectional:
        STATE["bidir_mask"] = mask.bool()[:, None, None, :].expand(len(seqs), 1, T, T)
    out = model(input_ids=input_ids, attention_mask=mask, use_cache=False).last_hidden_state
    last = mask.sum(dim=1) - 1
    pooled = out[torch.arange(len(seqs), device=device), last].float().cpu()  # synchronizes, like bellm's download
    return pooled, len(seqs) * T


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workload", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cuda")
    a = ap.parse_args()

    w = json.load(open(a.workload))
    c, k, ids = w["config"], w["billmStartIndex"], w["ids"]
    if not torch.cuda.is_available():
        sys.exit("reference.py: torch.cuda.is_available() is False")
    dev = torch.device(a.device)
    t0 = time.perf_counter()
    # bench.ts --precision fp16 times both in fp16 (BeLLM's README evaluates in fp16); else bf16
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[w.get("dtype", "bf16")]
    model = build_model(c, dev, dtype)
    torch.cuda.synchronize()
    log(f"reference.py: torch {torch.__version__} (CUDA {torch.version.cuda}), transformers {transformers.__version__}, "
        f"{torch.cuda.get_device_name(dev)}; model built in {time.perf_counter() - t0:.1f} s, "
        f"{torch.cuda.memory_allocated(dev) / 2**30:.2f} GiB")
    make_switchable(model)
    L = c["num_hidden_layers"]
    STATE["k"] = k
    bidirectional = k is not None and k < L
    pad_id = c["pad_token_id"] if c["pad_token_id"] is not None else 0
    lengths = [len(s) for s in ids]
    tokens = sum(lengths)
    results = []
    with torch.inference_mode():
        for m in w["modes"]:
            batches = m["batches"]
            for b in batches[: min(w.get("warmup", 2), len(batches))]:
                run_batch(model, ids, b, dev, pad_id, bidirectional)
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats(dev)
            padded = 0
            t0 = time.perf_counter()
            for b in batches:
                _, p = run_batch(model, ids, b, dev, pad_id, bidirectional)
                padded += p
            torch.cuda.synchronize()
            s = time.perf_counter() - t0
            r = {
                "mode": m["mode"], "batches": len(batches), "sentences": len(ids), "tokens": tokens, "paddedTokens": padded,
                "seconds": s, "sentencesPerSec": len(ids) / s, "tokensPerSec": tokens / s,
                "usefulTflops": m["usefulFlops"] / s / 1e12, "peakMemoryGiB": torch.cuda.max_memory_allocated(dev) / 2**30,
            }
            results.append(r)
            log(f"reference.py {m['mode']}: {s:.2f} s, {r['sentencesPerSec']:.0f} sentences/s, {r['usefulTflops']:.1f} useful TFLOP/s, "
                f"peak {r['peakMemoryGiB']:.2f} GiB, padding +{100 * (padded - tokens) / tokens:.1f}%")
        sweep = w.get("sweep")
        if sweep:
            batches = sweep["batches"]
            n = sum(len(b) for b in batches)
            STATE["k"] = 0
            run_batch(model, ids, batches[-1], dev, pad_id, True)  # warm-up: the shortest batch
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats(dev)
            per_k = []
            t_all = time.perf_counter()
            for kk in sweep["ks"]:
                STATE["k"] = kk
                t0 = time.perf_counter()
                for b in batches:
                    run_batch(model, ids, b, dev, pad_id, kk < L)
                torch.cuda.synchronize()
                per_k.append({"k": kk, "seconds": time.perf_counter() - t0})
            s = time.perf_counter() - t_all
            sweep_result = {"seconds": s, "usefulTflops": sweep["usefulFlops"] / s / 1e12,
                            "peakMemoryGiB": torch.cuda.max_memory_allocated(dev) / 2**30, "perK": per_k}
            log(f"reference.py sweep: {len(sweep['ks'])} independent evaluations of {n} sentences: {s:.2f} s "
                f"({min(p['seconds'] for p in per_k):.2f}..{max(p['seconds'] for p in per_k):.2f} s each)")
        else:
            sweep_result = None
    info = {"torch": torch.__version__, "cuda": torch.version.cuda, "transformers": transformers.__version__,
            "device": torch.cuda.get_device_name(dev), "attention": "sdpa"}
    json.dump({"info": info, "results": results, "sweep": sweep_result}, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
