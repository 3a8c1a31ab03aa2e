// The project's own lint, beside n8n's: eslint.config.mjs is n8n's default configuration, kept
// unchanged because `n8n-node lint` runs in strict mode. This file adds what n8n's does not cover:
// the house rules on shipped code (never fewer rules than n8n's), and a lint for the code that never
// ships or runs inside n8n (tests, the simulator, the engine harness, scripts, e2e). That code runs
// in Node.js, so n8n's sandbox rules (no setTimeout, no node:http, no process) do not apply to it.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const houseRules = {
	'@typescript-eslint/no-explicit-any': 'error',
	'@typescript-eslint/consistent-type-imports': 'error',
};

export default tseslint.config(
	{ ignores: ['dist/**', '.dev/**', 'node_modules/**', '.e2e-cache/**'] },
	{
		files: ['nodes/**/*.ts', 'credentials/**/*.ts'],
		extends: [js.configs.recommended, tseslint.configs.recommended],
		rules: houseRules,
	},
	{
		files: ['test/**/*.ts', 'e2e/**/*.ts', 'scripts/**/*.ts'],
		extends: [js.configs.recommended, tseslint.configs.recommended],
		languageOptions: { globals: { ...globals.node, ...globals.jest } },
		rules: houseRules,
	},
	{
		files: ['scripts/**/*.mjs', '*.mjs', '*.js'],
		extends: [js.configs.recommended],
		languageOptions: { globals: globals.node },
	},
);
