// Registering the workflows' search attributes (src/adapters/search-attributes.ts) on a fake
// operator service: only the missing ones are added; a refusal or a wrong type names them.
// test/integration/search-attributes.test.ts runs `fleetview start` against a real dev server.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Client } from '@temporalio/client';
import { ensureSearchAttributes, SearchAttributesError } from '../../src/adapters/search-attributes.js';

function fakeClient(custom: Record<string, number>, refuse: Error | null = null) {
  const added: Array<Record<string, number>> = [];
  const operatorService = {
    listSearchAttributes: () => Promise.resolve({ customAttributes: { ...custom }, systemAttributes: { WorkflowId: 2 } }),
    addSearchAttributes: (request: { searchAttributes: Record<string, number> }) => {
      if (refuse) return Promise.reject(refuse);
      added.push(request.searchAttributes);
      Object.assign(custom, request.searchAttributes);
      return Promise.resolve({});
    },
  };
  return { client: { connection: { operatorService } } as unknown as Pick<Client, 'connection'>, added };
}

it('adds only the attributes the namespace lacks, with their types; nothing when all are there', async () => {
  const { client, added } = fakeClient({ ClusterId: 2, CustomKeywordField: 2 });
  assert.deepEqual(await ensureSearchAttributes(client, 'default'), { present: ['ClusterId'], added: ['FleetviewPaused', 'FleetviewMaintenance'] });
  assert.deepEqual(added, [{ FleetviewPaused: 5, FleetviewMaintenance: 5 }], 'Bool is 5 in IndexedValueType');
  assert.deepEqual(await ensureSearchAttributes(client, 'default'), { present: ['ClusterId', 'FleetviewPaused', 'FleetviewMaintenance'], added: [] });
  assert.equal(added.length, 1);
});

it('a server that refuses: the error names each missing attribute and how to add it', async () => {
  const { client } = fakeClient({ ClusterId: 2 }, new Error('7 PERMISSION_DENIED: Request unauthorized.\nmore'));
  await assert.rejects(ensureSearchAttributes(client, 'prod'), (err: Error) => {
    assert.ok(err instanceof SearchAttributesError);
    assert.match(err.message, /^namespace prod lacks the search attributes FleetviewPaused \(Bool\), FleetviewMaintenance \(Bool\) and Temporal refused to add them: 7 PERMISSION_DENIED: Request unauthorized\.\n/);
    assert.match(err.message, /temporal operator search-attribute create --namespace prod --name FleetviewMaintenance --type Bool/);
    assert.doesNotMatch(err.message, /--name ClusterId/);
    return true;
  });
});

it('an attribute of another type is refused before anything is added', async () => {
  const { client, added } = fakeClient({ ClusterId: 1 });
  await assert.rejects(ensureSearchAttributes(client, 'default'), /namespace default has ClusterId as Text; fleetview needs ClusterId as Keyword/);
  assert.deepEqual(added, []);
});
