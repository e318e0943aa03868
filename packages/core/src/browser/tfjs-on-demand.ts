// What the browser rescaler's page side takes from TensorFlow.js only on demand (a `'tensor'`
// output, the IndexedDB model cache), loaded with `import('./tfjs-on-demand.js')`. Named
// re-exports on purpose: `import('@tensorflow/tfjs-core')` hands out the whole namespace, which
// a bundler must then keep whole (+42 KiB of tfjs-core in every bundle, bench/bundle-size.ts).
export { io, tensor3d } from '@tensorflow/tfjs-core';
