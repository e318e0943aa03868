/**
 * Every example in `irn --help` and in each command's help runs as printed (issue 14, item 6):
 * the lines are taken from the help text the program prints, the repository paths they name
 * must exist and are copied into a temporary folder, and the examples run there in order
 * (later ones read what earlier ones wrote under out/), each expected to exit 0 and to write
 * nothing but under out/. Nothing is written into the repository.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildProgram } from '../../packages/cli/src/cli/program.js';
import { cliCommand, ROOT } from './helpers.js';

/** A commander Command (commander is @irn/cli's dependency, not the root's). */
type Command = ReturnType<typeof buildProgram>;

/** The help text `command` prints for `--help` (its own and added text, as commander writes it). */
function helpText(command: Command): string {
  let text = '';
  command.configureOutput({ writeOut: (s) => void (text += s), writeErr: (s) => void (text += s) });
  command.outputHelp();
  return text;
}

/** The `irn ...` lines under an "Examples" heading of `help`, as argument lists. */
function examples(help: string): string[][] {
  const lines = help.split('\n');
  const start = lines.findIndex((l) => /^Examples\b/.test(l));
  if (start < 0) return [];
  const found: string[][] = [];
  for (const line of lines.slice(start + 1)) {
    const m = /^ {2}irn (.+)$/.exec(line);
    if (m == null) {
      if (line.trim() === '') continue;
      break;
    }
    assert.doesNotMatch(m[1], /['"`\\$*]/, `an example the test cannot split plainly: ${line}`);
    found.push(m[1].trim().split(/\s+/));
  }
  return found;
}

const program = buildProgram('0.0.0', {});
const helps: { where: string; help: string }[] = [
  { where: 'irn --help', help: helpText(program) },
  ...program.commands.map((c) => ({ where: `irn ${c.name()} --help`, help: helpText(c) })),
];
const all = helps.flatMap(({ where, help }) => examples(help).map((args) => ({ where, args })));

/** Arguments that name something in the repository (not options, not what the examples write). */
const isInput = (a: string) => !a.startsWith('-') && !a.startsWith('out/') && (a.includes('/') || /\.\w+$/.test(a));

/** Every file under `dir` but out/, with its size and modification time. */
function snapshot(dir: string, base = dir, into = new Map<string, string>()): Map<string, string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    const rel = relative(base, p);
    if (rel === 'out') continue;
    if (entry.isDirectory()) snapshot(p, base, into);
    else {
      const s = statSync(p);
      into.set(rel, `${s.size}:${s.mtimeMs}`);
    }
  }
  return into;
}

/** Runs `irn ...args` (see helpers.ts's cliCommand) in `cwd`; examples on full-size models get minutes. */
function irn(args: string[], cwd: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...cliCommand(), ...args],
      { cwd, encoding: 'utf8', env: { ...process.env, TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json'), IRN_DEBUG: '' }, timeout: 300_000 },
      (error, _stdout, stderr) => resolve({ code: error == null ? 0 : typeof error.code === 'number' ? error.code : null, stderr }),
    );
  });
}

let work: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'irn-help-examples-'));
  for (const { args } of all) {
    // Merged into what is there: samples/astronaut.png first, then all of samples/.
    for (const a of args.filter(isInput)) cpSync(join(ROOT, a), join(work, a), { recursive: true });
  }
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('help examples', () => {
  it('the program and its commands show examples, and the ones in `irn --help` cover the main commands', () => {
    assert.ok(all.length >= 6, `only ${all.length} examples`);
    const top = all.filter((e) => e.where === 'irn --help').map((e) => e.args[0]);
    for (const c of ['downscale', 'upscale', 'info', 'convert']) assert.ok(top.includes(c), `irn --help shows no "irn ${c}" example`);
    // The default model is what makes the shortest examples work: one of them relies on it.
    assert.ok(all.some((e) => e.args[0] === 'downscale' && !e.args.includes('--model')), 'no example uses the default --model');
  });

  it('name only paths that exist in the repository, and write only under out/', () => {
    for (const { where, args } of all) {
      for (const a of args.filter(isInput)) assert.ok(existsSync(join(ROOT, a)), `${where}: "irn ${args.join(' ')}" names ${a}, which is not in the repository`);
      const outputs = args.filter((a) => a.startsWith('out/'));
      if (['downscale', 'upscale', 'convert', 'prepare', 'train'].includes(args[0])) {
        assert.ok(outputs.length > 0, `${where}: "irn ${args.join(' ')}" writes somewhere else than out/`);
      }
    }
  });

  for (const { where, args } of all) {
    it(`runs "irn ${args.join(' ')}" (${where})`, async () => {
      const before = snapshot(work);
      const run = await irn(args, work);
      assert.equal(run.code, 0, `exit ${run.code}: ${run.stderr}`);
      assert.deepEqual(snapshot(work), before, 'the example wrote outside out/');
      for (const o of args.filter((a) => a.startsWith('out/'))) {
        assert.ok(existsSync(join(work, o)), `${o} was not written`);
      }
    });
  }
});
