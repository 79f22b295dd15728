import {defineConfig} from 'vitest/config'

const env = {AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true'}

export default defineConfig({
  test: {
    // Integration tests spawn runtimes and time cold starts on a 2-core machine: two files at a time.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    env,
    projects: [
      {extends: true, test: {name: 'sai', include: ['src/**/*.test.ts', 'test/**/*.test.ts']}},
      // The emulator's conformance suites again, each environment a container of the packaged image.
      {extends: true, test: {name: 'docker', include: ['test/invoke-api.test.ts', 'test/ocr-models.test.ts'], env: {...env, SAI_TEST_BACKEND: 'docker'}}},
    ],
  },
})
