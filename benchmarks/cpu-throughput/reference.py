#!/usr/bin/python3
"""PyTorch eager peer of bench.ts: the same LLaMA forward on the same weights and token batches.

Run by bench.ts (not by hand) as a line-oriented server, so that both sides can be timed in
alternating chunks on a machine whose background load changes:

    /usr/bin/python3 benchmarks/cpu-throughput/reference.py WORKDIR

WORKDIR holds weights.bin (raw little-endian float32), weights.json ({config, tensors: [{name,
shape, offset}]}) and batches.json ({batches: [[ids, ...], ...], billmStartIndex}), written by
bench.ts. Commands, one JSON object per line on stdin, one JSON reply per line on stdout:
    {"cmd": "info"}                                 versions and threads
    {"cmd": "threads", "n": 2}                      torch.set_num_threads(n)
    {"cmd": "run", "batches": [0, 5], "out": "f"}   forward each batch; seconds; optionally writes
                                                    the pooled embeddings (float32, batch order) to WORKDIR/f
    {"cmd": "sgemm", "M": 1024, "K": 768, "O": 2048, "reps": 20}   torch.mm GFLOP/s of x W^T
    {"cmd": "quit"}

The forward (Hugging Face LLaMA semantics): RMSNorm x * rsqrt(mean(x^2) + eps) * w; RoPE with
rotate_half, angles computed in float64 then rounded to float32 (as the CPU backend does);
GQA attention with repeat_interleave of the KV heads, causal mask in layers below billmStartIndex,
bidirectional at and above it, padding keys always masked; SwiGLU; final RMSNorm; the last
non-padding token's vector. Batches are right-padded to their longest sequence (pad id 0).
Debian's python3-torch (1.13) lives under /usr/bin/python3, not under a pyenv python.
"""
import json
import math
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def load(workdir):
    meta = json.load(open(os.path.join(workdir, "weights.json")))
    flat = torch.from_numpy(np.fromfile(os.path.join(workdir, "weights.bin"), dtype="<f4"))
    w = {}
    for t in meta["tensors"]:
        n = math.prod(t["shape"])
        w[t["name"]] = flat[t["offset"]:t["offset"] + n].view(*t["shape"])
    b = json.load(open(os.path.join(workdir, "batches.json")))
    return meta["config"], w, b["batches"], b["billmStartIndex"]


class Llama:
    def __init__(self, config, w):
        self.c = config
        self.w = w
        self.L = config["num_hidden_layers"]
        self.nH = config["num_attention_heads"]
        self.nKV = config["num_key_value_heads"]
        self.D = config["head_dim"]
        self.eps = config["rms_norm_eps"]
        half = self.D // 2
        self.inv_freq = 1.0 / (config["rope_theta"] ** (torch.arange(0, half, dtype=torch.float64) * 2 / self.D))

    def rms(self, x, weight):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * weight

    @staticmethod
    def rotate_half(x):
        h = x.shape[-1] // 2
        return torch.cat((-x[..., h:], x[..., :h]), dim=-1)

    def forward(self, ids, lengths, k_bidir):
        B, T = ids.shape
        nH, nKV, D = self.nH, self.nKV, self.D
        pos = torch.arange(T, dtype=torch.float64)
        freqs = pos[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos = emb.cos().float()[None, None]  # [1, 1, T, D]
        sin = emb.sin().float()[None, None]
        key_ok = torch.arange(T)[None, :] < lengths[:, None]                    # [B, T]
        causal = torch.ones(T, T, dtype=torch.bool).tril()                       # [T, T]
        mask_causal = torch.zeros(B, 1, T, T).masked_fill(~(causal[None, None] & key_ok[:, None, None, :]), float("-inf"))
        mask_bidir = torch.zeros(B, 1, T, T).masked_fill(~key_ok[:, None, None, :], float("-inf"))
        h = self.w["model.embed_tokens.weight"][ids]                              # [B, T, H]
        for l in range(self.L):
            p = f"model.layers.{l}."
            x = self.rms(h, self.w[p + "input_layernorm.weight"])
            q = F.linear(x, self.w[p + "self_attn.q_proj.weight"]).view(B, T, nH, D).transpose(1, 2)
            k = F.linear(x, self.w[p + "self_attn.k_proj.weight"]).view(B, T, nKV, D).transpose(1, 2)
            v = F.linear(x, self.w[p + "self_attn.v_proj.weight"]).view(B, T, nKV, D).transpose(1, 2)
            q = q * cos + self.rotate_half(q) * sin
            k = k * cos + self.rotate_half(k) * sin
            if nKV != nH:
                k = k.repeat_interleave(nH // nKV, dim=1)
                v = v.repeat_interleave(nH // nKV, dim=1)
            bidir = k_bidir is not None and l >= k_bidir
            s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(D) + (mask_bidir if bidir else mask_causal)
            a = torch.matmul(torch.softmax(s, dim=-1), v).transpose(1, 2).reshape(B, T, nH * D)
            h = h + F.linear(a, self.w[p + "self_attn.o_proj.weight"])
            x = self.rms(h, self.w[p + "post_attention_layernorm.weight"])
            g = F.linear(x, self.w[p + "mlp.gate_proj.weight"])
            u = F.linear(x, self.w[p + "mlp.up_proj.weight"])
            h = h + F.linear(F.silu(g) * u, self.w[p + "mlp.down_proj.weight"])
        f = self.rms(h, self.w["model.norm.weight"])
        return f[torch.arange(B), lengths - 1]


def padded(batch):
    T = max(len(s) for s in batch)
    ids = torch.zeros(len(batch), T, dtype=torch.long)
    for i, s in enumerate(batch):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return ids, torch.tensor([len(s) for s in batch], dtype=torch.long)


def main():
    workdir = sys.argv[1]
    config, w, batches, k_bidir = load(workdir)
    model = Llama(config, w)
    inputs = [padded(b) for b in batches]  # tensors built once, outside any timing
    reply = lambda o: (sys.stdout.write(json.dumps(o) + "\n"), sys.stdout.flush())
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        c = cmd["cmd"]
        if c == "quit":
            reply({"ok": True})
            return
        if c == "info":
            reply({
                "torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version(),
                "threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
                "blas": "BLAS_INFO=" + next((s.split("=")[1].rstrip(",") for s in torch.__config__.show().split() if s.startswith("BLAS_INFO=")), "?"),
                "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
            })
        elif c == "threads":
            torch.set_num_threads(int(cmd["n"]))
            reply({"threads": torch.get_num_threads()})
        elif c == "run":
            outs = []
            with torch.inference_mode():
                t0 = time.perf_counter()
                for i in cmd["batches"]:
                    ids, lengths = inputs[i]
                    outs.append(model.forward(ids, lengths, k_bidir))
                dt = time.perf_counter() - t0
            if cmd.get("out"):
                torch.cat(outs).numpy().astype("<f4").tofile(os.path.join(workdir, cmd["out"]))
            reply({"seconds": dt})
        elif c == "sgemm":
            M, K, O, reps = cmd["M"], cmd["K"], cmd["O"], cmd["reps"]
            gen = torch.Generator().manual_seed(0)
            x = torch.rand(M, K, generator=gen)
            wt = torch.rand(O, K, generator=gen)
            with torch.inference_mode():
                for _ in range(3):
                    torch.mm(x, wt.t())
                t0 = time.perf_counter()
                for _ in range(reps):
                    torch.mm(x, wt.t())
                dt = time.perf_counter() - t0
            reply({"gflops": 2 * M * K * O * reps / dt / 1e9, "seconds": dt})
        else:
            reply({"error": f"unknown command {c}"})


if __name__ == "__main__":
    main()
