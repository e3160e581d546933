import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  agentAddressProblem,
  clusterIdProblem,
  clusterWorkflowId,
  nodeIdProblem,
  normalizeAgentAddress,
} from '../../src/domain/ids.js';

describe('clusterIdProblem', () => {
  for (const id of ['rs0', 'orders.eu-1', 'Kafka_prod', '9', 'a'.repeat(128)]) {
    it(`accepts ${id.slice(0, 20)}`, () => assert.equal(clusterIdProblem(id), null));
  }
  for (const id of ['', '.hidden', '-x', 'a/b', 'a b', 'café', '$where', 'a'.repeat(129)]) {
    it(`rejects ${JSON.stringify(id.slice(0, 20))}`, () => assert.match(clusterIdProblem(id) ?? '', /invalid cluster id/));
  }
  it('rejects a non-string and says what it got', () => {
    assert.equal(clusterIdProblem(42), 'cluster id must be a string, got a number');
    assert.equal(clusterIdProblem({ $gt: '' }), 'cluster id must be a string, got an object');
    assert.equal(clusterIdProblem(undefined), 'cluster id is missing');
  });
  it('escapes control characters in the message', () => {
    assert.equal(
      clusterIdProblem('a\u001b[2J\u009b\u202e'),
      'invalid cluster id "a\\u001b[2J\\u009b\\u202e": expected 1 to 128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit',
    );
  });
  it('truncates a long id in the message', () => {
    const problem = clusterIdProblem('x'.repeat(300)) ?? '';
    assert.ok(problem.length < 220, problem);
    assert.match(problem, /\.\.\."/);
  });
});

describe('nodeIdProblem', () => {
  for (const id of ['mongo-1:27017', 'broker-3', '[::1]:9092', 'zk@host.example', '_internal', 'a'.repeat(256)]) {
    it(`accepts ${id.slice(0, 20)}`, () => assert.equal(nodeIdProblem(id), null));
  }
  for (const id of ['', 'a b', 'a/b', '$x', 'x"y', ':27017', 'a'.repeat(257)]) {
    it(`rejects ${JSON.stringify(id.slice(0, 20))}`, () => assert.match(nodeIdProblem(id) ?? '', /invalid node id/));
  }
  it('rejects a non-string', () => {
    assert.equal(nodeIdProblem(null), 'node id must be a string, got null');
  });
});

describe('agentAddressProblem', () => {
  for (const address of ['http://mongo-1:37017', 'https://10.0.0.1:37017/agent', 'http://[::1]:8080']) {
    it(`accepts ${address}`, () => assert.equal(agentAddressProblem(address), null));
  }
  const rejected: Array<[string, RegExp]> = [
    ['mongo-1:37017/x', /expected http/],
    ['not-a-url', /not a URL/],
    ['http://host/a b', /a space/],
    ['http://host/\u001b[2J', /"http:\/\/host\/\\u001b\[2J": control character U\+001B at index 12/],
    ['http://host/caf\ufffd', /U\+FFFD at index 15 \(the text was not valid UTF-8\)/],
    ['ftp://host/', /expected http/],
    ['http://user:pw@host/', /credentials/],
    ['http://host/?q=1', /query/],
    ['http://host/#frag', /fragment/],
    [`http://host/${'a'.repeat(2048)}`, /longer than 2048/],
  ];
  for (const [address, problem] of rejected) {
    it(`rejects ${address.slice(0, 30)}`, () => assert.match(agentAddressProblem(address) ?? '', problem));
  }
  it('rejects a non-string', () => {
    assert.equal(agentAddressProblem(undefined), 'agent address is missing');
    assert.equal(agentAddressProblem({ $gt: '' }), 'agent address must be a string, got an object');
  });
  it('never repeats credentials or query values in its message', () => {
    const problem = agentAddressProblem('http://admin:s3cret@host/?token=t0ken') ?? '';
    assert.match(problem, /^invalid agent address "http:\/\/\*\*\*@host\/\?\*\*\*": credentials, query and fragment are not allowed$/);
  });
});

describe('normalizeAgentAddress and clusterWorkflowId', () => {
  it('trims every trailing slash and nothing else', () => {
    assert.equal(normalizeAgentAddress('https://mongo-1:37017//'), 'https://mongo-1:37017');
    assert.equal(normalizeAgentAddress('https://mongo-1:37017/agent/'), 'https://mongo-1:37017/agent');
    assert.equal(normalizeAgentAddress('https://mongo-1:37017'), 'https://mongo-1:37017');
  });
  it('names the cluster workflow cluster/<id>', () => {
    assert.equal(clusterWorkflowId('rs0'), 'cluster/rs0');
  });
});
