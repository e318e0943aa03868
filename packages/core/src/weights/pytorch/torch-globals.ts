import { TorchFormatError } from './errors.js';
import { describePickleValue, PickleDict, type PickleGlobal, type UnpickleOptions } from './pickle.js';
import { STORAGE_TYPES, StorageRef, StorageRoot, TensorRef } from './tensor.js';

/** A torch storage class named in a persistent id, e.g. `torch.FloatStorage`. Not callable. */
class StorageType implements PickleGlobal {
  readonly qualifiedName: string;
  constructor(readonly storageType: string) {
    this.qualifiedName = `torch.${storageType}`;
  }
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isIndexList(v: unknown): v is number[] {
  return Array.isArray(v) && v.every(isIndex);
}

/** `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`. */
function rebuildTensor(name: string, args: readonly unknown[], minArgs: number): TensorRef {
  const [storage, offset, size, stride] = args;
  if (args.length < minArgs || args.length > minArgs + 1) {
    throw new TorchFormatError(`${name} called with ${args.length} arguments`);
  }
  if (!(storage instanceof StorageRef)) throw new TorchFormatError(`${name}: first argument is not a storage`);
  if (!isIndex(offset)) throw new TorchFormatError(`${name}: storage offset is not a non-negative integer`);
  if (!isIndexList(size) || !isIndexList(stride) || size.length !== stride.length) {
    throw new TorchFormatError(`${name}: size and stride are not matching lists of non-negative integers`);
  }
  return new TensorRef(storage, offset, [...size], [...stride]);
}

const CALLABLES: Readonly<Record<string, (args: readonly unknown[]) => unknown>> = {
  // OrderedDict.__reduce__ gives (OrderedDict, ()) and the items follow as SETITEMS.
  'collections.OrderedDict': (args) => {
    const dict = new PickleDict('collections.OrderedDict');
    if (args.length > 0) {
      const [items] = args;
      if (!Array.isArray(items)) throw new TorchFormatError('collections.OrderedDict: argument is not a list of pairs');
      for (const pair of items) {
        if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string') {
          throw new TorchFormatError('collections.OrderedDict: argument is not a list of (str, value) pairs');
        }
        dict.entries.set(pair[0], pair[1]);
      }
    }
    return dict;
  },
  // Tensor.__reduce_ex__ in torch 1.x and 2.x (2.x may add a metadata dict).
  'torch._utils._rebuild_tensor_v2': (args) => rebuildTensor('torch._utils._rebuild_tensor_v2', args, 6),
  // Files from torch < 0.4.
  'torch._utils._rebuild_tensor': (args) => rebuildTensor('torch._utils._rebuild_tensor', args, 4),
  // A Parameter saved as such (state_dict(keep_vars=True)): its data is the tensor.
  'torch._utils._rebuild_parameter': (args) => {
    if (args.length !== 3 || !(args[0] instanceof TensorRef)) {
      throw new TorchFormatError('torch._utils._rebuild_parameter: first argument is not a tensor');
    }
    return args[0];
  },
};

/**
 * The allow-list: the only globals a `torch.save(state_dict)` pickle of float tensors names.
 * Everything else is refused before anything could be called.
 */
export function findTorchGlobal(module: string, name: string): PickleGlobal {
  const qualifiedName = `${module}.${name}`;
  if (Object.hasOwn(CALLABLES, qualifiedName)) return { qualifiedName, call: CALLABLES[qualifiedName] };
  if (module === 'torch' && Object.hasOwn(STORAGE_TYPES, name)) return new StorageType(name);
  throw new TorchFormatError(
    `checkpoint refused: the pickle asks for the global "${qualifiedName}", which a state_dict never needs`,
  );
}

/** BUILD on a dict: the state is an OrderedDict's `__dict__` (`_metadata`), which we ignore. */
export function buildTorchObject(target: unknown, state: unknown): boolean {
  return target instanceof PickleDict && state instanceof PickleDict;
}

/** A parsed `('storage', storage_type, key, location, numel[, view_metadata])` persistent id. */
interface StoragePid {
  storageType: string;
  key: string;
  numel: number;
  view: { key: string; offset: number; numel: number } | null;
}

function parseStoragePid(pid: unknown): StoragePid {
  if (!Array.isArray(pid) || pid.length === 0) throw new TorchFormatError('persistent id is not a tuple');
  const [kind, type, key, location, numel, view] = pid;
  if (kind === 'module') {
    throw new TorchFormatError('checkpoint holds a pickled nn.Module class, not a state_dict; save model.state_dict() instead');
  }
  if (kind !== 'storage' || (pid.length !== 5 && pid.length !== 6)) {
    throw new TorchFormatError(`unknown persistent id of kind ${describePickleValue(kind)}`);
  }
  if (!(type instanceof StorageType)) throw new TorchFormatError('persistent id names no torch storage type');
  if (typeof key !== 'string' || typeof location !== 'string' || !isIndex(numel)) {
    throw new TorchFormatError('malformed storage persistent id');
  }
  let parsedView: StoragePid['view'] = null;
  if (view !== undefined && view !== null) {
    if (!Array.isArray(view) || view.length !== 3 || typeof view[0] !== 'string' || !isIndex(view[1]) || !isIndex(view[2])) {
      throw new TorchFormatError(`malformed storage view of storage "${key}"`);
    }
    parsedView = { key: view[0], offset: view[1], numel: view[2] };
  }
  return { storageType: type.storageType, key, numel, view: parsedView };
}

/**
 * Unpickler options for a torch.save pickle. Every storage it references is recorded in
 * `storages` (by key) so the format reader can attach the bytes afterwards.
 */
export function torchUnpickleOptions(label: string, storages: Map<string, StorageRoot>): UnpickleOptions {
  const views = new Map<string, StorageRef>();
  return {
    label,
    findGlobal: findTorchGlobal,
    build: buildTorchObject,
    persistentLoad(pid: unknown): StorageRef {
      const p = parseStoragePid(pid);
      let root = storages.get(p.key);
      if (root === undefined) {
        root = new StorageRoot(p.key, p.storageType, p.numel);
        storages.set(p.key, root);
      } else if (root.storageType !== p.storageType || root.numel !== p.numel) {
        throw new TorchFormatError(`storage "${p.key}" is described twice with different types or sizes`);
      }
      if (p.view === null) return new StorageRef(root, 0, root.numel);
      if (p.view.offset + p.view.numel > root.numel) {
        throw new TorchFormatError(`storage view "${p.view.key}" exceeds storage "${p.key}"`);
      }
      let view = views.get(p.view.key);
      if (view === undefined) {
        view = new StorageRef(root, p.view.offset, p.view.numel);
        views.set(p.view.key, view);
      }
      return view;
    },
  };
}
