// Types of check-publish.mjs, for the tests (test/check-publish_test.ts).

/** The files of a gzipped tarball made by `pnpm pack`, by path without the leading `package/`. */
export declare function readTarball(gz: Uint8Array): Map<string, Buffer>;

/** What is wrong with the packed files of one package, one line each (empty when nothing is). */
export declare function problems(files: Map<string, Buffer>): string[];

/** The scripts (.js, .mjs, .cjs) of `files` that no entry point target (`./dist/x.js`, one `*` allowed) reaches, sorted. */
export declare function unreachedScripts(files: Map<string, Buffer>, entryTargets: readonly string[]): string[];
