#!/usr/bin/env node
'use strict';
// `npx lodge …` from the repository root: the CLI, from its TypeScript sources.
require('./run-ts')('apps/lodge/src/main.ts');
