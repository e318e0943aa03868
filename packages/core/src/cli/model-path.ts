import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CliError } from './errors.js';

/**
 * The directory of a saved model from what the user typed: the directory itself, or its
 * `model.json`.
 */
export async function modelDirectory(path: string): Promise<string> {
  let s;
  try {
    s = await stat(path);
  } catch {
    throw new CliError(`model directory ${path} does not exist`);
  }
  if (s.isFile()) {
    if (basename(path) === 'model.json') return dirname(path);
    throw new CliError(`--model ${path} is a file; give the directory that holds model.json`);
  }
  try {
    await stat(join(path, 'model.json'));
  } catch {
    throw new CliError(`${path} holds no model.json; make one with "irn convert <checkpoint.pth> ${path}"`);
  }
  return path;
}
