// Exit 0 when Temporal, Kafka and MongoDB all answer on the configured addresses, else 1.
import { loadConfig } from '../src/config.js';
import { checkServices } from '../src/adapters/service-health.js';

const results = await checkServices(loadConfig());
for (const r of results) {
  console.log(`${r.ok ? 'up  ' : 'down'} ${r.service.padEnd(8)} ${r.address}  ${r.detail}`);
}
process.exit(results.every((r) => r.ok) ? 0 : 1);
