import { n8nCommunityNodesPlugin } from '@n8n/eslint-plugin-community-nodes';
import n8nNodesBase from 'eslint-plugin-n8n-nodes-base';
import * as jsoncParser from 'jsonc-eslint-parser';
import tseslint from 'typescript-eslint';

const n8nNodesBasePlugin = { 'n8n-nodes-base': n8nNodesBase };

export default tseslint.config(
	{
		ignores: [
			'dist/**',
			'.dev/**',
			'node_modules/**',
			'eslint.config.mjs',
			'gulpfile.js',
			'index.js',
			'jest.config.js',
		],
	},
	{
		files: ['**/*.ts'],
		extends: [tseslint.configs.recommended],
		rules: {
			'@typescript-eslint/no-explicit-any': 'error',
			'@typescript-eslint/consistent-type-imports': 'error',
		},
	},
	// The rules of n8n's verification scanner, for the code that ships.
	{
		files: ['package.json'],
		languageOptions: { parser: jsoncParser },
		plugins: n8nNodesBasePlugin,
		rules: n8nNodesBase.configs.community.rules,
	},
	{
		files: ['credentials/**/*.ts'],
		plugins: n8nNodesBasePlugin,
		rules: {
			...n8nNodesBase.configs.credentials.rules,
			// For nodes inside n8n's own repository (docs slugs); a community credential links a URL,
			// which cred-class-field-documentation-url-not-http-url checks.
			'n8n-nodes-base/cred-class-field-documentation-url-miscased': 'off',
		},
	},
	{
		files: ['nodes/**/*.ts'],
		plugins: n8nNodesBasePlugin,
		rules: {
			...n8nNodesBase.configs.nodes.rules,
			// These two demand the string 'main'; the scanner's newer node-connection-type-literal
			// demands NodeConnectionTypes.Main for the same field. The newer rule wins.
			'n8n-nodes-base/node-class-description-inputs-wrong-regular-node': 'off',
			'n8n-nodes-base/node-class-description-outputs-wrong': 'off',
		},
	},
	{
		files: ['credentials/**/*.ts', 'nodes/**/*.ts', 'package.json'],
		...n8nCommunityNodesPlugin.configs.recommended,
		ignores: [],
	},
);
