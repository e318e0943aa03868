// The mocha BDD globals that @web/test-runner provides in the page; only what these tests use
// (no @types/mocha dependency for four functions).
type MochaFn = (this: unknown) => void | Promise<void>;
declare function describe(name: string, fn: () => void): void;
declare function it(name: string, fn: MochaFn): void;
declare function before(fn: MochaFn): void;
declare function after(fn: MochaFn): void;
declare function beforeEach(fn: MochaFn): void;
declare function afterEach(fn: MochaFn): void;
