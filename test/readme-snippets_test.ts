// The READMEs' TypeScript and JavaScript code blocks, type-checked against the built packages
// (their `dist/*.d.ts`, as an app that installed them sees them). A block is a fragment: it
// uses names that the text around it gives (`file`, `image`, `rescaler`, your own codec), so
// "Cannot find name" is allowed and such a name is `any`. Everything else must check under
// strict: every import exists, every option is spelled as the code spells it, every argument
// and result has the type the text relies on. A control block with known mistakes in it runs
// in the same compile and must give exactly its errors, so the filter cannot hide them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';

const root = fileURLToPath(new URL('..', import.meta.url));
const READMES = ['README.md', 'packages/core/README.md', 'packages/cli/README.md', 'packages/element/README.md', 'packages/weights/README.md'];

/** What the blocks import, as an app's node_modules would hold them. */
const MODULES: Record<string, string> = {
  '@irn/core': 'packages/core',
  '@irn/cli': 'packages/cli',
  '@irn/element': 'packages/element',
  '@irn/weights': 'packages/weights',
  '@jsquash/avif': 'node_modules/@jsquash/avif',
  '@jsquash/jpeg': 'node_modules/@jsquash/jpeg',
  '@jsquash/webp': 'node_modules/@jsquash/webp',
};

/** Diagnostics a fragment may give: a name the surrounding text defines, or a value of it. */
const ALLOWED = new Set(['TS2304', 'TS2552', 'TS2580']);

/** One file to compile: a README block, and the blocks after it that continue it. */
interface Unit {
  file: string;
  /** Each part's first line in the README and its line count, in order. */
  parts: { line: number; lines: number }[];
  code: string;
}

/**
 * The ```ts / ```js blocks of `file`. A block without an import of its own continues the
 * block before it (the text says "then, with the same `image`..."), so it is checked with that
 * block's names and types in scope instead of leaving them free.
 */
function codeUnits(file: string, text: string): Unit[] {
  const units: Unit[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|js|typescript|javascript)\s*$/.test(lines[i])) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !lines[end].startsWith('```')) end++;
    assert.ok(end < lines.length, `${file}:${start + 1}: a code block that never ends`);
    const code = lines.slice(start, end).join('\n');
    const part = { line: start + 1, lines: end - start };
    const last = units.at(-1);
    if (last != null && !/^import /m.test(code)) {
      last.parts.push(part);
      last.code += `\n${code}`;
    } else {
      units.push({ file, parts: [part], code });
    }
    i = end;
  }
  return units;
}

/** The README line of line `n` (1-based) of a unit's code. */
function readmeLine(unit: Unit, n: number): number {
  for (const part of unit.parts) {
    if (n <= part.lines) return part.line + n - 1;
    n -= part.lines;
  }
  return unit.parts[0].line;
}

/** The control: one mistake per line that a README could make, each of which must be reported. */
const CONTROL = `import { Rescaler, notAnExport } from '@irn/core/browser';
const rescaler = await Rescaler.create({ model: 'irn-x2', wroker: true });
const { backend } = await rescaler.downscale(file);
const n: number = backend;
console.log(notAnExport, n);`;
const CONTROL_ERRORS = ['1:20 TS2305', '2:59 TS2561', '4:7 TS2322'];

describe('the code blocks of the READMEs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'irn-readme-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('type-check against the built packages (strict; only names from the text around them are left free)', () => {
    const units = READMES.flatMap((f) => codeUnits(f, readFileSync(join(root, f), 'utf8')));
    const count = units.reduce((n, u) => n + u.parts.length, 0);
    assert.ok(count >= 10, `only ${count} code blocks found in the READMEs`);
    for (const [name, path] of Object.entries(MODULES)) {
      mkdirSync(join(dir, 'node_modules', name, '..'), { recursive: true });
      symlinkSync(join(root, path), join(dir, 'node_modules', name), 'dir');
    }
    const files = units.map((_, i) => `block-${i}.ts`);
    units.forEach((u, i) => writeFileSync(join(dir, files[i]), `${u.code}\nexport {};\n`));
    writeFileSync(join(dir, 'control.ts'), `${CONTROL}\nexport {};\n`);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'ESNext',
          moduleResolution: 'Bundler',
          lib: ['ES2022', 'DOM', 'DOM.Iterable'],
          strict: true,
          noImplicitAny: false, // (img) => ... in a JavaScript-style fragment
          skipLibCheck: true,
          noEmit: true,
          types: [],
        },
        files: [...files, 'control.ts'],
      }),
    );
    let output = '';
    try {
      execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', dir, '--pretty', 'false'], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; status?: number };
      output = `${err.stdout ?? ''}${err.stderr ?? ''}`;
      assert.ok(err.status === 1 || err.status === 2, `tsc failed to run (${err.status}): ${output}`);
    }
    const diagnostics = [...output.matchAll(/^(\S+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/gm)];
    assert.ok(diagnostics.length > 0 || output === '', `tsc printed what this test cannot read: ${output}`);
    const control = diagnostics.filter((d) => d[1] === 'control.ts').map((d) => `${d[2]}:${d[3]} ${d[4]}`);
    const unexpected = control.filter((c) => !ALLOWED.has(c.split(' ')[1]));
    assert.deepEqual(unexpected, CONTROL_ERRORS, `the control block's mistakes were not all reported:\n${output}`);
    const problems = diagnostics
      .filter((d) => d[1] !== 'control.ts' && !ALLOWED.has(d[4]))
      .map((d) => {
        const unit = units[Number(/block-(\d+)\.ts/.exec(d[1])![1])];
        return `${unit.file}:${readmeLine(unit, Number(d[2]))}: ${d[4]} ${d[5]}`;
      });
    assert.deepEqual(problems, [], `README code that does not type-check:\n${problems.join('\n')}`);
  });
});
