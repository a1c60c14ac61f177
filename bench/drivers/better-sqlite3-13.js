'use strict'
// better-sqlite3 13 (installed as `better-sqlite3-13`, built for Node 22 and 24), with the
// same code as better-sqlite3 12.

module.exports = require('./better-sqlite3').withModule(require('better-sqlite3-13'), 'better-sqlite3 13')
