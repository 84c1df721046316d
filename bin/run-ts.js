'use strict';
// Shared by bin/lodged.js and bin/lodge.js: runs an app from its TypeScript sources, compiled on
// the fly (transpile only) with the project's path aliases.
const path = require('node:path');

module.exports = function runTs(entry) {
  const root = path.join(__dirname, '..');
  require('ts-node').register({ transpileOnly: true, project: path.join(root, 'tsconfig.json') });
  const { compilerOptions } = require(path.join(root, 'tsconfig.json'));
  require('tsconfig-paths').register({ baseUrl: root, paths: compilerOptions.paths });
  require(path.join(root, entry));
};
