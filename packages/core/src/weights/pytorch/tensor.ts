import { checkLimit, resolveLimits, type Limits } from '../../limits.js';
import { TorchFormatError } from './errors.js';
import { bfloat16ToFloat, halfToFloat } from './half.js';
import { quote } from './pickle.js';

/** Floating-point dtypes a checkpoint tensor may be stored in; all are read as float32. */
export type TorchDtype = 'float32' | 'float16' | 'bfloat16' | 'float64';

/**
 * One tensor of a state_dict. `shape` is torch's (for a conv weight `(out, in, kh, kw)`),
 * `data` is row-major (contiguous) float32 whatever the stored dtype and strides were, and
 * `dtype` is the dtype it was stored in.
 */
export interface TorchTensor {
  shape: number[];
  dtype: TorchDtype;
  data: Float32Array;
}

/** Element types of torch storage classes, supported or not, by class name. */
export const STORAGE_TYPES: Readonly<Record<string, { dtype: string; bytes: number }>> = {
  FloatStorage: { dtype: 'float32', bytes: 4 },
  HalfStorage: { dtype: 'float16', bytes: 2 },
  BFloat16Storage: { dtype: 'bfloat16', bytes: 2 },
  DoubleStorage: { dtype: 'float64', bytes: 8 },
  LongStorage: { dtype: 'int64', bytes: 8 },
  IntStorage: { dtype: 'int32', bytes: 4 },
  ShortStorage: { dtype: 'int16', bytes: 2 },
  CharStorage: { dtype: 'int8', bytes: 1 },
  ByteStorage: { dtype: 'uint8', bytes: 1 },
  BoolStorage: { dtype: 'bool', bytes: 1 },
};

const FLOAT_DTYPES: ReadonlySet<string> = new Set(['float32', 'float16', 'bfloat16', 'float64']);

/** A whole serialized storage: its key in the file, element type and, once read, its bytes. */
export class StorageRoot {
  /** Raw bytes of the storage, set by the format reader (zip entry or legacy record). */
  bytes: Uint8Array | null = null;
  /**
   * Reads `bytes` when a tensor first needs them, set by a format reader that defers the work
   * (the zip reader inflates an entry only then). It must return at least `numel` elements.
   */
  load: (() => Uint8Array) | null = null;
  /** Byte order of `bytes`. */
  littleEndian = true;

  constructor(
    readonly key: string,
    readonly storageType: string,
    readonly numel: number,
  ) {}

  /** Bytes per element. */
  get elementSize(): number {
    return STORAGE_TYPES[this.storageType].bytes;
  }

  /** `bytes`, loaded first if need be; null when the file has no data for this storage. */
  data(): Uint8Array | null {
    if (this.bytes === null && this.load !== null) {
      const load = this.load;
      this.load = null;
      this.bytes = load();
    }
    return this.bytes;
  }
}

/** Most dimensions a shape shows in an error message. */
const MAX_SHOWN_DIMS = 8;

/** `[3, 4]`, cut short after a few dimensions (a crafted shape may have thousands). */
export function shapeText(shape: readonly number[]): string {
  const shown = shape.slice(0, MAX_SHOWN_DIMS).join(', ');
  return `[${shown}${shape.length > MAX_SHOWN_DIMS ? `, ... (${shape.length} dimensions)` : ''}]`;
}

/**
 * The number of elements of a shape (its product). Dimensions are non-negative safe integers
 * (the pickle reader checks that); the product may pass 2^53 and is then only approximate,
 * which is still far above any limit.
 */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A storage as a tensor sees it: a root, or (legacy format) a view into a root. */
export class StorageRef {
  constructor(
    readonly root: StorageRoot,
    readonly offset: number,
    readonly numel: number,
  ) {}
}

/** What `_rebuild_tensor_v2` describes: storage, element offset, size and stride. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

function readElement(view: DataView, dtype: string, index: number, little: boolean): number {
  switch (dtype) {
    case 'float32':
      return view.getFloat32(index * 4, little);
    case 'float16':
      return halfToFloat(view.getUint16(index * 2, little));
    case 'bfloat16':
      return bfloat16ToFloat(view.getUint16(index * 2, little));
    default:
      return view.getFloat64(index * 8, little);
  }
}

/**
 * Checks what a tensor claims before anything is read or allocated: a float dtype, at most
 * `limits.tensorElements` elements, and every element it addresses (offset and strides applied;
 * a stride of 0 repeats an element, which torch allows) inside its storage.
 *
 * @returns the element count.
 */
export function checkTensor(tensor: TensorRef, key: string, limits: Limits): number {
  const { storage, shape, stride } = tensor;
  const { root } = storage;
  const dtype = STORAGE_TYPES[root.storageType].dtype;
  if (!FLOAT_DTYPES.has(dtype)) {
    throw new TorchFormatError(
      `tensor ${quote(key, 80)} is stored as torch.${root.storageType} (${dtype}); only float32, float16, bfloat16 and float64 tensors are supported`,
    );
  }
  const numel = elementCount(shape);
  checkLimit(limits, 'tensorElements', numel, `checkpoint tensor ${quote(key, 80)} (shape ${shapeText(shape)})`, 'elements');
  if (numel > 0) {
    let last = tensor.offset;
    for (let d = 0; d < shape.length; d++) last += (shape[d] - 1) * stride[d];
    if (last >= storage.numel) {
      throw new TorchFormatError(
        `tensor ${quote(key, 80)} (shape ${shapeText(shape)}, stride ${shapeText(stride)}, offset ${tensor.offset}) reaches element ${last} of a storage of ${storage.numel}`,
      );
    }
  }
  return numel;
}

/**
 * Copies a tensor out of its storage into a contiguous Float32Array, following offset and
 * strides, after {@link checkTensor}: nothing is read or allocated for a tensor that fails it.
 *
 * @param limits `tensorElements` bounds the element count; defaults as {@link resolveLimits}.
 */
export function materialise(tensor: TensorRef, key: string, limits: Limits = resolveLimits()): TorchTensor {
  const numel = checkTensor(tensor, key, limits);
  const { storage, shape, stride } = tensor;
  const { root } = storage;
  const dtype = STORAGE_TYPES[root.storageType].dtype;
  const bytes = root.data();
  if (bytes === null) {
    throw new TorchFormatError(`tensor ${quote(key, 80)}: the data of storage ${quote(root.key, 80)} is missing from the file`);
  }
  // The format readers check this; a last guard so that no read below can leave the bytes.
  if (bytes.length < (storage.offset + storage.numel) * root.elementSize) {
    throw new TorchFormatError(`tensor ${quote(key, 80)}: storage ${quote(root.key, 80)} has ${bytes.length} bytes, fewer than its elements need`);
  }
  const data = new Float32Array(numel);
  if (numel > 0) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const little = root.littleEndian;
    const base = storage.offset + tensor.offset;
    // Walk the elements in row-major order with an odometer over the dimensions; for the usual
    // contiguous tensor this reads the storage sequentially.
    const index = new Array<number>(shape.length).fill(0);
    let position = base;
    for (let i = 0; i < numel; i++) {
      data[i] = readElement(view, dtype, position, little);
      for (let d = shape.length - 1; d >= 0; d--) {
        index[d]++;
        position += stride[d];
        if (index[d] < shape[d]) break;
        position -= shape[d] * stride[d];
        index[d] = 0;
      }
    }
  }
  return { shape: [...shape], dtype: dtype as TorchDtype, data };
}
