'use strict';
// The compiled addon; built by node-gyp when the workspace is installed.
module.exports = require('./build/Release/lodge_native.node');
