import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['__test__/**/*.spec.ts'],
    // Native addons and the threads pool do not mix: each test file gets its own process.
    pool: 'forks',
    testTimeout: 30_000,
  },
})
