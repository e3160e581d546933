/**
 * Discovery settings as they may be shown: in CLI output, error messages, logs and workflow
 * histories. Header values (bearer tokens, API keys) and the secrets a URL can carry (the
 * password of its user info, its query values) are masked; everything else stays readable.
 */
import type { DiscoverySetting } from './settings.js';

export const redacted = '[redacted]';

/** `https://user:***@inventory/discovery?token=***`: the URL with its password and query values masked. */
export function displayUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@').replace(/\?.*$/, '?***');
  }
  if (parsed.password) parsed.password = '***';
  for (const name of [...new Set(parsed.searchParams.keys())]) parsed.searchParams.set(name, '***');
  return parsed.search ? parsed.toString().replace(/%2A%2A%2A/g, '***') : parsed.toString();
}

export function redactedSetting(setting: DiscoverySetting): DiscoverySetting {
  if (setting.backend === 'file') return setting;
  const headers = Object.fromEntries(Object.keys(setting.options.headers).map((name) => [name, redacted]));
  return { ...setting, options: { ...setting.options, url: displayUrl(setting.options.url), headers } } as DiscoverySetting;
}
