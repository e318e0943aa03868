/** Chromium's executable: `CHROMIUM_PATH`, or Debian's `/usr/bin/chromium`. */
export declare const chromiumPath: string;
/** Headless flags for software WebGL and WebGPU (see chromium.mjs). */
export declare const chromiumArgs: string[];
