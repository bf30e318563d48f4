#!/usr/bin/env python3
"""PyTorch QAT baseline for the Java QAT engine (libs/qat): the same CNN, recipe, data and batch size.

Fake quantization: PyTorch's fused LSQ kernels `torch._fake_quantize_learnable_per_tensor_affine` (the op behind
torch.ao.quantization's _LearnableFakeQuantize), gradient factor 1/sqrt(N * Qp) as in the LSQ paper, zero points
frozen - the same math as dev.quantflow.qat.QatFakeQuant. Weights: symmetric per tensor, codes [-8, 7] for 4 bits
([-127, 127] for 8), scale initialised to max|w| / qmax. Activations: uint8 per tensor at the input and after each
Relu (conv1, conv2, fc1) and on the logits, initialised from min/max over the first 4 calibration batches.
Loss: T^2 * KL(softmax(t/T) || softmax(s/T)) against the fp32 teacher (T = 4), Adam, linear warm-up (steps/20)
then cosine decay, batch order from a seeded permutation. The teacher forward is part of every timed step, as in
Java. Eager mode, CPU, torch.set_num_threads(--threads).

Usage: /usr/bin/python3 bench/qat/torch_qat.py [--steps 300] [--batch 64] [--lr 1e-3] [--bits 4] [--threads 1]
                                              [--throughput-only]
"""
import argparse
import math
import os
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_CORETYPE", "SKYLAKEX")
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
FIX = REPO / "fixtures" / "fashion-cnn"


class FashionCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.fc1 = nn.Linear(64 * 5 * 5, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc2(x)


class FakeQuant(nn.Module):
    """LSQ fake quantization with a learned scale and a frozen zero point."""

    def __init__(self, qmin, qmax, scale, zero_point, per_sample):
        super().__init__()
        self.qmin, self.qmax, self.per_sample = qmin, qmax, per_sample
        self.scale = nn.Parameter(torch.tensor([scale], dtype=torch.float32))
        self.register_buffer("zero_point", torch.tensor([float(zero_point)]))

    def forward(self, x):
        n = x[0].numel() if self.per_sample else x.numel()
        grad_factor = 1.0 / math.sqrt(n * (self.qmax - self.zero_point.item()))
        return torch._fake_quantize_learnable_per_tensor_affine(
            x, self.scale, self.zero_point, self.qmin, self.qmax, grad_factor)


def act_params(lo, hi):
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    s = (hi - lo) / 255.0 if hi > lo else 1.0
    z = int(min(255, max(0, round(0 - lo / s))))
    return s, z


class QatCNN(nn.Module):
    def __init__(self, fp32, bits, ranges):
        super().__init__()
        self.net = fp32
        qmax = 127 if bits == 8 else 2 ** (bits - 1) - 1
        qmin = -127 if bits == 8 else -(2 ** (bits - 1))
        self.wq = nn.ModuleDict({name: FakeQuant(qmin, qmax, float(getattr(fp32, name).weight.abs().max()) / qmax, 0,
                                                 False)
                                 for name in ("conv1", "conv2", "fc1", "fc2")})
        self.aq = nn.ModuleDict({k: FakeQuant(0, 255, *act_params(*ranges[k]), True) for k in ranges})

    def forward(self, x):
        n, w = self.net, self.wq
        x = self.aq["input"](x)
        x = self.aq["relu1"](F.relu(F.conv2d(x, w["conv1"](n.conv1.weight), n.conv1.bias)))
        x = F.max_pool2d(x, 2)
        x = self.aq["relu2"](F.relu(F.conv2d(x, w["conv2"](n.conv2.weight), n.conv2.bias)))
        x = torch.flatten(F.max_pool2d(x, 2), 1)
        x = self.aq["relu3"](F.relu(F.linear(x, w["fc1"](n.fc1.weight), n.fc1.bias)))
        return self.aq["logits"](F.linear(x, w["fc2"](n.fc2.weight), n.fc2.bias))


def calibrate(model, batches):
    ranges = {}

    def see(key, t):
        lo, hi = float(t.min()), float(t.max())
        old = ranges.get(key, (lo, hi))
        ranges[key] = (min(lo, old[0]), max(hi, old[1]))

    with torch.no_grad():
        for x in batches:
            see("input", x)
            a = F.relu(model.conv1(x)); see("relu1", a)
            a = F.relu(model.conv2(F.max_pool2d(a, 2))); see("relu2", a)
            a = F.relu(model.fc1(torch.flatten(F.max_pool2d(a, 2), 1))); see("relu3", a)
            see("logits", model.fc2(a))
    return ranges


def accuracy(model, x, y):
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--bits", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--temperature", type=float, default=4.0)
    ap.add_argument("--throughput-only", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(20240601)

    teacher = FashionCNN()
    teacher.load_state_dict(torch.load(REPO / "bench" / "reference" / "fashion-cnn.pt"))
    teacher.eval()
    student_fp32 = FashionCNN()
    student_fp32.load_state_dict(teacher.state_dict())
    calib = torch.from_numpy(np.load(FIX / "calib.npz")["input"])
    tr = np.load(FIX / "train.npz")
    train_x = torch.from_numpy(tr["input"].astype(np.float32))
    ev = np.load(FIX / "eval.npz")
    eval_x, eval_y = torch.from_numpy(ev["input"]), torch.from_numpy(ev["labels"])

    b = args.batch
    model = QatCNN(student_fp32, args.bits, calibrate(teacher, [calib[i * b:(i + 1) * b] for i in range(4)]))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    warm = max(1, args.steps // 20)

    def lr_at(t):
        if t < warm:
            return args.lr * (t + 1) / warm
        return args.lr * 0.5 * (1 + math.cos(math.pi * (t - warm) / max(1, args.steps - warm)))

    gen = torch.Generator().manual_seed(20240601)
    order, cursor = None, len(train_x)
    T = args.temperature

    def step(t):
        nonlocal order, cursor
        if cursor + b > len(train_x):
            order, cursor = torch.randperm(len(train_x), generator=gen), 0
        x = train_x[order[cursor:cursor + b]]
        cursor += b
        with torch.no_grad():
            p = F.softmax(teacher(x) / T, dim=1)
        s = model(x)
        loss = F.kl_div(F.log_softmax(s / T, dim=1), p, reduction="batchmean") * T * T
        for g in opt.param_groups:
            g["lr"] = lr_at(t)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            for fq in list(model.wq.values()) + list(model.aq.values()):
                fq.scale.clamp_(min=1e-12)
        return float(loss)

    if args.throughput_only:
        for t in range(min(10, args.steps)):
            step(t)
        start = time.perf_counter()
        for t in range(args.steps):
            step(t)
        sec = time.perf_counter() - start
        print(f"torch_qat steps={args.steps} batch={b} threads={args.threads} seconds={sec:.3f} "
              f"steps_per_s={args.steps / sec:.3f}")
        return
    fp32, ptq = accuracy(teacher, eval_x, eval_y), accuracy(model, eval_x, eval_y)
    start = time.perf_counter()
    for t in range(args.steps):
        loss = step(t)
    sec = time.perf_counter() - start
    qat = accuracy(model, eval_x, eval_y)
    print(f"torch W{args.bits}A8 per-tensor LSQ: fp32 {100 * fp32:.2f}%  PTQ {100 * ptq:.2f}%  QAT {100 * qat:.2f}% "
          f"after {args.steps} steps ({sec:.1f} s, {args.steps / sec:.2f} steps/s, last loss {loss:.4f})")


if __name__ == "__main__":
    main()
