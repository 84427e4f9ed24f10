#!/usr/bin/env -S node --max-semi-space-size=64
// The `tributary` command. Sources are TypeScript; tsx compiles them on load. A larger young
// generation (64 MiB semi-spaces) cuts the garbage collection that records in flight cause:
// about -17% CPU per record on the source pipeline (docs/performance.md).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
