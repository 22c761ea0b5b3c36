// node:fs/promises for isowasm.

module.exports = require('node:fs').promises;
