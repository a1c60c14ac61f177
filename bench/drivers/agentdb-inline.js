'use strict'
// This addon opened with `inlineReads` (the short typed reads run first on the JavaScript
// thread, within their budget) and `durability: 'normal'`, as `agentdb.js` is otherwise.

module.exports = require('./agentdb').withOptions('@cherry/agentdb (inlineReads)', 'normal', { inlineReads: true })
