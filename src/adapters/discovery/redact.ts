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

/**
 * A URL as an audit event carries it: as displayUrl shows it, and the user name and fragment
 * masked too (a token passed as the user name, `https://TOKEN@host/`, is common enough).
 */
function auditedUrl(url: string): string {
  const shown = displayUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(shown);
  } catch {
    return shown.replace(/\/\/[^/@]*@/, '//***@').replace(/#.*$/, '#***');
  }
  if (parsed.username) parsed.username = '***';
  if (parsed.hash) parsed.hash = '***';
  return parsed.toString().replace(/%2A%2A%2A/g, '***');
}

/**
 * Settings as the audit events (DISCOVERY_APPLIED, DISCOVERY_DELETED) carry them. Events stay on
 * the topic for its retention and reach every consumer, so they mask more than the CLI shows:
 * besides header values and the URL's password and query values, the URL's user name and
 * fragment and every value of a POST body (its keys stay, so a change still shows where).
 */
export function auditedSetting(setting: DiscoverySetting): Record<string, unknown> {
  const shown = redactedSetting(setting);
  if (shown.backend === 'file') return { ...shown, options: { ...shown.options } };
  const options: Record<string, unknown> = { ...shown.options, url: auditedUrl(shown.options.url) };
  if (shown.backend === 'http') options.body = Object.fromEntries(Object.keys(shown.options.body).map((key) => [key, redacted]));
  return { ...shown, options };
}
