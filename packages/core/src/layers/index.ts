export { InvertibleLayer, type FlowResult } from './flow.js';
export { HaarDownsampling } from './haar.js';
export { DenseBlock, type DenseBlockArgs } from './dense-block.js';
export { AffineCoupling, type AffineCouplingArgs, type SubnetFactory, type SubnetRole } from './affine-coupling.js';
export { InvertibleSequence } from './sequence.js';
export { conv2dSame } from './conv.js';
