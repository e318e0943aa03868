// Entry of dist/irn-image.bundle.js, the self-contained file for a <script type="module"> tag
// (Lit, @irn/core and TensorFlow.js inside). It restores in the page's thread unless an element
// says `worker`: the worker would load a second copy of TensorFlow.js, which the bundle already
// holds. With `worker`, @irn/core's self-contained worker.js, copied beside the bundle by the
// build, takes the work off the page's thread.
import { IrnImage } from './index.js';

IrnImage.defaults.worker = false;

export * from './index.js';
