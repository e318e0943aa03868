#!/usr/bin/python3
"""Makes the small PNG fixtures in packages/core/test-fixtures/images/ from scikit-image's
public-domain / CC0 sample photos (Debian package python3-skimage), written with Pillow so
that our decoder is checked against an independent encoder.

Run from the repository root:  /usr/bin/python3 packages/core/scripts/make-image-fixtures.py

Also writes fixtures.json: for each file its size, channels and bit depth as decodePng must
report them, and the sum of all samples as integers (palette images expanded to RGBA) --
golden values computed here, independently of the TypeScript decoder.
"""
import json
import os

import numpy as np
from PIL import Image
from skimage import data

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test-fixtures', 'images')


def box_mean(a, f):
    """Mean of each f x f block (a's sides are multiples of f)."""
    h, w = a.shape[:2]
    return a.astype(np.float64).reshape(h // f, f, w // f, f, *a.shape[2:]).mean(axis=(1, 3))


def main():
    os.makedirs(OUT, exist_ok=True)
    golden = {}

    def save(name, img, expected_samples, channels, bit_depth, **kwargs):
        path = os.path.join(OUT, name)
        img.save(path, optimize=True, **kwargs)
        h, w = expected_samples.shape[:2]
        golden[name] = {
            'width': w,
            'height': h,
            'channels': channels,
            'bitDepth': bit_depth,
            'sampleSum': int(expected_samples.astype(np.int64).sum()),
            'firstPixel': [int(v) for v in np.atleast_1d(expected_samples[0, 0])],
        }
        print(f'{name}: {w}x{h}, {channels} channel(s), {bit_depth} bit, {os.path.getsize(path)} bytes')

    # RGB, 8 bit: the astronaut's eyes at native resolution (rows 100-139, columns 200-247).
    astro = data.astronaut()[100:140, 200:248]
    save('astronaut-48x40.png', Image.fromarray(astro, 'RGB'), astro, 3, 8)

    # RGB, 8 bit, odd size: cup rim and spoon of the coffee photo (rows 260-286, columns 340-372).
    coffee = data.coffee()[260:287, 340:373]
    save('coffee-33x27.png', Image.fromarray(coffee, 'RGB'), coffee, 3, 8)

    # RGBA, 8 bit: Chelsea's eye (rows 95-126, columns 150-189) with a diagonal alpha ramp.
    cat = data.chelsea()[95:127, 150:190]
    h, w = cat.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    alpha = np.round(255 * (xx + yy) / (w + h - 2)).astype(np.uint8)
    rgba = np.dstack([cat, alpha])
    save('chelsea-rgba-40x32.png', Image.fromarray(rgba, 'RGBA'), rgba, 4, 8)

    # Grey, 16 bit: 4x4 block means of the camera photo (rows 64-159, columns 192-319), so the
    # 16-bit levels are real (a mean of 16 8-bit values has 1/16 steps), scaled by 65535/255.
    cam = np.round(box_mean(data.camera()[64:160, 192:320], 4) * 257).astype(np.uint16)
    save('camera-grey16-32x24.png', Image.fromarray(cam, 'I;16'), cam, 1, 16)

    # Grey, 1 bit, width not a multiple of 8: the camera photo thresholded at 128.
    bits = data.camera()[200:213, 240:261] >= 128
    save('camera-1bit-21x13.png', Image.fromarray(bits), bits.astype(np.uint8), 1, 1)

    # Palette, 4 bit, with tRNS: the coffee crop quantized to 16 colours; the first four
    # palette entries get alpha 0, 64, 128, 192.
    pal_img = Image.fromarray(data.coffee()[100:120, 200:224], 'RGB').quantize(colors=16, dither=Image.Dither.NONE)
    trns = bytes([0, 64, 128, 192])
    palette = np.array(pal_img.getpalette()[: 3 * 16], dtype=np.uint8).reshape(-1, 3)
    alphas = np.full(len(palette), 255, dtype=np.uint8)
    alphas[: len(trns)] = list(trns)
    idx = np.array(pal_img)
    expanded = np.dstack([palette[idx], alphas[idx]])
    save('coffee-palette-24x20.png', pal_img, expanded, 4, 4, transparency=trns, bits=4)

    with open(os.path.join(OUT, 'fixtures.json'), 'w') as f:
        json.dump(golden, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
