/**
 * Writes `PROVENANCE.md` next to weights trained by `train-x2.ts`: the command, data, the
 * step and validation score of the saved weights, wall time so far, and SHA-256 of every file.
 *
 *   node --import tsx packages/core/scripts/train-provenance.ts [weights/irn-x2] [.scratch/train-x2/log.txt]
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';

const dir = resolve(process.argv[2] ?? 'weights/irn-x2');
const logPath = resolve(process.argv[3] ?? '.scratch/train-x2/log.txt');

// The commands that produced the run, one per line, recorded next to the log by whoever started it.
const commands = (await readFile(join(dirname(logPath), 'commands.txt'), 'utf8').catch(
  () => 'nohup node --import tsx packages/core/scripts/train-x2.ts --steps 1600 > .scratch/train-x2/log.txt 2>&1 &\n',
))
  .split('\n')
  .filter(Boolean);
const best = JSON.parse(await readFile(join(dir, 'best.json'), 'utf8')) as { step: number; valPsnrY: number; validation: string[]; time: string };
const log = (await readFile(logPath, 'utf8').catch(() => '')).split('\n').filter((l) => /^(data|model|step|resumed|done)/.test(l));
const meta = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as { userDefinedMetadata?: { irn?: Record<string, unknown> } };
const lastStep = [...log].reverse().find((l) => /^step \d+ lr/.test(l)) ?? '(no step logged)';
// Each progress line covers the 10 steps since the previous one (--log-every default),
// validation and checkpoints included; data loading is not counted.
const wallMs = log.reduce((sum, l) => sum + 10 * Number(/\((\d+) ms\/step\)/.exec(l)?.[1] ?? 0), 0);
const parallel = commands.some((c) => /--workers [1-9]/.test(c));
const wall =
  `about ${(wallMs / 60000).toFixed(0)} min of training (sum of the logged step times; a shared 2-core machine, ` +
  `${parallel ? 'one wasm thread per process, and two (data-parallel, `--workers 1`) from the first command with that flag on' : 'one wasm thread'})`;
const valLines = log.filter((l) => / val PSNR-Y /.test(l));

const files = (await readdir(dir)).filter((f) => f !== 'PROVENANCE.md').sort();
const sums: string[] = [];
for (const f of files) sums.push(`${createHash('sha256').update(await readFile(join(dir, f))).digest('hex')}  ${f}`);

const irnMeta = (meta.userDefinedMetadata?.irn ?? {}) as { scale?: number };
const scale = irnMeta.scale ?? 2;
const ckptDir = relative(process.cwd(), join(dirname(logPath), 'ckpt'));
const text = `# Provenance of \`${relative(process.cwd(), dir)}\`

A small x${scale} IRN trained from scratch on CPU (tfjs wasm backend${parallel ? ', one thread and later two data-parallel threads' : ', one thread'}) by
\`packages/core/scripts/train-x2.ts\`. Not the published model: ${JSON.stringify(meta.userDefinedMetadata?.irn ?? {})}.

## Command

Run from the repository root, in this order (the commit that added these files records the code; \`git log -- ${relative(process.cwd(), dir)}\`):

${commands.map((c) => `    ${c}`).join('\n')}

Defaults of that script at the time: batch 8, 64 px HR patches, 4 blocks per level, growth 16,
Adam (0.9, 0.999, eps 1e-8), lr 2e-4 with 50 warm-up steps and a cosine decay to 2e-5 over
\`--steps\` steps (a later \`--resume\` with more steps and a lower \`--lr\` continues the cosine
from there), L2 weight decay 1e-5, gradient-norm clip 10, loss weights fit 4 / rec 1 / dist 1
(IRN.md), **z = 0 in the reconstruction term** (\`--z-scale 0\`; with z ~ N(0, 1) a PyTorch
reference run of this size collapsed early), seed 1. Resume exactly with the same arguments plus
\`--resume\` (checkpoints in \`${ckptDir}\`, every 50 steps; not committed).

## Data

\`/work/shared/datasets/train/\` (\`../shared/datasets/train\` from the repository root):
cid22 (PNG), t91 (BMP), bsd400 (JPEG); random 64 px patches with random flips and
transposes. Held out for validation (never trained on), the last 4 cid22 files by name:
${best.validation.map((v) => `\`${v}\``).join(', ')}. Validation is the round-trip PSNR on the Y
channel (BT.601, shave ${scale}, z = 0, 8-bit LR and output) of their central 256x256 crops. No
test set (Set5, Set14, BSD100, Kodak) was used for training or selection.

## These weights

- saved at step ${best.step}, validation PSNR-Y ${best.valPsnrY.toFixed(3)} dB (${best.time})
- last logged training line when this file was written: \`${lastStep}\`
- wall time of the run so far: ${wall}
- validation history:

${valLines.map((l) => `      ${l}`).join('\n')}

## SHA-256

${sums.map((s) => `    ${s}`).join('\n')}
`;
await writeFile(join(dir, 'PROVENANCE.md'), text);
console.log(`wrote ${join(dir, 'PROVENANCE.md')}`);
