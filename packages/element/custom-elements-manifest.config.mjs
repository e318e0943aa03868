// `cem analyze` (run by `pnpm build`) writes custom-elements.json from the TSDoc of
// src/irn-image.ts (@fires, @csspart, @cssprop, @cssstate) and Lit's static properties.
export default {
  globs: ['src/index.ts', 'src/irn-image.ts', 'src/events.ts'],
  outdir: '.',
  litelement: true,
};
