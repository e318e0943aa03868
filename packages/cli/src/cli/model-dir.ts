import { fileSystem } from '@irn/core/node';
import { IrnModel, type Limits } from '@irn/core';
import { failure, oneLine } from './errors.js';
import { modelDirectory } from './model-path.js';

/**
 * Loads the IRN model saved in `path` (see {@link modelDirectory}) within `limits` (the
 * CLI's `ctx.limits()`), with the checks of `fileSystem` and `IrnModel.load` (weight files
 * confined to the folder, float32 specs, finite weights); errors name the directory.
 */
export async function loadModel(path: string, limits?: Partial<Limits>): Promise<IrnModel> {
  const dir = await modelDirectory(path);
  try {
    return await IrnModel.load(fileSystem(dir, { limits }), { limits });
  } catch (e) {
    const message = oneLine(e);
    // tfjs-layers' message for a class it does not know is long; the gist is enough here.
    const unknown = /^Unknown (layer|initializer|constraint|regularizer)[:\s]+(\w+)/.exec(message);
    if (unknown) throw failure(`${dir} is not an IRN model: its model.json uses an unknown ${unknown[1]} "${unknown[2]}"`, e);
    throw failure(`cannot load the model in ${dir}: ${message}`, e);
  }
}
