#!/usr/bin/env node
// The package's `aide` bin: registers tsx relative to this file (not the caller's directory), then runs the TypeScript CLI.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
