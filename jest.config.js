// Unit tests run anywhere; integration tests need real Podman, CRIU and the service images
// (`npm run setup && npm run images`). ts-jest in ESM mode: @actions/* 3.x+ are ESM-only.
const transform = { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] }
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform,
  testEnvironment: 'node'
}

export default {
  testSequencer: '<rootDir>/__tests__/sequencer.mjs',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/__tests__/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/__tests__/integration/**/*.test.ts'],
      slowTestThreshold: 60
    },
    {
      ...common,
      displayName: 'twin',
      testMatch: ['<rootDir>/__tests__/twin/**/*.test.ts'],
      slowTestThreshold: 300
    }
  ]
}
