/** The app's version, as `runner-core --version` prints it and the runner's `info.version` reports it. */
export const APP_VERSION = '0.1.0';
/** The source branch releases are cut from, as the `User-Agent` names it (gitlab-runner names its own there). */
export const APP_BRANCH = 'main';
