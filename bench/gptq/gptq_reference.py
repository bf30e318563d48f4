#!/usr/bin/env python3
"""GPTQ in PyTorch (CPU, one thread): the reference side of bench/run-gptq.sh.

A transcription of Algorithm 1 of Frantar et al. 2022 ("GPTQ: Accurate Post-Training Quantization for Generative
Pre-trained Transformers") with lazy batch updates, written for this benchmark. Layout as in the paper: W is
out x in (the transpose of the ONNX [K, N] weight), column i = input feature i.

    dead inputs:  H_ii = 0 -> H_ii = 1, W[:, i] = 0
    act-order:    columns by descending diag(H) (stable sort); static groups: every group's (scale, zero) from
                  the original-order columns before the loop; the permutation undone at the end
    damping:      H += percdamp * mean(diag H) * I
    Hinv = cholesky(cholesky_inverse(cholesky(H)), upper=True)      # upper Cholesky factor of H^-1
    for each block of B = max(128, group) columns [i1, i2):
        for i in block:
            (no act-order) at a group's first column: its params from the block's current columns
            q = quant(W1[:, i]);  err = (W1[:, i] - q) / Hinv[i, i]
            W1[:, i:] -= err (x) Hinv[i, i:]                         # error feedback inside the block
        W[:, i2:] -= Err1 @ Hinv[i1:i2, i2:]                         # lazy batch update

Quantization grid (the same definition as quantflow's BlockQuantGrid; groups of `group` input features):
    asymmetric: lo = min(0, min w), hi = max(0, max w), scale = (hi - lo) / maxq, zero = clamp(round(-lo / scale))
    symmetric:  scale = max|w| / (2^(b-1) - 1), zero = 2^(b-1);  scale = 1 where it would be 0
    q = clamp(round(w / scale) + zero, 0, maxq),  dequantized = scale * (q - zero)          (float32)

Input directory: config.json {bits, group_size, symmetric, act_order, percdamp, layers: [name, ...]} and
<name>.npz with W (float32 [K, N]) and H (float64 [K, K]). Output directory: <name>.npz with Q (float32 [K, N],
the dequantized weights) and times.json {name: seconds}. Time per layer: the quantization of that layer from the
in-memory W and H (tensor conversion included, file I/O excluded); one untimed warm-up run of the first layer first.
"""
import json
import os
import sys
import time

import numpy as np
import torch


def find_params(w, bits, symmetric):
    """w: [rows, cols] float32; params per row over its cols."""
    maxq = 2 ** bits - 1
    zero_t = torch.zeros(w.shape[0], dtype=w.dtype)
    lo = torch.minimum(w.min(dim=1).values, zero_t)
    hi = torch.maximum(w.max(dim=1).values, zero_t)
    if symmetric:
        amax = torch.maximum(-lo, hi)
        scale = amax / (2 ** (bits - 1) - 1)
        scale[scale == 0] = 1
        zero = torch.full_like(scale, 2 ** (bits - 1))
    else:
        scale = (hi - lo) / maxq
        scale[scale == 0] = 1
        zero = torch.clamp(torch.round(-lo / scale), 0, maxq)
    return scale, zero


def quantize(x, scale, zero, maxq):
    q = torch.clamp(torch.round(x / scale) + zero, 0, maxq)
    return scale * (q - zero)


def gptq(w_kn, h, bits, group, symmetric, act_order, percdamp):
    W = torch.from_numpy(w_kn).t().contiguous().float()  # N x K
    H = torch.from_numpy(h).float()
    K = W.shape[1]
    maxq = 2 ** bits - 1
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    n_groups = (K + group - 1) // group
    static = None
    perm = None
    if act_order:
        static = [find_params(W[:, g * group:min(K, (g + 1) * group)], bits, symmetric) for g in range(n_groups)]
        perm = torch.sort(-torch.diag(H), stable=True).indices
        W = W[:, perm]
        H = H[perm][:, perm]
    damp = percdamp * torch.mean(torch.diag(H))
    H[range(K), range(K)] += damp
    Hinv = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)
    Q = torch.zeros_like(W)
    B = max(128, group)
    scale = zero = None
    for i1 in range(0, K, B):
        i2 = min(i1 + B, K)
        count = i2 - i1
        W1 = W[:, i1:i2].clone()
        Q1 = torch.zeros_like(W1)
        Err1 = torch.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        for i in range(count):
            col = i1 + i
            if act_order:
                scale, zero = static[int(perm[col]) // group]
            elif col % group == 0:
                scale, zero = find_params(W1[:, i:i + group], bits, symmetric)
            w = W1[:, i]
            d = Hinv1[i, i]
            q = quantize(w, scale, zero, maxq)
            Q1[:, i] = q
            err = (w - q) / d
            W1[:, i:] -= err.unsqueeze(1).matmul(Hinv1[i, i:].unsqueeze(0))
            Err1[:, i] = err
        Q[:, i1:i2] = Q1
        W[:, i2:] -= Err1.matmul(Hinv[i1:i2, i2:])
    if act_order:
        Q = Q[:, torch.argsort(perm)]
    return Q.t().contiguous().numpy()


def main():
    if len(sys.argv) != 3:
        print("usage: gptq_reference.py IN_DIR OUT_DIR", file=sys.stderr)
        sys.exit(2)
    src, dst = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    with open(os.path.join(src, "config.json")) as f:
        cfg = json.load(f)
    os.makedirs(dst, exist_ok=True)
    args = (cfg["bits"], cfg["group_size"], cfg["symmetric"], cfg["act_order"], cfg["percdamp"])
    layers = []
    for name in cfg["layers"]:
        with np.load(os.path.join(src, name + ".npz")) as z:
            layers.append((name, z["W"].astype(np.float32), z["H"].astype(np.float64)))
    gptq(layers[0][1], layers[0][2], *args)  # warm-up, not timed
    wall = {}
    cpu = {}
    for rep in range(int(cfg.get("repeats", 1))):
        for name, w, h in layers:
            t0 = time.perf_counter()
            c0 = time.thread_time()
            q = gptq(w, h, *args)
            c1 = time.thread_time()
            t1 = time.perf_counter()
            wall[name] = min(wall.get(name, float("inf")), t1 - t0)
            cpu[name] = min(cpu.get(name, float("inf")), c1 - c0)
            if rep == 0:
                np.savez(os.path.join(dst, name + ".npz"), Q=q.astype(np.float32))
    with open(os.path.join(dst, "times.json"), "w") as f:
        json.dump({"wall": wall, "cpu": cpu}, f, indent=1)
    print("reference: %d layers, wall %.3f s, cpu %.3f s" % (len(wall), sum(wall.values()), sum(cpu.values())))


if __name__ == "__main__":
    main()
