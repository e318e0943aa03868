// Entry of dist/irn-image.bundle.js, the self-contained file for a <script type="module"> tag
// (Lit, @irn/core and TensorFlow.js inside). A bundle cannot ship the rescaler's worker script
// next to itself, so it restores in the page's thread unless an element says `worker`
// (which then needs @irn/core's worker.js beside the bundle).
import { IrnImage } from './index.js';

IrnImage.defaults.worker = false;

export * from './index.js';
