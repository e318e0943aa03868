#!/usr/bin/python3
"""Golden PSNR/SSIM values for packages/core/src/eval/metrics_test.ts, from scikit-image.

Run: /usr/bin/python3 packages/core/scripts/make-metric-fixture.py  (Debian's python3-skimage)
Writes test-fixtures/metrics/{reference,degraded}.png (64x48 crops of samples/astronaut.png;
the degraded one is a 2x box-down, nearest-up copy with a +3 offset on green) and
expected.json with skimage.metrics values on the BT.601 luma, shave 2.
"""
import json
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / 'packages/core/test-fixtures/metrics'
ref = np.asarray(Image.open(ROOT / 'samples/astronaut.png').convert('RGB'))[100:148, 80:144].astype(np.float64)
box = ref.reshape(24, 2, 32, 2, 3).mean(axis=(1, 3))
deg = np.repeat(np.repeat(box, 2, axis=0), 2, axis=1)
deg[..., 1] += 3
deg = np.clip(np.round(deg), 0, 255)
Image.fromarray(ref.astype(np.uint8)).save(OUT / 'reference.png')
Image.fromarray(deg.astype(np.uint8)).save(OUT / 'degraded.png')


def luma(x):
    return 16 + (65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]) / 255


s = 2
ya, yb = luma(deg)[s:-s, s:-s], luma(ref)[s:-s, s:-s]
expected = {
    'shave': s,
    'psnrY': peak_signal_noise_ratio(yb, ya, data_range=255),
    'ssimY': structural_similarity(yb, ya, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False),
    'psnrRgb': peak_signal_noise_ratio(ref[s:-s, s:-s], deg[s:-s, s:-s], data_range=255),
    'tool': 'scikit-image ' + __import__('skimage').__version__,
}
(OUT / 'expected.json').write_text(json.dumps(expected, indent=1) + '\n')
print(expected)
