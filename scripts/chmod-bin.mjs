// Makes the compiled CLI executable (tsc does not keep file modes), so `npx ffit` works from a clone.
import { chmodSync } from 'node:fs';
chmodSync(new URL('../dist/cli.js', import.meta.url), 0o755);
