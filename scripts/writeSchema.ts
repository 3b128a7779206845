// Regenerates schemas/p2p.schema.json from src/core/schema.ts (a test fails when it is stale).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toJsonSchema } from '../src/core/jsonSchema';

writeFileSync(join(__dirname, '..', 'schemas', 'p2p.schema.json'), JSON.stringify(toJsonSchema(), null, 2) + '\n');
