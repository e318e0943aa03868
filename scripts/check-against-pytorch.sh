#!/usr/bin/env bash
# Checks the whole pipeline against the reference PyTorch IRN on real photographs
# (samples/*.png), with the published x2 architecture and random weights:
#   - the LR PNG from `irn downscale` equals PyTorch's except rounding ties (<= 1 level),
#   - the PNG from `irn upscale` of PyTorch's LR with z = 0 is within 1 level of PyTorch's.
# Needs Debian's python3-torch (apt-get install -y python3-torch) and `pnpm build` first.
# Not part of `pnpm test`: the project must not need Python.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d)}
/usr/bin/python3 packages/core/scripts/reference-irn.py "$work" samples/*.png
node packages/cli/dist/cli.js convert "$work/irn_x2_random.pth" "$work/model"
node packages/cli/dist/cli.js downscale --model "$work/model" "$work/hr" "$work/lr-ours"
node packages/cli/dist/cli.js upscale --model "$work/model" "$work/lr-ref" "$work/hr-ours"
echo "LR: ours vs PyTorch"
node --import tsx packages/core/scripts/compare-png-dirs.ts "$work/lr-ours" "$work/lr-ref" 1
echo "HR from PyTorch's LR, z = 0: ours vs PyTorch"
node --import tsx packages/core/scripts/compare-png-dirs.ts "$work/hr-ours" "$work/hr-ref" 1
echo "all within one grey level ($work)"
