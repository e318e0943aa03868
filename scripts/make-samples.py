#!/usr/bin/python3
"""Writes samples/*.png from Debian's python3-skimage sample data (see samples/README.md)."""
import shutil
from pathlib import Path

from PIL import Image

SRC = Path('/usr/lib/python3/dist-packages/skimage/data')
OUT = Path(__file__).resolve().parent.parent / 'samples'

# PIL's crop box is (left, top, right, bottom).
Image.open(SRC / 'astronaut.png').crop((128, 0, 384, 256)).save(OUT / 'astronaut.png', optimize=True)
Image.open(SRC / 'coffee.png').crop((100, 80, 500, 380)).save(OUT / 'coffee.png', optimize=True)
shutil.copy(SRC / 'chelsea.png', OUT / 'chelsea.png')
