/** Tests are compiled by `npm run build:dev` into .dev/ and run there, against the node built into dist/. */
module.exports = {
	rootDir: '.dev/test',
	testMatch: ['**/*.test.js'],
	testEnvironment: 'node',
	testTimeout: 60000,
	maxWorkers: 2,
};
