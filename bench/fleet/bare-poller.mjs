// The floor of the fleet benchmark: exactly the HTTP work of one fleetview refresh per node per
// interval (agent info, then datastore info and shards together), with one keep-alive agent and
// nothing else (no parsing beyond JSON, no state, no output). Plain JavaScript run by `node`
// itself, so no TypeScript loader sits in the process whose CPU is the floor.
//   node bench/fleet/bare-poller.mjs <sim url> <interval seconds>
// Reads the node list from the sim's GET /discovery, prints `poller ready <nodes>`, then polls
// until SIGTERM. Each node keeps a stable phase in the interval, as fleetview's clusters do.
import http from 'node:http';

const [simUrl, intervalArg] = process.argv.slice(2);
const intervalMs = Number(intervalArg) * 1000;
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function get(url) {
  return new Promise((resolve) => {
    const request = http.get(url, { agent, timeout: 5000 }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => {
        try {
          resolve(response.statusCode === 200 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : null);
        } catch {
          resolve(null);
        }
      });
      response.on('error', () => resolve(null));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(null));
  });
}

async function poll(base) {
  if ((await get(`${base}/api/unstable/info/agent`)) === null) return;
  await Promise.all([get(`${base}/api/unstable/info/datastore`), get(`${base}/api/unstable/shards`)]);
}

const discovery = await get(`${simUrl}/discovery`);
const nodes = discovery.clusters.flatMap((cluster) => cluster.nodes);
nodes.forEach((base, index) => {
  const phaseMs = (index * intervalMs) / nodes.length;
  setTimeout(() => {
    void poll(base);
    setInterval(() => void poll(base), intervalMs);
  }, phaseMs);
});
process.stdout.write(`poller ready ${nodes.length}\n`);
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
