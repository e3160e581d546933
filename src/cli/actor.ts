/**
 * Who an operator's command acts as: `--actor NAME`, else the OS user; with the Temporal client's
 * identity, which the server also records on every message it takes.
 */
import { userInfo } from 'node:os';
import type { Client } from '@temporalio/client';
import type { Actor } from '../domain/cluster-controls.js';
import { labelProblem } from '../domain/text.js';
import { usageError } from './errors.js';

export const actorOptionHelp = `--actor NAME       who is acting, recorded in the audit event (default: the OS user)`;

/** The OS user, or null where the process has none (a container without a passwd entry): then `unknown`. */
export function osUser(): string | null {
  try {
    return userInfo().username || null;
  } catch {
    return null;
  }
}

/** The actor's name from `--actor` or the OS user; a usage error when it is not a printable line. */
export function actorName(command: string, raw: string | undefined): string {
  const user = raw ?? osUser() ?? 'unknown';
  const problem = labelProblem('--actor', user, 200);
  if (problem) throw usageError(`fleetview ${command}: ${problem}`);
  return user;
}

export function actorOf(user: string, client: Client): Actor {
  return { user, identity: client.options.identity };
}
