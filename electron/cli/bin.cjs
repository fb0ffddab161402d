#!/usr/bin/env node
// The `kdlab` command: a thin launcher for the bundled CLI (dist/cli.mjs, made by `npm run build`).
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const appRoot = join(__dirname, '..', '..');
const entry = join(appRoot, 'dist', 'cli.mjs');
if (!existsSync(entry)) {
  console.error(`kdlab: the CLI is not built yet (no ${entry}). Run: npm run build (in ${appRoot})`);
  process.exit(2);
}
import(pathToFileURL(entry).href)
  .then((cli) => cli.main(process.argv.slice(2), { appRoot }))
  .then((code) => {
    process.exitCode = code;
  })
  .catch((error) => {
    console.error(`kdlab: ${error && error.stack ? error.stack : error}`);
    process.exitCode = 1;
  });
