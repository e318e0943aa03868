/** A byte count for people: `812 B`, `21.4 kB`, `6.7 MB`. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  return `${(n / 1e6).toFixed(1)} MB`;
}

/** An integer with thousands separators: `1,667,952`. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
