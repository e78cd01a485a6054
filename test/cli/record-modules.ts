// Loaded with `node --import` by test/cli/startup.test.ts: writes every module URL the process loads
// to the file named by RECORD_MODULES_TO when it exits.
import { appendFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const target = process.env['RECORD_MODULES_TO'];
const loaded: string[] = [];
registerHooks({
  load(url, context, nextLoad) {
    loaded.push(url);
    return nextLoad(url, context);
  },
});
process.on('exit', () => {
  if (target !== undefined) appendFileSync(target, `${loaded.join('\n')}\n`);
});
