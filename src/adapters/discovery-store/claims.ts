/**
 * Runs that race (one started by hand beside the schedule's) decide by claim documents: a
 * discovery's due slot, or a cluster's retirement, is claimed by inserting a document with a
 * deterministic `_id`, and exactly one insert wins.
 */
import type { ClaimedDiscovery, DiscoveryRunOutcome, InvalidStoredSetting } from '../../domain/discovery-run.js';
import { isDuplicateKey } from '../guarded-bulk-write.js';
import type { DiscoveryCollections } from './collections.js';
import { iso, parseStored, type ClaimDocument } from './documents.js';

export interface RunClaimStore {
  /**
   * Claims the enabled discoveries due at `at` for one run and moves their `next_run` to
   * `at + interval` (fixed rate). A discovery is claimed by one run only; the same claimant
   * claiming again (an activity retry) gets the same discoveries back.
   */
  claimDue(at: Date, claimant: string): Promise<{ claimed: ClaimedDiscovery[]; invalid: InvalidStoredSetting[]; enabled: string[]; held: Record<string, number> }>;
  recordOutcome(name: string, outcome: DiscoveryRunOutcome): Promise<void>;
}

/** Inserts the claim unless it exists; returns the claim that stands (ours or the winner's). */
export async function claimOnce({ claims }: DiscoveryCollections, claim: ClaimDocument): Promise<ClaimDocument> {
  try {
    await claims.insertOne(claim);
    return claim;
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
  const standing = await claims.findOne({ _id: claim._id });
  if (!standing) throw new Error(`claim ${claim._id} collided but cannot be read`);
  return standing;
}

export function createRunClaimStore(collections: DiscoveryCollections): RunClaimStore {
  const { settings, claims } = collections;
  return {
    async claimDue(at, claimant) {
      const candidates = await settings.find({ enabled: true }).sort({ _id: 1 }).toArray();
      const claimed: ClaimedDiscovery[] = [];
      const invalid: InvalidStoredSetting[] = [];
      for (const doc of candidates) {
        let mine: boolean;
        if (doc.next_run.getTime() <= at.getTime()) {
          const slot = `run/${doc._id}@${iso(doc.next_run)}`;
          mine = (await claimOnce(collections, { _id: slot, kind: 'run', subject: doc._id, by: claimant, at })).by === claimant;
          if (mine) {
            // Guarded by the slot: an apply meanwhile (due at once again) is not undone.
            await settings.updateOne(
              { _id: doc._id, next_run: doc.next_run },
              { $set: { next_run: new Date(at.getTime() + doc.interval * 1000), claim: { by: claimant, at } } },
            );
            await claims.deleteMany({ kind: 'run', subject: doc._id, _id: { $ne: slot } });
          }
        } else {
          // Not due any more: because this very run claimed it before (the activity is retried)?
          mine = (await claims.findOne({ kind: 'run', subject: doc._id, by: claimant })) !== null;
        }
        if (!mine) continue;
        const parsed = parseStored(doc);
        if (parsed.ok) claimed.push({ name: parsed.setting.name, interval: parsed.setting.interval });
        else invalid.push({ name: doc._id, problem: parsed.problem });
      }
      // Read anyway: the worker's gauge of held retirements follows every tick.
      const held = Object.fromEntries(candidates.map((doc) => [doc._id, doc.retirement_hold?.held ?? 0]));
      return { claimed, invalid, enabled: candidates.map((doc) => doc._id), held };
    },

    async recordOutcome(name, outcome) {
      const at = new Date(outcome.at);
      // An older run finishing late never hides a newer outcome.
      await settings.updateOne(
        { _id: name, $or: [{ last_run: null }, { 'last_run.at': { $lte: at } }] },
        { $set: { last_run: { ...outcome, at } } },
      );
    },
  };
}
