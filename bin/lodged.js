#!/usr/bin/env node
'use strict';
// `npx lodged …` from the repository root: the daemon, from its TypeScript sources.
require('./run-ts')('apps/lodged/src/main.ts');
