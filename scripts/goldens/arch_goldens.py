"""Goldens for the architectures of issue 25, from transformers' own classes.

Run through the driver (it writes each tiny checkpoint from its seed first):

    node --import=tsx scripts/goldens/arch-goldens.ts [arch ...]

or directly on checkpoint folders written by test/helpers/tiny-arch.ts:

    /tmp/tfenv/bin/python scripts/goldens/arch_goldens.py --out test/goldens/arch ARCH=DIR[=INFO.json] ...

Environment: transformers 5.18.0, torch 2.13.0+cpu, tokenizers 0.23.2, made with
    python3 -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install torch==2.13.0+cpu transformers==5.18.0 \
        tokenizers safetensors numpy
(add --no-index --find-links DIR for a local wheel mirror).

For each checkpoint:
  * the model is loaded with AutoModel (the base *Model class: LlamaModel, Qwen2Model, Qwen3Model,
    Gemma2Model, Gemma3TextModel, MistralModel), attn_implementation="eager", then .double();
  * sentences are tokenized by AutoTokenizer(add_special_tokens=True) and, independently, by the Rust
    `tokenizers` library on tokenizer.json (Tokenizer.from_file(...).encode(text).ids); both must agree;
  * the BiLLM forward (layers with index >= k attend bidirectionally) is a loop over transformers' own
    modules: embed_tokens (Gemma's scaled embedding included), rotary_emb (per layer type for Gemma-3),
    each decoder layer called with an explicit 4D additive float64 mask, model.norm. With k = None the
    loop must equal model(input_ids).last_hidden_state to 1e-12, which shows the loop is faithful.
  * masks (allowed(i, j), query i, key j; additive 0 / finfo(float64).min):
      causal, full layer:             j <= i                          masking_utils.causal_mask_function
      causal, sliding-window layer:   j <= i and i - j < W            masking_utils.sliding_window_overlay
                                                                      (kv_idx > q_idx - sliding_window)
      bidirectional, full layer:      every j                         masking_utils.bidirectional_mask_function
      bidirectional, sliding layer:   |i - j| < W // 2 + 1            models/gemma3/modeling_gemma3.py
                                                                      _bidirectional_window_overlay with
                                                                      configuration_gemma3.py's
                                                                      sliding_window = W // 2 + 1 under
                                                                      use_bidirectional_attention
    W is config.json's sliding_window. The bidirectional sliding rule is Gemma-3's own (transformers'
    only model-specific bidirectional+window code); it is used for Gemma-2 and Mistral too. Two other
    rules exist and are recorded beside it (`windowRules`): transformers' generic `config.is_causal =
    False` path (masking_utils.create_bidirectional_sliding_window_mask -> sliding_window_bidirectional_
    overlay: |i - j| <= W) and BiLLM's released modeling_mistral.py (bidirectional layers get
    zeros_like(mask): no window). Both transformers rules are checked against transformers' own forward
    (Gemma-3 with use_bidirectional_attention=True; the generic path with config.is_causal=False).
  * every architecture feature is flipped once (window off, soft-cap off, (1 + w) -> w, ...) and the
    change of the pooled outputs is recorded under `bites` (1 - cosine, median and max over sentences);
    each must exceed 1e-3 unless listed in NOT_REQUIRED with the reason.
"""
import argparse
import copy
import hashlib
import json
import math
import os
import platform
import statistics
import sys
import time
from contextlib import contextmanager

import numpy as np
import tokenizers
import torch
import transformers
from torch import nn
from transformers import AutoModel, AutoTokenizer
from transformers.activations import ACT2FN

torch.set_grad_enabled(False)

SENTENCES = [
    "A man is playing a guitar.",
    "\"Quoted,\" she said: 'it costs $1,234.56 in 2024!'",
    "café naïve 東京",
    "   three leading spaces, then words.",
    "The quick brown fox jumps over the lazy dog while 3 children watch from the old stone bridge near the river bank.",
    "Hi.",
]
# The sentence whose full final hidden states are stored (the longest: every window bites).
HIDDEN_SENTENCE = 4
BITE_MIN = 1e-3


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------------
# Masks


def allowed_matrix(T, bidirectional, window, rule):
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    if not bidirectional:
        ok = j <= i
        if window is not None:
            ok = ok & (i - j < window)
        return ok
    if window is None:
        return torch.ones(T, T, dtype=torch.bool)
    if rule == "gemma3":  # |i - j| < W // 2 + 1
        return (i - j).abs() < window // 2 + 1
    if rule == "generic":  # |i - j| <= W
        return (i - j).abs() <= window
    if rule == "billm":  # zeros_like(mask): no window
        return torch.ones(T, T, dtype=torch.bool)
    raise ValueError(rule)


def additive(ok):
    m = torch.zeros(ok.shape, dtype=torch.float64)
    m[~ok] = torch.finfo(torch.float64).min
    return m[None, None]


# ---------------------------------------------------------------------------------------------------
# The model's own semantics: which layers slide, and with which window


def model_type(model):
    return model.config.model_type


def sliding_layers(model):
    cfg = model.config
    L = cfg.num_hidden_layers
    if model_type(model) == "mistral":
        # MistralModel.forward: create_sliding_window_causal_mask for every layer when sliding_window is set
        return [cfg.sliding_window is not None] * L
    types = getattr(cfg, "layer_types", None) or ["full_attention"] * L
    return [t == "sliding_attention" and cfg.sliding_window is not None for t in types]


def layer_types(model):
    cfg = model.config
    return getattr(cfg, "layer_types", None) or ["full_attention"] * cfg.num_hidden_layers


def window_of(json_config):
    """W as config.json gives it (Gemma-3's use_bidirectional_attention would halve config.sliding_window)."""
    return json_config.get("sliding_window")


def rope(model, rotary, x, pos, lt):
    if model_type(model) == "gemma3_text":
        return rotary(x, pos, lt)
    return rotary(x, pos)


def loop_forward(model, ids, k, W, rule="gemma3", rotary=None, sliding=None, rope_fn=None):
    """BiLLM forward over transformers' modules; returns the final-norm hidden states [T, H]."""
    x_ids = torch.tensor([ids])
    T = len(ids)
    pos = torch.arange(T)[None]
    h = model.embed_tokens(x_ids)
    rotary = rotary or model.rotary_emb
    sliding = sliding if sliding is not None else sliding_layers(model)
    lts = layer_types(model)
    pe_cache = {}
    for li, layer in enumerate(model.layers):
        lt = lts[li]
        if lt not in pe_cache:
            pe_cache[lt] = rope_fn(h, pos, lt) if rope_fn else rope(model, rotary, h, pos, lt)
        bid = k is not None and li >= k
        mask = additive(allowed_matrix(T, bid, W if sliding[li] else None, rule))
        h = layer(h, attention_mask=mask, position_embeddings=pe_cache[lt], position_ids=pos)
    return model.norm(h)[0]


def pooled(hs):
    return hs[-1], hs.mean(0)


def one_minus_cos(a, b):
    return float(1 - torch.dot(a, b) / (a.norm() * b.norm()))


# ---------------------------------------------------------------------------------------------------
# Feature flips: each returns (model variant, loop keyword arguments)


def set_identity(model, attr_path):
    for layer in model.layers:
        obj = layer
        parts = attr_path.split(".")
        for p in parts[:-1]:
            obj = getattr(obj, p)
        setattr(obj, parts[-1], nn.Identity())


def rotary_with(model, mutate):
    cfg = copy.deepcopy(model.config)
    mutate(cfg)
    return type(model.rotary_emb)(cfg).double()


def flips_for(model, jc):
    """[(name, what, builder(model copy) -> loop kwargs)] for this architecture."""
    mt = model_type(model)
    L = model.config.num_hidden_layers
    D = model.config.head_dim if getattr(model.config, "head_dim", None) else model.config.hidden_size // model.config.num_attention_heads
    out = []

    def zero_bias(proj):
        def b(m):
            for layer in m.layers:
                getattr(layer.self_attn, proj).bias.zero_()
            return {}
        return b

    def identity(path):
        def b(m):
            set_identity(m, path)
            return {}
        return b

    def gemma_norms_plain(m):
        for mod in m.modules():
            if "RMSNorm" in type(mod).__name__:
                mod.weight.sub_(1.0)  # (1 + (w - 1)) = w: the norm as LLaMA applies its weight
        return {}

    def embed_unscaled(m):
        m.embed_tokens.embed_scale.fill_(1.0)
        return {}

    def act(name):
        def b(m):
            for layer in m.layers:
                layer.mlp.act_fn = ACT2FN[name]
            return {}
        return b

    def scaling_head_dim(m):
        for layer in m.layers:
            layer.self_attn.scaling = D ** -0.5
        return {}

    def softcap_off(m):
        for layer in m.layers:
            layer.self_attn.attn_logit_softcapping = None
        return {}

    def window_off(m):
        return {"sliding": [False] * L}

    if mt == "llama" and jc.get("rope_scaling"):
        def no_scaling(m):
            theta = m.config.rope_parameters["rope_theta"]
            def mut(cfg):
                cfg.rope_parameters = {"rope_type": "default", "rope_theta": theta}
            return {"rotary": rotary_with(m, mut)}
        out.append(("rope_scaling", "rope_type llama3 -> plain RoPE (same rope_theta)", no_scaling))
    if mt == "qwen2":
        for p in ("q_proj", "k_proj", "v_proj"):
            out.append((f"{p}.bias", f"{p} bias -> 0", zero_bias(p)))
        def trap(m):
            mw = jc["max_window_layers"]
            return {"sliding": [li >= mw for li in range(L)]}
        out.append(("use_sliding_window=false", f"sliding_window {jc['sliding_window']} applied to layers >= max_window_layers although use_sliding_window is false (what a decoder must NOT do)", trap))
    if mt in ("qwen3", "gemma3_text"):
        out.append(("q_norm", "q_norm -> identity", identity("self_attn.q_norm")))
        out.append(("k_norm", "k_norm -> identity", identity("self_attn.k_norm")))
    if mt in ("gemma2", "gemma3_text"):
        out.append(("rmsnorm_1_plus_w", "every RMSNorm (incl. q/k norm) applies w instead of 1 + w", gemma_norms_plain))
        out.append(("embed_scale", "embeddings not multiplied by sqrt(hidden_size)", embed_unscaled))
        out.append(("geglu", "GeGLU -> SwiGLU (gelu_pytorch_tanh -> silu)", act("silu")))
        out.append(("gelu_tanh", "gelu_pytorch_tanh -> exact erf GELU", act("gelu")))
        out.append(("pre_feedforward_layernorm", "pre_feedforward_layernorm -> identity", identity("pre_feedforward_layernorm")))
        out.append(("post_feedforward_layernorm", "post_feedforward_layernorm -> identity", identity("post_feedforward_layernorm")))
        out.append(("post_attention_layernorm", "post_attention_layernorm (on the attention output) -> identity", identity("post_attention_layernorm")))
        out.append(("query_pre_attn_scalar", f"attention scale query_pre_attn_scalar^-0.5 -> head_dim^-0.5 ({D})", scaling_head_dim))
        out.append(("sliding_window", "no sliding window (every layer full)", window_off))
        def swapped(m):
            s = sliding_layers(m)
            return {"sliding": [not x for x in s]}
        out.append(("layer_types", "sliding and full layers swapped", swapped))
    if mt == "gemma2":
        out.append(("attn_logit_softcapping", "attention logit soft-capping off", softcap_off))
    if mt == "gemma3_text":
        def local_base(m):
            g = m.config.rope_parameters["full_attention"]["rope_theta"]
            def mut(cfg):
                cfg.rope_parameters["sliding_attention"]["rope_theta"] = g
            return {"rotary": rotary_with(m, mut)}
        out.append(("rope_local_base_freq", "sliding layers use rope_theta instead of rope_local_base_freq", local_base))
        def no_linear(m):
            def mut(cfg):
                cfg.rope_parameters["full_attention"] = {"rope_type": "default", "rope_theta": cfg.rope_parameters["full_attention"]["rope_theta"]}
            return {"rotary": rotary_with(m, mut)}
        out.append(("rope_scaling_linear", "global layers without the linear rope_scaling", no_linear))
        def all_sliding(m):
            return {"sliding": [True] * L}
        out.append(("layer_types_default_pattern", "every layer sliding (sliding_window_pattern 6's default on 4 layers)", all_sliding))
    if mt == "mistral":
        out.append(("sliding_window", "no sliding window", window_off))
    if any(sliding_layers(model)):
        out.append(("window_rule_generic", "bidirectional sliding layers use |i-j| <= W (transformers' generic is_causal=False) instead of |i-j| < W//2+1", lambda m: {"rule": "generic"}))
        out.append(("window_rule_billm", "bidirectional sliding layers unwindowed (BiLLM's zeros_like mask) instead of |i-j| < W//2+1", lambda m: {"rule": "billm"}))
    return out


# Features whose flip cannot reach 1e-3 in 1 - cosine at any setting, with the reason.
NOT_REQUIRED = {
    "gelu_tanh": "tanh-approximate and exact GELU differ by at most ~3e-4 at any input (largest near |x| = 2), so no "
                 "weights make this exceed 1e-3; recorded to show its size relative to the 1e-5 test tolerance",
}


# ---------------------------------------------------------------------------------------------------
# float64 everywhere (transformers computes RoPE angles/cos/sin and the attention softmax in float32)


@contextmanager
def float64_softmax():
    orig = nn.functional.softmax

    def sm(x, dim=None, _stacklevel=3, dtype=None):
        if x.dtype == torch.float64:
            dtype = None
        return orig(x, dim=dim, dtype=dtype)

    nn.functional.softmax = sm
    try:
        yield
    finally:
        nn.functional.softmax = orig


def rope64(model):
    rot = model.rotary_emb

    def fn(x, pos, lt):
        if model_type(model) == "gemma3_text":
            inv = getattr(rot, f"{lt}_inv_freq").double()
            sc = getattr(rot, f"{lt}_attention_scaling")
        else:
            inv = rot.inv_freq.double()
            sc = rot.attention_scaling
        freqs = pos[0].double()[:, None] * inv[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        return (emb.cos() * sc)[None], (emb.sin() * sc)[None]

    return fn


# ---------------------------------------------------------------------------------------------------
# Independent float64 inverse frequencies (numpy), from modeling_rope_utils' formulas


def inv_freq_numpy(rp, head_dim):
    base = rp["rope_theta"]
    inv = 1.0 / (base ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))
    t = rp.get("rope_type", "default")
    regions = None
    if t == "linear":
        inv = inv / rp["factor"]
    elif t == "llama3":
        factor, lo, hi, old = rp["factor"], rp["low_freq_factor"], rp["high_freq_factor"], rp["original_max_position_embeddings"]
        lo_wl, hi_wl = old / lo, old / hi
        wl = 2 * math.pi / inv
        out = np.where(wl > lo_wl, inv / factor, inv)
        smooth = (old / wl - lo) / (hi - lo)
        sm = (1 - smooth) * out / factor + smooth * out
        mid = ~(wl < hi_wl) & ~(wl > lo_wl)
        inv = np.where(mid, sm, out)
        regions = {"regions": ["kept" if w < hi_wl else "divided" if w > lo_wl else "smoothed" for w in wl],
                   "wavelengthsBeforeScaling": wl.tolist(), "keptBelow": hi_wl, "dividedAbove": lo_wl}
    elif t != "default":
        raise ValueError(t)
    return inv, regions


# ---------------------------------------------------------------------------------------------------


def run_arch(arch, folder, info, out_dir):
    t0 = time.time()
    lap = [t0]

    def phase(name):
        now = time.time()
        print(f"  {arch}: {name} {now - lap[0]:.1f} s", flush=True)
        lap[0] = now

    jc = json.load(open(os.path.join(folder, "config.json")))
    tok = AutoTokenizer.from_pretrained(folder)
    rust = tokenizers.Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    auto_ids = [tok(s, add_special_tokens=True)["input_ids"] for s in SENTENCES]
    # The ids of record: the Rust `tokenizers` on tokenizer.json (special tokens per its post-processor).
    # transformers 5.18's AutoTokenizer is recorded beside them: on the LLaMA-2 tokenizer it drops one
    # space of a run of leading spaces (SentencePiece and tokenizers do not).
    ids = [rust.encode(s).ids for s in SENTENCES]
    auto_differs = [i for i in range(len(SENTENCES)) if auto_ids[i] != ids[i]]
    if auto_differs:
        print(f"  {arch}: AutoTokenizer differs from tokenizers on sentences {auto_differs}", flush=True)

    phase("tokenizers")
    model = AutoModel.from_pretrained(folder, attn_implementation="eager", dtype=torch.float32).double().eval()
    cfg = model.config
    L = cfg.num_hidden_layers
    W = window_of(jc)
    ks = [None, 0, L // 2, L - 1]

    phase("load")
    # the loop is faithful: k = None equals transformers' own forward
    faithful = 0.0
    for s in ids:
        ref = model(torch.tensor([s])).last_hidden_state[0]
        faithful = max(faithful, float((loop_forward(model, s, None, W) - ref).abs().max()))
    assert faithful <= 1e-12, f"{arch}: the loop differs from model() by {faithful}"

    phase("faithful")
    # the bidirectional rules against transformers' own bidirectional code paths
    own_checks = []
    # generic: config.is_causal = False (masking_utils "power feature"): all layers bidirectional
    if True:
        generic = copy.deepcopy(model)
        generic.config.is_causal = False
        d = max(float((generic(torch.tensor([s])).last_hidden_state[0] - loop_forward(model, s, 0, W, rule="generic")).abs().max()) for s in ids)
        own_checks.append({"transformers": "config.is_causal = False (masking_utils.create_causal_mask / create_bidirectional_sliding_window_mask)",
                           "equalsLoop": "k = 0, rule |i-j| <= W on sliding layers", "maxAbsDiff": d})
        assert d <= 1e-12, f"{arch}: generic bidirectional rule differs from transformers by {d}"
    if model_type(model) == "gemma3_text":
        # from the dict, so __post_init__ sees the flag (keyword arguments to from_pretrained are set after it)
        bcfg = type(cfg).from_dict({**jc, "use_bidirectional_attention": True})
        assert bcfg.sliding_window == W // 2 + 1, (bcfg.sliding_window, W)
        bmodel = AutoModel.from_pretrained(folder, config=bcfg, attn_implementation="eager", dtype=torch.float32).double().eval()
        d = max(float((bmodel(torch.tensor([s])).last_hidden_state[0] - loop_forward(model, s, 0, W, rule="gemma3")).abs().max()) for s in ids)
        own_checks.append({"transformers": "Gemma3TextModel with use_bidirectional_attention=True (config.sliding_window becomes W//2+1 = %d)" % bcfg.sliding_window,
                           "equalsLoop": "k = 0, rule |i-j| < W//2+1 on sliding layers", "maxAbsDiff": d})
        assert d <= 1e-12, f"{arch}: Gemma-3 bidirectional rule differs from transformers by {d}"

    phase("own checks")
    # goldens
    cases = []
    hidden = []
    finals = {}
    for k in ks:
        last, avg = [], []
        for si, s in enumerate(ids):
            hs = loop_forward(model, s, k, W)
            finals[(k, si)] = hs
            a, b = pooled(hs)
            last.append(a.tolist())
            avg.append(b.tolist())
            if si == HIDDEN_SENTENCE:
                hidden.append({"billmStartIndex": k, "final": hs.tolist()})
        cases.append({"billmStartIndex": k, "pooling": {"last": last, "avg": avg}})

    phase("cases")
    # float32 internals of transformers (RoPE angles, softmax) vs float64 everywhere
    prec_cos, prec_rel = 0.0, 0.0
    with float64_softmax():
        for k in ks:
            for si, s in enumerate(ids):
                hs64 = loop_forward(model, s, k, W, rope_fn=rope64(model))
                hs = finals[(k, si)]
                for a, b in zip(pooled(hs), pooled(hs64)):
                    prec_cos = max(prec_cos, one_minus_cos(a, b))
                    prec_rel = max(prec_rel, float((a - b).abs().max() / b.abs().max()))

    phase("precision")
    # alternative window rules (recorded, not the goldens)
    window_rules = None
    if any(sliding_layers(model)):
        alt = {}
        for rule in ("generic", "billm"):
            alt[rule] = []
            # only where a sliding layer is bidirectional (index >= k): elsewhere the rules coincide
            for k in [k for k in ks[1:] if any(sliding_layers(model)[k:])]:
                last, avg = [], []
                for s in ids:
                    a, b = pooled(loop_forward(model, s, k, W, rule=rule))
                    last.append(a.tolist())
                    avg.append(b.tolist())
                alt[rule].append({"billmStartIndex": k, "pooling": {"last": last, "avg": avg}})
        window_rules = {
            "W": W,
            "used": "gemma3",
            "rules": {
                "causal": "j <= i and i - j < W  (masking_utils.sliding_window_overlay: kv_idx > q_idx - sliding_window, "
                          "and causal_mask_function: kv_idx <= q_idx; create_sliding_window_causal_mask)",
                "gemma3": "|i - j| < W // 2 + 1  (models/gemma3/modeling_gemma3.py _bidirectional_window_overlay: abs(q_idx - kv_idx) "
                          "< sliding_window, with configuration_gemma3.py Gemma3TextConfig.__post_init__: sliding_window = "
                          "(sliding_window // 2) + 1 if use_bidirectional_attention); the goldens use this",
                "generic": "|i - j| <= W  (masking_utils.create_bidirectional_sliding_window_mask -> "
                           "sliding_window_bidirectional_overlay: abs(q_idx - kv_idx) <= sliding_window; reached by any model "
                           "whose config has is_causal = False)",
                "billm": "no window  (WhereIsAI/BiLLM src/billm/modeling_mistral.py at 4485160f: bidirectional layers get "
                         "torch.zeros_like(attention_mask))",
            },
            "allowedCount": {r: {str(T): int(allowed_matrix(T, True, W, r).sum()) for T in (len(ids[HIDDEN_SENTENCE]),)} for r in ("gemma3", "generic", "billm")},
            "alternatives": alt,
            "transformersChecks": own_checks,
        }

    phase("window rules")
    # feature bites
    bites = []
    for name, what, build in flips_for(model, jc):
        m2 = copy.deepcopy(model)
        kw = build(m2)
        rule = kw.pop("rule", "gemma3")
        per_k = []
        for k in ks:
            if rule != "gemma3" and k is None:
                continue
            lc, ac = [], []
            for si, s in enumerate(ids):
                a, b = pooled(loop_forward(m2, s, k, W, rule=rule, **kw))
                a0, b0 = pooled(finals[(k, si)])
                lc.append(one_minus_cos(a, a0))
                ac.append(one_minus_cos(b, b0))
            per_k.append({"billmStartIndex": k, "lastMedian": statistics.median(lc), "lastMax": max(lc),
                          "avgMedian": statistics.median(ac), "avgMax": max(ac)})
        bite = max(x["lastMedian"] for x in per_k)
        ok = bite > BITE_MIN
        bites.append({"feature": name, "flip": what, "bite": bite, "bites": ok, **({"notRequired": NOT_REQUIRED[name]} if name in NOT_REQUIRED else {}), "perK": per_k})
        print(f"  {arch:12s} {name:30s} bite {bite:.3e} {'ok' if ok else ('(not required)' if name in NOT_REQUIRED else 'DOES NOT BITE')}", flush=True)

    phase("bites")
    # RoPE inverse frequencies and attention scaling
    rot = model.rotary_emb
    D = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    rope_out = {}
    for lt in sorted(set(layer_types(model))):
        if model_type(model) == "gemma3_text":
            inv = getattr(rot, f"{lt}_inv_freq")
            sc = getattr(rot, f"{lt}_attention_scaling")
            rp = cfg.rope_parameters[lt]
        else:
            inv, sc = rot.inv_freq, rot.attention_scaling
            rp = cfg.rope_parameters
        inv_np, regions = inv_freq_numpy(rp, D)
        inv64 = inv.double().numpy()
        rope_out[lt] = {
            "ropeParameters": rp,
            "invFreq": inv64.tolist(),
            "invFreqFloat64": inv_np.tolist(),
            "maxRelDiff": float(np.max(np.abs(inv64 - inv_np) / inv_np)),
            "attentionScaling": sc,
            **({"llama3Regions": regions["regions"], "llama3": regions} if regions else {}),
        }
    attn0 = model.layers[0].self_attn
    attention = {
        "scaling": attn0.scaling,
        "scalingIs": "query_pre_attn_scalar ** -0.5" if hasattr(cfg, "query_pre_attn_scalar") else "head_dim ** -0.5",
        "headDim": D,
        "attnLogitSoftcapping": getattr(attn0, "attn_logit_softcapping", None),
        "finalLogitSoftcapping": getattr(cfg, "final_logit_softcapping", None),
        "finalLogitSoftcappingNote": "applies to lm_head logits only; no effect on hidden states or embeddings" if getattr(cfg, "final_logit_softcapping", None) else None,
        "embedScale": float(model.embed_tokens.embed_scale) if hasattr(model.embed_tokens, "embed_scale") else 1.0,
    }

    v5_config = json.loads(cfg.to_json_string(use_diff=True))
    bos = tok.bos_token_id
    golden = {
        "arch": arch,
        "generatedBy": "scripts/goldens/arch-goldens.ts -> scripts/goldens/arch_goldens.py",
        "checkpoint": {
            "helper": "test/helpers/tiny-arch.ts writeTinyArch",
            "seed": info.get("seed"),
            "mirrors": info.get("mirrors"),
            "tokenizerSource": info.get("tokenizerSource"),
            "sha256": {"config.json": sha256(os.path.join(folder, "config.json")),
                       "model.safetensors": sha256(os.path.join(folder, "model.safetensors"))},
            "tokenizerSha256": {f: sha256(os.path.join(folder, f)) for f in sorted(os.listdir(folder)) if f.startswith("tokenizer")},
        },
        "reference": {
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "tokenizers": tokenizers.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "modelClass": type(model).__name__,
            "attnImplementation": "eager",
            "dtype": "float64 (.double() after loading the F32 weights); transformers itself computes RoPE cos/sin and the attention softmax in float32",
            "loopEqualsModelMaxAbsDiff": faithful,
            "float32InternalsEffect": {"max1MinusCos": prec_cos, "maxRelErr": prec_rel,
                                       "what": "pooled outputs of transformers' modules vs the same with RoPE and softmax in float64"},
            "configAsTransformersSavesIt": v5_config,
        },
        "tokenizer": {
            "how": "tokenizers.Tokenizer.from_file(tokenizer.json).encode(text).ids (add_special_tokens=True: the file's post-processor decides BOS)",
            "autoTokenizer": {"class": type(tok).__name__, "call": "AutoTokenizer.from_pretrained(dir)(text, add_special_tokens=True)",
                              "differsOn": auto_differs, "ids": {str(i): auto_ids[i] for i in auto_differs}},
            "bosTokenId": bos,
            "bosPrepended": [bool(bos is not None and len(x) > 0 and x[0] == bos) for x in ids],
        },
        "sentences": SENTENCES,
        "inputIds": ids,
        "numLayers": L,
        "layerTypes": layer_types(model),
        "slidingLayers": sliding_layers(model),
        "slidingWindow": W,
        "masks": {
            "causal": "j <= i",
            "causalSliding": "j <= i and i - j < W",
            "bidirectional": "all j (no padding: one sequence at a time)",
            "bidirectionalSliding": "|i - j| < W // 2 + 1 (Gemma-3's use_bidirectional_attention rule, transformers %s)" % transformers.__version__,
            "billmStartIndex": "layers with index >= k are bidirectional; null = all causal",
        },
        "attention": attention,
        "rope": rope_out,
        "cases": cases,
        "hiddenStates": {"sentence": HIDDEN_SENTENCE, "cases": hidden},
        "windowRules": window_rules,
        "bites": bites,
        "biteThreshold": BITE_MIN,
    }
    seconds = round(time.time() - t0, 1)
    path = os.path.join(out_dir, f"{arch}.json")
    with open(path, "w") as f:
        json.dump(golden, f, indent=None, separators=(",", ":"))
        f.write("\n")
    failing = [b["feature"] for b in bites if not b["bites"] and b["feature"] not in NOT_REQUIRED]
    print(f"{arch}: {path} ({os.path.getsize(path) // 1024} KB, {seconds} s); loop vs model {faithful:.1e}; "
          f"float32 internals 1-cos {prec_cos:.1e}; ids {[len(x) for x in ids]}" + (f"; NOT BITING: {failing}" if failing else ""), flush=True)
    return failing


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("checkpoints", nargs="+", help="ARCH=DIR[=INFO.json]")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    bad = {}
    for spec in a.checkpoints:
        parts = spec.split("=")
        arch, folder = parts[0], parts[1]
        info = json.load(open(parts[2])) if len(parts) > 2 else {}
        failing = run_arch(arch, folder, info, a.out)
        if failing:
            bad[arch] = failing
    if bad:
        print(f"features that do not bite: {bad}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
