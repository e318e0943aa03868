import type { BackendChoice, Rescaler } from '@irn/core/browser';

type Core = typeof import('@irn/core/browser/rescaler');

let core: Promise<Core> | null = null;
let loaded: Core | null = null;

/**
 * `@irn/core`'s Rescaler (and through it TensorFlow.js), imported on first use only: importing
 * `@irn/element` must stay cheap and safe where there is no DOM (server-side rendering). The
 * narrow `@irn/core/browser/rescaler`, not the `@irn/core/browser` barrel: with a worker, the
 * page then loads no TensorFlow.js with esbuild too, whose code splitting puts what a barrel
 * re-exports into the chunk that imports it (bench/bundle-size.ts).
 */
export function loadCore(): Promise<Core> {
  if (core == null) {
    core = import('@irn/core/browser/rescaler');
    core.then(
      (c) => void (loaded = c),
      () => (core = null),
    );
  }
  return core;
}

/** `@irn/core`'s Rescaler module once {@link loadCore} has loaded it, else null. */
export function loadedCore(): Core | null {
  return loaded;
}

/** What makes two elements able to share one loaded model. */
export interface SharedModelKey {
  /** A preset name, or an absolute model.json URL. */
  model: string;
  backend: BackendChoice;
  /** Absolute URL of the presets' folder; undefined: the library's default (`@irn/weights`). */
  weightsUrl?: string;
  /** Absolute URL of the CDN presets fall back to, or false for none; undefined: the library's default. */
  cdn?: string | false;
  worker: boolean;
  wasmPaths?: string;
}

const rescalers = new Map<string, Promise<Rescaler>>();

/** Stops the downloads of each model still loading (see {@link releaseSharedModels}). */
const loading = new Map<Promise<Rescaler>, AbortController>();

/**
 * The page's {@link Rescaler} for `key`, created on first request: every `<irn-image>` with the
 * same model, backend and weights folder uses one loaded model. A failed load is forgotten, so
 * a later element tries again.
 */
export function sharedRescaler(key: SharedModelKey): Promise<Rescaler> {
  const id = JSON.stringify([key.model, key.backend, key.weightsUrl ?? null, key.cdn ?? null, key.worker, key.wasmPaths ?? null]);
  let pending = rescalers.get(id);
  if (pending == null) {
    // The model's downloads can be stopped: a server that stalls would otherwise hold them,
    // and releaseSharedModels() waiting for them, for ever.
    const controller = new AbortController();
    const created = loadCore().then(({ Rescaler }) =>
      Rescaler.create({
        model: key.model,
        backend: key.backend,
        worker: key.worker,
        signal: controller.signal,
        ...(key.weightsUrl != null ? { weightsUrl: key.weightsUrl } : {}),
        ...(key.cdn != null ? { cdn: key.cdn } : {}),
        ...(key.wasmPaths != null ? { wasmPaths: key.wasmPaths } : {}),
      }),
    );
    pending = created;
    rescalers.set(id, created);
    loading.set(created, controller);
    created.then(
      () => loading.delete(created),
      () => {
        loading.delete(created);
        if (rescalers.get(id) === created) rescalers.delete(id);
      },
    );
  }
  return pending;
}

/** How many models are loaded or loading. */
export function sharedModelCount(): number {
  return rescalers.size;
}

/**
 * Frees every shared model (their tensors, GPU memory and workers). Elements that restore
 * later load their model again. For single-page apps that leave a page of photos, and tests.
 */
export async function releaseSharedModels(): Promise<void> {
  const all = [...rescalers.values()];
  rescalers.clear();
  // A model still loading stops downloading (one whose server stalls would never settle).
  for (const p of all) loading.get(p)?.abort(new DOMException('releaseSharedModels() was called', 'AbortError'));
  await Promise.all(all.map((p) => p.then((r) => r.dispose()).catch(() => undefined)));
}
