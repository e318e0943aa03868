#!/usr/bin/python3
"""Golden values for packages/core/src/training/bicubic_test.ts.

Run from packages/core:  /usr/bin/python3 scripts/make-bicubic-fixture.py
Writes test-fixtures/bicubic/golden.json.

`imresize` below follows the MATLAB imresize port used by the IRN, EDSR and BasicSR code
bases (`matlab_functions.py`: calculate_weights_indices + symmetric padding by flipping),
in float64 numpy. The input is deterministic (no RNG): a smooth pattern plus a high-frequency
checker so that the antialiasing matters.
"""
import json
import math
import os

import numpy as np


def cubic(x):
    absx = np.abs(x)
    absx2 = absx ** 2
    absx3 = absx ** 3
    return (1.5 * absx3 - 2.5 * absx2 + 1) * (absx <= 1) + \
        (-0.5 * absx3 + 2.5 * absx2 - 4 * absx + 2) * ((absx > 1) & (absx <= 2))


def calculate_weights_indices(in_length, out_length, scale, kernel_width, antialiasing):
    if scale < 1 and antialiasing:
        kernel_width = kernel_width / scale
    x = np.linspace(1, out_length, out_length)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - kernel_width / 2)
    p = math.ceil(kernel_width) + 2
    indices = left.reshape(out_length, 1) + np.linspace(0, p - 1, p).reshape(1, p)
    distance_to_center = u.reshape(out_length, 1) - indices
    if scale < 1 and antialiasing:
        weights = scale * cubic(distance_to_center * scale)
    else:
        weights = cubic(distance_to_center)
    weights = weights / np.sum(weights, 1).reshape(out_length, 1)
    weights_zero_tmp = np.sum(weights == 0, 0)
    if not math.isclose(weights_zero_tmp[0], 0, rel_tol=1e-6):
        indices = indices[:, 1:p - 1]
        weights = weights[:, 1:p - 1]
    if not math.isclose(weights_zero_tmp[-1], 0, rel_tol=1e-6):
        indices = indices[:, 0:p - 2]
        weights = weights[:, 0:p - 2]
    sym_len_s = -indices.min() + 1
    sym_len_e = indices.max() - in_length
    indices = indices + sym_len_s - 1
    return weights, indices.astype(np.int64), int(sym_len_s), int(sym_len_e)


def imresize(img, scale, antialiasing=True):
    """img: HxWxC float64 in [0, 1]; returns the MATLAB bicubic resize (not clamped)."""
    in_h, in_w, in_c = img.shape
    out_h, out_w = math.ceil(in_h * scale), math.ceil(in_w * scale)
    kernel_width = 4
    weights_h, indices_h, sym_len_hs, sym_len_he = calculate_weights_indices(in_h, out_h, scale, kernel_width, antialiasing)
    weights_w, indices_w, sym_len_ws, sym_len_we = calculate_weights_indices(in_w, out_w, scale, kernel_width, antialiasing)
    # process H dimension: symmetric copy by flipping
    img_aug = np.zeros((in_h + sym_len_hs + sym_len_he, in_w, in_c))
    img_aug[sym_len_hs:sym_len_hs + in_h] = img
    sym_patch = img[:sym_len_hs, :, :]
    img_aug[0:sym_len_hs] = sym_patch[::-1]
    sym_patch = img[-sym_len_he:, :, :] if sym_len_he > 0 else img[0:0]
    if sym_len_he > 0:
        img_aug[sym_len_hs + in_h:sym_len_hs + in_h + sym_len_he] = sym_patch[::-1]
    out_1 = np.zeros((out_h, in_w, in_c))
    for i in range(out_h):
        idx = indices_h[i]
        out_1[i] = np.tensordot(weights_h[i], img_aug[idx], axes=(0, 0))
    # process W dimension
    out_1_aug = np.zeros((out_h, in_w + sym_len_ws + sym_len_we, in_c))
    out_1_aug[:, sym_len_ws:sym_len_ws + in_w] = out_1
    out_1_aug[:, 0:sym_len_ws] = out_1[:, :sym_len_ws][:, ::-1]
    if sym_len_we > 0:
        out_1_aug[:, sym_len_ws + in_w:] = out_1[:, -sym_len_we:][:, ::-1]
    out_2 = np.zeros((out_h, out_w, in_c))
    for j in range(out_w):
        idx = indices_w[j]
        out_2[:, j] = np.tensordot(weights_w[j], out_1_aug[:, idx], axes=(0, 1))
    return out_2


def pattern(h, w, c):
    y, x, ch = np.meshgrid(np.arange(h), np.arange(w), np.arange(c), indexing='ij')
    smooth = 0.5 + 0.3 * np.sin(0.37 * x + 0.11 * y + 1.3 * ch) * np.cos(0.23 * y - 0.5 * ch)
    checker = 0.15 * (((x + y + ch) % 2) * 2 - 1)
    return np.clip(smooth + checker * ((x * 7 + y * 3) % 5 == 0), 0, 1)


def main():
    cases = []
    for (h, w, c, factor) in [(12, 16, 3, 2), (16, 8, 2, 4), (24, 24, 1, 8), (6, 10, 3, 2)]:
        x = pattern(h, w, c)
        y = imresize(x, 1 / factor)
        cases.append({
            'factor': factor,
            'input_shape': [h, w, c],
            'output_shape': list(y.shape),
            'input': [round(float(v), 12) for v in x.ravel()],
            'output': [round(float(v), 12) for v in y.ravel()],
        })
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, '..', 'test-fixtures', 'bicubic', 'golden.json')
    with open(out, 'w') as f:
        json.dump({'made_by': 'packages/core/scripts/make-bicubic-fixture.py', 'layout': 'HWC row-major', 'cases': cases}, f)
        f.write('\n')
    print('wrote', os.path.normpath(out))


if __name__ == '__main__':
    main()
