'use strict'
// This addon opened with `durability: 'full'` (`synchronous=FULL`: every commit is synced),
// for the durability trial (bench/durability.js).

module.exports = require('./agentdb').withDurability('full')
