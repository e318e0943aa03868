#!/usr/bin/python3
"""One IRN training step in PyTorch, timed: the reference for bench/train-step.ts.

Usage: /usr/bin/python3 bench/train-step-torch.py --blocks 4 --growth 16 --batch 8 --patch 64
       [--scale 2] [--steps 3] [--threads 1]
Prints one JSON line: {"msPerStep": [...], "cpuMsPerStep": [...] (all threads), "threads": n, "torch": version}.

The step is the one of packages/core/src/training/trainer.ts (IRN.md, "Training objective"):
forward, LR guidance against MATLAB bicubic (a fixed matrix, as training/bicubic.ts),
8-bit quantization with a straight-through gradient, inverse with z = 0, Charbonnier
reconstruction, sum(z^2), Adam (0.9, 0.999) with L2 weight decay 1e-5 and gradient-norm
clip 10. The modules are the reference ones of packages/core/scripts/make-torch-fixtures.py.
"""
import argparse
import importlib.util
import json
import math
import time
from pathlib import Path

import torch

spec = importlib.util.spec_from_file_location(
    'fixtures', Path(__file__).resolve().parent.parent / 'packages/core/scripts/make-torch-fixtures.py')
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)

p = argparse.ArgumentParser()
p.add_argument('--scale', type=int, default=2)
p.add_argument('--blocks', type=int, default=4)
p.add_argument('--growth', type=int, default=16)
p.add_argument('--batch', type=int, default=8)
p.add_argument('--patch', type=int, default=64)
p.add_argument('--steps', type=int, default=3)
p.add_argument('--threads', type=int, default=1)
args = p.parse_args()
# After loading the module, which sets 2 threads on import.
torch.set_num_threads(args.threads)


def cubic(x):
    ax = abs(x)
    if ax <= 1:
        return 1.5 * ax ** 3 - 2.5 * ax ** 2 + 1
    if ax <= 2:
        return -0.5 * ax ** 3 + 2.5 * ax ** 2 - 4 * ax + 2
    return 0.0


def bicubic_matrix(n, factor):
    """MATLAB imresize(1/factor, 'bicubic') along one axis (as training/bicubic.ts)."""
    out, scale, width = n // factor, 1 / factor, 4 * factor
    m = torch.zeros(out, n, dtype=torch.float64)
    for i in range(out):
        u = (i + 1) / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - width / 2)
        w = [scale * cubic((u - (left + q)) * scale) for q in range(width + 2)]
        s = sum(w)
        for q, wq in enumerate(w):
            j = (left + q - 1) % (2 * n)
            m[i, j if j < n else 2 * n - 1 - j] += wq / s
    return m.to(torch.float32)


levels = {2: 1, 4: 2, 8: 3}[args.scale]
torch.manual_seed(0)
model = ref.InvRescaleNet(levels=levels, blocks=args.blocks, gc=args.growth)
ref.randomise(model, 1)
params = [q for q in model.parameters() if q.requires_grad]
opt = torch.optim.Adam(params, lr=2e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-5)
mat = bicubic_matrix(args.patch, args.scale)
gen = torch.Generator().manual_seed(3)
x = torch.rand(args.batch, 3, args.patch, args.patch, generator=gen)


def step():
    b = x.shape[0]
    out, _ = model(x)
    y, z = out[:, :3], out[:, 3:]
    target = torch.einsum('ih,bchw,jw->bcij', mat, x, mat)
    fit = torch.sum((y - target) ** 2) / b
    dist = torch.sum(z ** 2) / b
    yq = y + (torch.round(torch.clamp(y, 0, 1) * 255) / 255 - y).detach()
    x_hat, _ = model(torch.cat([yq, torch.zeros_like(z)], 1), rev=True)
    rec = torch.sum(torch.sqrt((x - x_hat) ** 2 + 1e-6)) / b
    loss = args.scale ** 2 * fit + rec + dist
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 10)
    opt.step()
    return float(loss)


step()  # warm-up
times, cpu = [], []
for _ in range(args.steps):
    t, c = time.perf_counter(), time.process_time()
    step()
    times.append((time.perf_counter() - t) * 1000)
    cpu.append((time.process_time() - c) * 1000)
print(json.dumps({'msPerStep': times, 'cpuMsPerStep': cpu, 'threads': torch.get_num_threads(), 'torch': torch.__version__}))
