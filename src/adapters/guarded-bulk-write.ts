/**
 * Guarded bulk writes, shared by the cluster store and the discovery store. A write is guarded
 * by its filter (only an older generation, only an older run); an upsert that meets a newer
 * document misses it and collides on `_id` (E11000, duplicate key), and so does an insert that
 * meets any document. Either way that is the guard winning, not a failure: this module is the
 * one place that says so.
 */
import { MongoBulkWriteError, type AnyBulkWriteOperation, type BulkWriteResult, type Collection, type Document, type WriteError } from 'mongodb';

/** The server's code for a duplicate key (E11000). */
const duplicateKeyCode = 11000;

/**
 * Statements per bulk command. The bound FerretDB v1 needed (the embedded store before
 * mongo-java-server deadlocked above 100 matching updates in one command: store-writes.md);
 * kept as it was.
 */
export const maxWritesPerCommand = 50;

/** True for a duplicate key (E11000): a command's error, or one statement's in a bulk write. */
export function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === duplicateKeyCode;
}

/**
 * What became of one statement: written; refused by the guard (a duplicate key); in doubt (it
 * failed otherwise, or its command got no answer); not sent (an earlier command failed).
 */
export type WriteOutcome = 'written' | 'refused' | 'in doubt' | 'not sent';

export interface GuardedWriteResult {
  /** One per statement, in order. */
  outcomes: WriteOutcome[];
  /** The failure that stopped the writes; null when every command was answered with at most duplicate keys. */
  error: Error | null;
}

export interface GuardedBulkWriteOptions {
  /** The server's bound of each command (`maxTimeMS`); default: none. */
  maxTimeMS?: number;
  /** Bounds the wait for each command's answer (`what` names the write); default: the client's own timeouts. */
  bound?: (command: Promise<BulkWriteResult>, what: string) => Promise<BulkWriteResult>;
}

/**
 * Runs the statements unordered (each one is written or refused on its own), in commands of at
 * most `maxWritesPerCommand`, and says what became of each. Stops at the first command that
 * fails other than by duplicate keys and returns its error: never throws.
 */
export async function guardedBulkWrite<T extends Document>(
  collection: Collection<T>,
  operations: AnyBulkWriteOperation<NoInfer<T>>[],
  options: GuardedBulkWriteOptions = {},
): Promise<GuardedWriteResult> {
  const outcomes = new Array<WriteOutcome>(operations.length).fill('not sent');
  const commandOptions = { ordered: false, ...(options.maxTimeMS === undefined ? {} : { maxTimeMS: options.maxTimeMS }) };
  for (let start = 0; start < operations.length; start += maxWritesPerCommand) {
    const chunk = operations.slice(start, start + maxWritesPerCommand);
    try {
      const command = collection.bulkWrite(chunk, commandOptions);
      await (options.bound ? options.bound(command, `a write to ${collection.collectionName}`) : command);
      outcomes.fill('written', start, start + chunk.length);
    } catch (err) {
      if (!(err instanceof MongoBulkWriteError)) {
        outcomes.fill('in doubt', start, start + chunk.length);
        return { outcomes, error: err as Error };
      }
      // Unordered: every statement without an error was written.
      outcomes.fill('written', start, start + chunk.length);
      const errors = ([] as WriteError[]).concat(err.writeErrors as WriteError | WriteError[]);
      for (const e of errors) outcomes[start + e.index] = isDuplicateKey(e) ? 'refused' : 'in doubt';
      if (!errors.every(isDuplicateKey)) return { outcomes, error: err };
    }
  }
  return { outcomes, error: null };
}

/** The same for a caller that retries nothing itself: the failure is thrown, the outcomes (which were refused) returned. */
export async function guardedBulkWriteOrThrow<T extends Document>(
  collection: Collection<T>,
  operations: AnyBulkWriteOperation<NoInfer<T>>[],
  options: GuardedBulkWriteOptions = {},
): Promise<WriteOutcome[]> {
  const { outcomes, error } = await guardedBulkWrite(collection, operations, options);
  if (error) throw error;
  return outcomes;
}
