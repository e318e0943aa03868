// Types of ensure-built.mjs, for the tests (test/ensure-built_test.ts).

/** A workspace package with a build: what it is built from and what its build writes. */
export interface BuiltPackage {
  name: string;
  /** Files or folders (walked, tests left out), relative to the repository root. */
  inputs: string[];
  /** Files every build rewrites, relative to the repository root. */
  outputs: string[];
  /** Names of the packages (earlier in the list) whose outputs are inputs of this one. */
  bundles: string[];
}

/** The repository's packages with a build, in build order. */
export declare const PACKAGES: BuiltPackage[];

/** Why node_modules under `root` needs `pnpm install`, or null when it is up to date. */
export declare function installReason(root?: string): string | null;

/** The stale packages of `packages` under `root`, in build order, each with why. */
export declare function buildPlan(root?: string, packages?: BuiltPackage[]): { name: string; reason: string }[];

/** The packages that building `names` needs (they and what they bundle); all when empty. */
export declare function needed(names: string[], packages?: BuiltPackage[]): Set<string>;
