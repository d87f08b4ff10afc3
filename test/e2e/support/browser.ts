/** The headless Chromium of the playback suites lives with the benchmarks that use it too (bench may not import test/). */
export * from '../../../bench/support/browser';
