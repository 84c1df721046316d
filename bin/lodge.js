#!/usr/bin/env node
'use strict';
// `npx lodge …` from the repository root: runs the CLI from its TypeScript sources, compiled
// on the fly (transpile only) with the project's path aliases.
const path = require('node:path');
const root = path.join(__dirname, '..');
require('ts-node').register({ transpileOnly: true, project: path.join(root, 'tsconfig.json') });
const { compilerOptions } = require(path.join(root, 'tsconfig.json'));
require('tsconfig-paths').register({ baseUrl: root, paths: compilerOptions.paths });
require(path.join(root, 'apps', 'lodge', 'src', 'main.ts'));
