/** The app's version, as `runner-core --version` prints it and the runner's `info.version` reports it. */
export const APP_VERSION = '0.1.0';
