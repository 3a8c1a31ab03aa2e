/** Tests are compiled by `npm run build:dev` into .dev/ and run there, against the node built into dist/. */
module.exports = {
	rootDir: '.dev/test',
	testMatch: ['**/*.test.js'],
	testEnvironment: 'node',
	testTimeout: 60000,
	maxWorkers: 2,
	// A worker that ran these suites (each loads n8n-core in its own module registry) needs 0.27–0.37 s
	// to exit on an idle 2-core machine and 0.5–0.66 s beside two busy loops, with nothing open but
	// its stdio pipes; Jest's default 0.5 s then kills it and reports a leak that is not there.
	workerGracefulExitTimeout: 5000,
};
