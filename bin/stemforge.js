#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (npm run build).
let cli;
try {
  cli = await import('../dist/src/cli/main.js');
} catch (err) {
  // a checkout without `npm ci` or `npm run build`: say so, not Node's stack trace
  const missing = err instanceof Error && 'code' in err && err.code === 'ERR_MODULE_NOT_FOUND';
  process.stderr.write(
    missing
      ? `stemforge: error: ${err.message.split('\n')[0]}\n  what to do: run \`npm ci && npm run build\` in the stemforge folder\n`
      : `stemforge: error: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
}
cli.guardProcess();
const code = await cli.main(process.argv);
// Exit explicitly: a handle left open after the command ended (an SSH connection on an
// error path, a timer) must never keep the CLI hanging. Output is flushed first.
await Promise.all([process.stdout, process.stderr].map((s) => new Promise((resolve) => s.write('', resolve))));
process.exit(code);
