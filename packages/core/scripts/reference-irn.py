#!/usr/bin/python3
"""Reference IRN pipeline on real photographs, for scripts/check-against-pytorch.sh.

Usage: /usr/bin/python3 reference-irn.py <work-dir> <photo.png>...
Builds the published x2 architecture (8 blocks, growth 32) with the reference modules of
make-torch-fixtures.py, gives it seeded random weights (N(0, 0.02^2): a trained-looking,
non-identity map), saves <work-dir>/irn_x2_random.pth, and for every photo writes
  hr/<name>.png        the photo mod-cropped to even width and height (the paper's protocol),
  lr-ref/<name>.png    round(clamp(forward(x)[:3], 0, 1) * 255), torch.round (half to even),
  hr-ref/<name>.png    inverse(concat(that LR / 255, z = 0)), clamped, rounded to 8 bits.
"""
import importlib.util
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

spec = importlib.util.spec_from_file_location('fixtures', Path(__file__).with_name('make-torch-fixtures.py'))
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)

work = Path(sys.argv[1])
for d in ('hr', 'lr-ref', 'hr-ref'):
    (work / d).mkdir(parents=True, exist_ok=True)

torch.manual_seed(0)
model = ref.InvRescaleNet(levels=1, blocks=8, gc=32)
gen = torch.Generator().manual_seed(2020)
with torch.no_grad():
    for name, p in model.named_parameters():
        if 'haar' not in name:
            p.copy_(torch.randn(p.shape, generator=gen) * 0.02)
model.eval()
torch.save(model.state_dict(), work / 'irn_x2_random.pth')

for path in map(Path, sys.argv[2:]):
    rgb = np.asarray(Image.open(path).convert('RGB'))
    h, w = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2
    rgb = rgb[:h, :w]
    Image.fromarray(rgb).save(work / 'hr' / path.name)
    x = torch.from_numpy(rgb.astype(np.float32) / 255).permute(2, 0, 1)[None]
    with torch.no_grad():
        y, _ = model(x)
        lr = torch.round(torch.clamp(y[:, :3], 0, 1) * 255)
        Image.fromarray(lr[0].permute(1, 2, 0).numpy().astype(np.uint8)).save(work / 'lr-ref' / path.name)
        z = torch.zeros(1, 9, h // 2, w // 2)
        out, _ = model(torch.cat([lr / 255, z], 1), rev=True)
        hr = torch.round(torch.clamp(out, 0, 1) * 255)
        Image.fromarray(hr[0].permute(1, 2, 0).numpy().astype(np.uint8)).save(work / 'hr-ref' / path.name)
    print(f'{path.name}: {w}x{h} -> {w // 2}x{h // 2}', flush=True)
