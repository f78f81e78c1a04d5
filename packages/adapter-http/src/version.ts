/**
 * This package's version, for the default `User-Agent`. A test keeps it equal to `package.json`'s `version`
 * (reading the manifest at run time would need a different relative path from `src/` and from `dist/src/`).
 */
export const ADAPTER_VERSION = '0.1.0';
