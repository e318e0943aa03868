// Types of dev-server.config.mjs, for the end-to-end tests that start the same server.
import type { DevServerConfig } from '@web/dev-server';

declare const config: DevServerConfig;
export default config;
