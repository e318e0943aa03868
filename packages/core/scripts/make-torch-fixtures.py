#!/usr/bin/python3
"""Make the PyTorch checkpoint fixtures and golden outputs in test-fixtures/torch/.

Run from the repository root with Debian's torch (python3-torch, 1.13):

    /usr/bin/python3 packages/core/scripts/make-torch-fixtures.py

The reference IRN below follows docs/IRN.md and the official code
(pkuxmq/Invertible-Image-Rescaling, codes/models/modules/Inv_arch.py and
Subnet_constructor.py) closely enough that its state_dict keys, shapes and Haar kernels are
the published ones: `operations.{i}.haar_weights`, `operations.{i}.{F,G,H}.conv{1..5}.*`.
The models are tiny and their weights random (a freshly initialised IRN is exactly the Haar
transform, so it would prove nothing). This is a reference tool only: the project never needs
Python to build, run or test.
"""

import collections
import io
import json
import math
import pickle
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)

OUT = Path(__file__).resolve().parent.parent / 'test-fixtures' / 'torch'
COMMAND = '/usr/bin/python3 packages/core/scripts/make-torch-fixtures.py'


class DenseBlock(nn.Module):
    """Subnet: five 3x3 convs, LeakyReLU(0.2) after conv1..4, dense concatenation."""

    def __init__(self, channel_in, channel_out, gc):
        super().__init__()
        self.conv1 = nn.Conv2d(channel_in, gc, 3, 1, 1, bias=True)
        self.conv2 = nn.Conv2d(channel_in + gc, gc, 3, 1, 1, bias=True)
        self.conv3 = nn.Conv2d(channel_in + 2 * gc, gc, 3, 1, 1, bias=True)
        self.conv4 = nn.Conv2d(channel_in + 3 * gc, gc, 3, 1, 1, bias=True)
        self.conv5 = nn.Conv2d(channel_in + 4 * gc, channel_out, 3, 1, 1, bias=True)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x):
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        return self.conv5(torch.cat((x, x1, x2, x3, x4), 1))


class InvBlockExp(nn.Module):
    """Affine coupling with split 3 and clamp 1 (IRN.md, "Invertible block")."""

    def __init__(self, channel_num, channel_split_num, gc, clamp=1.0):
        super().__init__()
        self.split_len1 = channel_split_num
        self.split_len2 = channel_num - channel_split_num
        self.clamp = clamp
        self.F = DenseBlock(self.split_len2, self.split_len1, gc)
        self.G = DenseBlock(self.split_len1, self.split_len2, gc)
        self.H = DenseBlock(self.split_len1, self.split_len2, gc)

    def forward(self, x, rev=False):
        x1 = x.narrow(1, 0, self.split_len1)
        x2 = x.narrow(1, self.split_len1, self.split_len2)
        if not rev:
            y1 = x1 + self.F(x2)
            self.s = self.clamp * (torch.sigmoid(self.H(y1)) * 2 - 1)
            y2 = x2.mul(torch.exp(self.s)) + self.G(y1)
        else:
            self.s = self.clamp * (torch.sigmoid(self.H(x1)) * 2 - 1)
            y2 = (x2 - self.G(x1)).div(torch.exp(self.s))
            y1 = x1 - self.F(y2)
        return torch.cat((y1, y2), 1)


class HaarDownsampling(nn.Module):
    """Haar transform as a grouped stride-2 conv with fixed +-1 kernels, then /4.

    The weight is the 4-kernel bank repeated per input channel (torch.cat along dim 0), so
    weight[4 * c + k] is kernel k of channel c; the output is then regrouped wavelet-major.
    """

    def __init__(self, channel_in):
        super().__init__()
        self.channel_in = channel_in
        w = torch.ones(4, 1, 2, 2)
        w[1, 0, 0, 1] = -1
        w[1, 0, 1, 1] = -1
        w[2, 0, 1, 0] = -1
        w[2, 0, 1, 1] = -1
        w[3, 0, 1, 0] = -1
        w[3, 0, 0, 1] = -1
        w = torch.cat([w] * channel_in, 0)
        self.haar_weights = nn.Parameter(w)
        self.haar_weights.requires_grad = False

    def forward(self, x, rev=False):
        b, _, h, w = x.shape
        if not rev:
            out = F.conv2d(x, self.haar_weights, bias=None, stride=2, groups=self.channel_in) / 4.0
            out = out.reshape([b, self.channel_in, 4, h // 2, w // 2])
            out = torch.transpose(out, 1, 2)
            return out.reshape([b, self.channel_in * 4, h // 2, w // 2])
        out = x.reshape([b, 4, self.channel_in, h, w])
        out = torch.transpose(out, 1, 2)
        out = out.reshape([b, self.channel_in * 4, h, w])
        return F.conv_transpose2d(out, self.haar_weights, bias=None, stride=2, groups=self.channel_in)


class InvRescaleNet(nn.Module):
    """IRN: per factor of 2, one Haar downsampling then `blocks` couplings."""

    def __init__(self, levels, blocks, gc):
        super().__init__()
        operations = []
        channels = 3
        for _ in range(levels):
            operations.append(HaarDownsampling(channels))
            channels *= 4
            for _ in range(blocks):
                operations.append(InvBlockExp(channels, 3, gc))
        self.operations = nn.ModuleList(operations)

    def forward(self, x, rev=False):
        """Returns (output, sum of s over all blocks) in the given direction."""
        log_det = 0.0
        ops = self.operations if not rev else reversed(self.operations)
        for op in ops:
            x = op(x, rev)
            if isinstance(op, InvBlockExp):
                log_det += float(torch.sum(op.s))
        return x, log_det


def randomise(model, seed):
    """Random conv weights and biases: a fresh IRN is the identity after Haar."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if 'haar' in name:
                continue
            p.copy_(torch.randn(p.shape, generator=gen) * 0.05)


def make_input(size):
    """Deterministic smooth RGB test image in [0.1, 0.9], NCHW float32."""
    h = torch.arange(size, dtype=torch.float64).reshape(1, 1, size, 1)
    w = torch.arange(size, dtype=torch.float64).reshape(1, 1, 1, size)
    c = torch.arange(3, dtype=torch.float64).reshape(1, 3, 1, 1)
    x = 0.5 + 0.25 * torch.sin(0.7 * h + 1.3 * c) * torch.cos(0.45 * w - 0.8 * c) \
        + 0.15 * torch.sin(0.31 * (h + 2 * w) + c)
    return x.to(torch.float32)


def f32_list(t):
    """Flatten to a list of floats whose JSON text parses back to the same float32."""
    arr = t.detach().cpu().contiguous().numpy().astype(np.float32).reshape(-1)
    return [float(str(v)) for v in arr]  # str(np.float32): shortest round-trip text


def nhwc(t):
    return t.permute(0, 2, 3, 1).contiguous()


def write_json(name, obj):
    with open(OUT / name, 'w') as fh:
        json.dump(obj, fh, separators=(',', ':'))
        fh.write('\n')


def golden(model, name, checkpoint, levels, blocks, gc, size):
    """Forward, quantised LR, inverse from (quantised LR, z = 0) and sum of s, all NHWC."""
    x = make_input(size)
    with torch.no_grad():
        out, log_det_fwd = model(x)
        lr = out[:, :3]
        lr_q = torch.round(torch.clamp(lr, 0, 1) * 255) / 255  # torch.round: half to even
        z = torch.zeros_like(out[:, 3:])
        x_hat, log_det_inv = model(torch.cat((lr_q, z), 1), rev=True)
        x_exact, _ = model(out, rev=True)
    haar_log_det = sum(x.shape[1] * 4 ** l * (size // 2 ** l) ** 2 / 4 * math.log(1 / 16.0)
                       for l in range(levels))
    write_json(name, {
        'description': 'Golden outputs of the reference IRN (PyTorch 1.13, CPU, float32) for '
                       + checkpoint + ' on a fixed smooth input in [0, 1] (make_input). Arrays '
                       'are NHWC, flattened row-major. output = forward(input), all channels '
                       '(LR = channels 0..2, z = the rest). lrQuantized = round(clamp(LR, 0, 1) '
                       '* 255) / 255, half to even. inverseFromQuantizedZ0 = inverse(concat('
                       'lrQuantized, z = 0)), not clamped. logDetBlocks = sum over all blocks of '
                       'sum(s) in the forward pass (batch 1); logDetBlocksInverse = sum of s '
                       'computed during that inverse pass (the inverse log-det is its negative); '
                       'logDetHaar = the constant Haar term of the forward pass, separate. '
                       'roundTripMaxAbsError = max |inverse(forward(input)) - input|.',
        'command': COMMAND,
        'checkpoint': checkpoint,
        'scale': 2 ** levels, 'levels': levels, 'blocks': blocks, 'growth': gc,
        'inputShape': list(nhwc(x).shape),
        'input': f32_list(nhwc(x)),
        'outputShape': list(nhwc(out).shape),
        'output': f32_list(nhwc(out)),
        'lrQuantizedShape': list(nhwc(lr_q).shape),
        'lrQuantized': f32_list(nhwc(lr_q)),
        'inverseShape': list(nhwc(x_hat).shape),
        'inverseFromQuantizedZ0': f32_list(nhwc(x_hat)),
        'roundTripMaxAbsError': float((x_exact - x).abs().max()),
        'logDetBlocks': log_det_fwd,
        'logDetBlocksInverse': log_det_inv,
        'logDetHaar': haar_log_det,
    })
    # A randomised model must not be the plain Haar transform, or the goldens prove nothing.
    haar = x
    with torch.no_grad():
        for op in model.operations:
            if isinstance(op, HaarDownsampling):
                haar = op(haar)
    assert float((haar - out).abs().max()) > 1e-2, 'model output equals plain Haar'


def legacy_save(obj, path):
    torch.save(obj, path, _use_new_zipfile_serialization=False)


def forbidden_legacy(path):
    """A legacy-format checkpoint whose main pickle calls os.system, written by hand.

    torch.load (1.13, weights_only=False) would run the shell command on load. It is never
    loaded here; the importer must refuse it without executing anything.
    """
    header = (pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2)
              + pickle.dumps(1001, protocol=2)
              + pickle.dumps({'protocol_version': 1001, 'little_endian': True,
                              'type_sizes': {'short': 2, 'int': 4, 'long': 4}}, protocol=2))
    cmd = b'echo irn-fixture-would-have-run-this'
    evil = (b'\x80\x02'                                   # PROTO 2
            + b'cos\nsystem\n'                            # GLOBAL os.system
            + b'X' + len(cmd).to_bytes(4, 'little') + cmd  # BINUNICODE
            + b'\x85'                                     # TUPLE1
            + b'R'                                        # REDUCE: os.system(cmd)
            + b'.')                                       # STOP
    keys = pickle.dumps([], protocol=2)
    path.write_bytes(header + evil + keys)


def samples(state_dict, keys_and_indices):
    return [{'key': k, 'index': list(i), 'value': float(state_dict[k][i].float())}
            for k, i in keys_and_indices]


def strided_state_dict():
    """Generic tensors exercising offsets, strides, shared storage and dtypes."""
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.5 - 1
    sd = collections.OrderedDict()
    sd['base'] = base
    sd['transposed'] = base.t()  # stride (1, 4), same storage
    sd['rows'] = base[1:]  # storage offset 4
    sd['column'] = base[:, 2]  # offset 2, stride (4,)
    sd['double'] = torch.tensor([1.0 / 3, -2.5, 1e-30], dtype=torch.float64)
    sd['bfloat16'] = torch.tensor([1.5, -2.25, 3.0e5, 0.1], dtype=torch.bfloat16)
    sd['half'] = torch.tensor([0.5, -0.0, 2.0 ** -24, 6.1e-5, 65504.0, float('inf'),
                               -float('inf'), 0.1], dtype=torch.float16)
    sd['scalar'] = torch.tensor(3.5)
    sd['empty'] = torch.zeros(0, 3)
    return sd


def main():
    OUT.mkdir(parents=True, exist_ok=True)

    torch.manual_seed(0)
    x2 = InvRescaleNet(levels=1, blocks=2, gc=8).eval()
    randomise(x2, seed=1)
    sd2 = x2.state_dict()
    torch.save(sd2, OUT / 'irn_x2.pth')
    legacy_save(sd2, OUT / 'irn_x2_legacy.pth')
    sd2_half = collections.OrderedDict((k, v.half()) for k, v in sd2.items())
    torch.save(sd2_half, OUT / 'irn_x2_half.pth')
    sd2_module = collections.OrderedDict(('module.' + k, v) for k, v in sd2.items())
    torch.save(sd2_module, OUT / 'irn_x2_module.pth')
    half_bytes = (OUT / 'irn_x2_half.pth').read_bytes()
    (OUT / 'irn_x2_half_truncated.pth').write_bytes(half_bytes[: len(half_bytes) * 6 // 10])
    golden(x2, 'irn_x2_golden.json', 'irn_x2.pth', levels=1, blocks=2, gc=8, size=16)

    torch.manual_seed(0)
    x4 = InvRescaleNet(levels=2, blocks=1, gc=4).eval()
    randomise(x4, seed=2)
    sd4 = x4.state_dict()
    torch.save(sd4, OUT / 'irn_x4.pth')
    golden(x4, 'irn_x4_golden.json', 'irn_x4.pth', levels=2, blocks=1, gc=4, size=32)

    forbidden_legacy(OUT / 'forbidden_os_system.pth')

    sd = strided_state_dict()
    torch.save(sd, OUT / 'strided.pth')
    legacy_save(sd, OUT / 'strided_legacy.pth')
    write_json('strided_expected.json', {
        'description': 'Values of strided.pth / strided_legacy.pth as contiguous float32, '
                       'row-major; null stands for a non-finite value listed in nonFinite.',
        'command': COMMAND,
        'tensors': {k: {'shape': list(v.shape), 'dtype': str(v.dtype).replace('torch.', ''),
                        'values': [float(str(np.float32(e))) if math.isfinite(e) else None
                                   for e in v.float().reshape(-1).tolist()],
                        'nonFinite': {str(i): repr(e) for i, e in
                                      enumerate(v.float().reshape(-1).tolist())
                                      if not math.isfinite(e)}}
                    for k, v in sd.items()},
    })

    write_json('irn_x2_samples.json', {
        'description': 'Raw elements of irn_x2.pth (float32) and irn_x2_half.pth (float16 as '
                       'float) at torch-layout indices (out, in, kh, kw) for conv weights.',
        'command': COMMAND,
        'float32': samples(sd2, [
            ('operations.1.F.conv1.weight', (5, 7, 0, 2)),
            ('operations.1.F.conv5.weight', (2, 40, 2, 1)),
            ('operations.2.G.conv3.weight', (7, 18, 1, 0)),
            ('operations.2.H.conv5.weight', (8, 34, 2, 2)),
            ('operations.2.H.conv5.bias', (8,)),
            ('operations.0.haar_weights', (5, 0, 0, 1)),
        ]),
        'float16': samples(sd2_half, [
            ('operations.1.F.conv1.weight', (5, 7, 0, 2)),
            ('operations.2.H.conv5.weight', (8, 34, 2, 2)),
        ]),
    })
    write_json('irn_x4_samples.json', {
        'description': 'Raw elements of irn_x4.pth at torch-layout indices (out, in, kh, kw).',
        'command': COMMAND,
        'float32': samples(sd4, [
            ('operations.1.G.conv5.weight', (8, 18, 0, 1)),
            ('operations.3.F.conv1.weight', (3, 44, 2, 0)),
            ('operations.3.H.conv5.weight', (44, 18, 1, 2)),
            ('operations.2.haar_weights', (47, 0, 1, 1)),
        ]),
    })

    for p in sorted(OUT.iterdir()):
        print(f'{p.name:32s} {p.stat().st_size:8d} bytes', file=sys.stderr)


if __name__ == '__main__':
    main()
