// Checks custom-elements.json against the source, so the documented API cannot drift from the
// code: every attribute of IrnImage.properties, every event in HTMLElementEventMap (events.ts),
// every part in the template and every --irn-image-* property used by the styles must be in the
// manifest, with a description. Run by `pnpm build` after `cem analyze`.
import { readFileSync } from 'node:fs';

const here = new URL('..', import.meta.url);
const read = (path) => readFileSync(new URL(path, here), 'utf8');
const manifest = JSON.parse(read('custom-elements.json'));
const element = manifest.modules.flatMap((m) => m.declarations ?? []).find((d) => d.tagName === 'irn-image');
if (element == null) throw new Error('custom-elements.json has no irn-image');

const source = read('src/irn-image.ts');
const properties = /static override properties = \{([\s\S]*?)\n {2}\};/.exec(source)[1];
const expected = {
  attributes: [...properties.matchAll(/^\s+(\w+): \{([^}]*)\}/gm)].map(([, name, opts]) => /attribute: '([^']+)'/.exec(opts)?.[1] ?? name.toLowerCase()),
  events: [...read('src/events.ts').matchAll(/^\s+'(irn-[a-z-]+)': /gm)].map((m) => m[1]),
  cssParts: [...new Set([...source.matchAll(/part=\$\{[^}]*\}/g)].flatMap((m) => [...m[0].matchAll(/'([a-z ]+)'/g)].flatMap((p) => p[1].split(' '))))],
  cssProperties: [...new Set([...read('src/irn-image.styles.ts').matchAll(/var\((--irn-image-[a-z-]+)/g)].map((m) => m[1]))],
  cssStates: [...source.matchAll(/setState\(this\.internals, '([a-z-]+)'/g)].map((m) => m[1]),
};

const problems = [];
for (const [kind, names] of Object.entries(expected)) {
  if (names.length === 0) problems.push(`found no ${kind} in the source (has the code moved?)`);
  const documented = new Map((element[kind] ?? []).map((x) => [x.name, x]));
  for (const name of names) {
    const entry = documented.get(name);
    if (entry == null) problems.push(`${kind}: ${name} is in the source but not in custom-elements.json`);
    else if (!entry.description && !entry.summary) problems.push(`${kind}: ${name} has no description`);
  }
}
if (problems.length > 0) {
  console.error(`custom-elements.json is out of date or incomplete:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`custom-elements.json: ${Object.entries(expected).map(([k, v]) => `${v.length} ${k}`).join(', ')}`);
