// How every browser run here starts Debian's Chromium (ENVIRONMENT.md, "Browser tests"): the
// browser tests (web-test-runner.config.mjs) and the browser benchmark share these.

/** Chromium's executable: `CHROMIUM_PATH`, or Debian's `/usr/bin/chromium`. */
export const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/**
 * Flags measured to work headless without a GPU: SwiftShader for WebGL (ANGLE) and WebGPU
 * (Vulkan); the background-networking flags stop Chromium calling hosts CI cannot reach.
 */
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--use-angle=swiftshader',
];
