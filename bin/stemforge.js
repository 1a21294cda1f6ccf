#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (npm run build).
import { main } from '../dist/src/cli/main.js';

const code = await main(process.argv);
// Exit explicitly: a handle left open after the command ended (an SSH connection on an
// error path, a timer) must never keep the CLI hanging. Output is flushed first.
await Promise.all([process.stdout, process.stderr].map((s) => new Promise((resolve) => s.write('', resolve))));
process.exit(code);
