import { ClientConfigError } from '@runner-core/core';

/**
 * A URL as it may appear in a message: user name and password replaced by `***`, so credentials configured into
 * a URL are never echoed. Works on strings `URL` cannot parse, too.
 */
export function urlForDisplay(raw: string): string {
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/?#]*@/i, '$1***@');
}

/**
 * The runner API base of a configured GitLab URL, normalised as gitlab-runner does (docs/gitlab-protocol.md §1.1, T11):
 * trailing `/` removed repeatedly, then one trailing `/ci` removed, then `/api/v4/` appended.
 * `https://gitlab.example.com/ci///` → `https://gitlab.example.com/api/v4/`.
 *
 * @throws {ClientConfigError} when the URL does not parse, its scheme is not `http` or `https`, or it carries a
 *   query or fragment. The message shows the URL without credentials.
 */
export function runnerApiBase(configured: string): URL {
  const shown = urlForDisplay(configured);
  let trimmed = configured.trim();
  while (trimmed.endsWith('/')) trimmed = trimmed.slice(0, -1);
  if (trimmed.endsWith('/ci')) trimmed = trimmed.slice(0, -'/ci'.length);
  let url: URL;
  try {
    url = new URL(`${trimmed}/api/v4/`);
  } catch {
    throw new ClientConfigError(`GitLab URL "${shown}" is not a valid URL (expected http(s)://host[/path])`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ClientConfigError(
      `GitLab URL "${shown}" has scheme "${url.protocol.slice(0, -1)}": only http and https are supported`,
    );
  }
  if (url.search !== '' || url.hash !== '') {
    throw new ClientConfigError(`GitLab URL "${shown}" must not carry a query or a fragment`);
  }
  return url;
}
