#!/usr/bin/env node
// The published entry point runs the compiled CLI (npm run build) through its code cache
// (src/cli/launch.ts); tests run src/ through tsx.
import { launch } from '../dist/cli/launch.js';

process.exitCode = await launch(process.argv);
