/**
 * What users install: the tarball's contents, package.json's contract, the node's description,
 * and the small pure pieces of the transport (Retry-After, URLs).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { INode, INodeType } from 'n8n-workflow';
import { NodeHelpers } from 'n8n-workflow';

import { Twin24Api } from '../credentials/Twin24Api.credentials';
import { Twin24 } from '../nodes/Twin24/Twin24.node';
import { checkBaseUrl, joinUrl } from '../nodes/Twin24/transport/account';
import { parseRetryAfter } from '../nodes/Twin24/transport/pacing/signals';

const root = join(__dirname, '..', '..');
const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
	name: string;
	keywords: string[];
	license: string;
	dependencies?: Record<string, string>;
	peerDependencies: Record<string, string>;
	n8n: { credentials: string[]; nodes: string[] };
};

describe('the package', () => {
	test('npm pack ships the built node and credential, the docs the README links, and no simulator, tests or scripts', () => {
		const [pack] = JSON.parse(
			execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
				cwd: root,
				encoding: 'utf8',
			}),
		) as Array<{ files: Array<{ path: string }> }>;
		const files = pack.files.map((file) => file.path);
		const outside = files.filter(
			(file) =>
				!/^(dist|docs|examples)\//.test(file) &&
				!['README.md', 'LICENSE', 'package.json', 'index.js', 'CHANGELOG.md'].includes(file),
		);
		expect(outside).toEqual([]);
		expect(files.filter((file) => /^(test|\.dev|scripts|e2e)\/|simulator/.test(file))).toEqual([]);
		// What the README links through jsDelivr (check:links proves every such link).
		expect(files).toEqual(
			expect.arrayContaining([
				'docs/reliability.md',
				'docs/images/pacing.svg',
				'examples/crm-erasure-webhook.json',
				'CHANGELOG.md',
			]),
		);
		for (const built of [...packageJson.n8n.nodes, ...packageJson.n8n.credentials]) {
			expect(files).toContain(built);
		}
		expect(files).toEqual(
			expect.arrayContaining([
				'dist/nodes/Twin24/Twin24.node.json',
				'dist/nodes/Twin24/twin24.svg',
				'dist/nodes/Twin24/twin24.dark.svg',
				'dist/credentials/twin24.svg',
				'dist/credentials/twin24.dark.svg',
			]),
		);
	});

	test('package.json keeps the contract: name, keyword, MIT, no runtime dependencies', () => {
		expect(packageJson.name).toBe('n8n-nodes-twin24');
		expect(packageJson.keywords).toContain('n8n-community-node-package');
		expect(packageJson.license).toBe('MIT');
		expect(packageJson.dependencies ?? {}).toEqual({});
		expect(packageJson.peerDependencies).toEqual({ 'n8n-workflow': '*' });
		for (const built of [...packageJson.n8n.nodes, ...packageJson.n8n.credentials]) {
			expect(existsSync(join(root, built))).toBe(true);
		}
	});

	test('the codex file names the category, the docs and the aliases users search for', () => {
		const codex = JSON.parse(readFileSync(join(root, 'nodes/Twin24/Twin24.node.json'), 'utf8')) as {
			node: string;
			categories: string[];
			alias: string[];
			resources: { primaryDocumentation: Array<{ url: string }> };
		};
		expect(codex.node).toBe('n8n-nodes-twin24.twin24');
		expect(codex.categories.length).toBeGreaterThan(0);
		expect(codex.alias).toEqual(
			expect.arrayContaining(['GDPR', 'anonymize', 'erase', 'recording']),
		);
		// The README as npm shows it, by the package's fixed name: it works for everyone who installs
		// the package, before the publisher fills in the repository (check:links proves the anchors).
		expect(codex.resources.primaryDocumentation[0].url).toBe(
			'https://www.npmjs.com/package/n8n-nodes-twin24#user-content-operations',
		);
		expect(new Twin24Api().documentationUrl).toBe(
			'https://www.npmjs.com/package/n8n-nodes-twin24#user-content-credentials',
		);
	});
});

describe('the node and credential descriptions', () => {
	const description = new Twin24().description;
	const credential = new Twin24Api();

	test('the node is named by the contract, usable as a tool, with a subtitle and themed icons', () => {
		expect(description.name).toBe('twin24');
		expect(description.usableAsTool).toBe(true);
		expect(description.subtitle).toMatch(/operation/);
		expect(description.icon).toEqual({ light: 'file:twin24.svg', dark: 'file:twin24.dark.svg' });
		expect(description.credentials).toEqual([{ name: 'twin24Api', required: true }]);
	});

	test('the notice tells the builder that erasure cannot be undone, and to try with Dry Run first', () => {
		const notices = description.properties.filter((property) => property.type === 'notice');
		expect(notices.map((notice) => notice.displayName)).toEqual([
			"Erasure can't be undone: Twin24 deletes the data for good. To try a workflow first, turn on the option Dry Run: it shows each request and sends nothing.",
		]);
	});

	test('fields show only where they apply', () => {
		const shownFor = (name: string) =>
			description.properties
				.filter((property) => property.name === name)
				.map((property) => property.displayOptions?.show);
		expect(shownFor('callId')).toEqual([
			{ resource: ['call'], operation: ['depersonalize'] },
			{ resource: ['call'], operation: ['deleteRecord'] },
		]);
		expect(shownFor('autoCallCandidateId')).toEqual([
			{ resource: ['autoCallCandidate'], operation: ['depersonalize'] },
		]);
		expect(shownFor('skipDeleteRecord')).toEqual([
			{ resource: ['call'], operation: ['depersonalize'] },
			{ resource: ['autoCallCandidate'], operation: ['depersonalize'] },
		]);
		const operations = description.properties.filter((property) => property.name === 'operation');
		const valuesFor = (resource: string) =>
			operations
				.find((property) => property.displayOptions?.show?.resource?.includes(resource))
				?.options?.map((option) => ('value' in option ? option.value : undefined));
		expect(valuesFor('call')).toEqual(['deleteRecord', 'depersonalize']);
		expect(valuesFor('autoCallCandidate')).toEqual(['depersonalize']);
	});

	test('the credential keeps the contract’s fields, with passwords hidden', () => {
		const property = (name: string) =>
			credential.properties.find((candidate) => candidate.name === name);
		expect(credential.name).toBe('twin24Api');
		expect(
			property('authMode')?.options?.map((option) =>
				'value' in option ? option.value : undefined,
			),
		).toEqual(['accessToken', 'emailPassword']);
		expect(property('accessToken')?.typeOptions?.password).toBe(true);
		expect(property('password')?.typeOptions?.password).toBe(true);
		expect(property('cisBaseUrl')?.default).toBe('https://twin24.ai/cis/api/v1');
		expect(property('iamBaseUrl')?.default).toBe('https://iam.twin24.ai/api/v1');
		// Shown in both modes: the credential test asks the IAM API whichever way the token comes.
		expect(property('iamBaseUrl')?.displayOptions).toBeUndefined();
		expect(credential.test?.request.baseURL).toContain('$credentials.iamBaseUrl');
		expect(property('email')?.placeholder).toBe('e.g. name@example.com');
		expect(credential.icon).toEqual({ light: 'file:twin24.svg', dark: 'file:twin24.dark.svg' });
		expect(property('sessionToken')?.typeOptions?.expirable).toBe(true);
	});

	/** What n8n tells an AI agent about the tool, computed the way n8n computes it. */
	const toolText = (resource: string, operation: string): string => {
		// n8n's tool variant of a `usableAsTool` node: the same properties, its name ending in Tool.
		const tool = { ...description, name: 'twin24Tool' };
		const node: INode = {
			id: 'tool',
			name: 'Twin24',
			type: 'n8n-nodes-twin24.twin24Tool',
			typeVersion: 1,
			position: [0, 0],
			parameters: {},
		};
		node.parameters =
			NodeHelpers.getNodeParameters(
				tool.properties,
				{ resource, operation },
				true,
				false,
				node,
				tool,
			) ?? {};
		return NodeHelpers.getToolDescriptionForNode(node, { description: tool } as INodeType);
	};

	test('as an AI agent’s tool, each operation says it is irreversible, what it erases and what an ID is', () => {
		const depersonalizeCall = toolText('call', 'depersonalize');
		expect(depersonalizeCall).toMatch(/^Irreversibly erases all personal data of one Twin24 call/);
		expect(depersonalizeCall).toMatch(/unless this workflow keeps recordings, its audio recording/);
		expect(toolText('call', 'deleteRecord')).toMatch(
			/deletes the audio recording.*other data stays/,
		);
		expect(toolText('autoCallCandidate', 'depersonalize')).toMatch(/auto call candidate/);
		for (const [resource, operation] of [
			['call', 'depersonalize'],
			['call', 'deleteRecord'],
			['autoCallCandidate', 'depersonalize'],
		]) {
			const text = toolText(resource, operation);
			expect(text).toMatch(/This cannot be undone/);
			expect(text).toMatch(/never guess, build or change an ID/);
			expect(text).toMatch(/success false with error and whatToDo/);
		}
		expect(toolText('call', 'depersonalize')).toMatch(/a UUID such as /);
	});

	test('the tool description is a field of the tool only, never of the plain node', () => {
		const plain =
			NodeHelpers.getNodeParameters(
				description.properties,
				{ resource: 'call', operation: 'depersonalize' },
				true,
				false,
				{ typeVersion: 1 },
				description,
			) ?? {};
		expect(plain.toolDescription).toBeUndefined();
	});
});

describe('transport pieces', () => {
	test('Retry-After in seconds or as an HTTP date, as long as the server says', () => {
		const now = Date.parse('2026-11-28T12:00:00Z');
		expect(parseRetryAfter('3', now)).toBe(3000);
		expect(parseRetryAfter('0', now)).toBe(0);
		expect(parseRetryAfter('Sat, 28 Nov 2026 12:00:05 GMT', now)).toBe(5000);
		expect(parseRetryAfter('Sat, 28 Nov 2026 11:00:00 GMT', now)).toBe(0);
		expect(parseRetryAfter('3600', now)).toBe(3600000);
		expect(parseRetryAfter('soon', now)).toBeUndefined();
		expect(parseRetryAfter(undefined, now)).toBeUndefined();
	});

	test('base URLs: trailing slashes dropped, plain http only for this machine', () => {
		expect(checkBaseUrl('https://x.test/api/v1//', 'CIS Base URL', '')).toEqual({
			ok: true,
			url: 'https://x.test/api/v1',
		});
		expect(checkBaseUrl('http://127.0.0.1:5/api', 'CIS Base URL', '')).toEqual({
			ok: true,
			url: 'http://127.0.0.1:5/api',
		});
		expect(checkBaseUrl('http://twin24.ai/api', 'CIS Base URL', '')).toMatchObject({ ok: false });
		expect(joinUrl('https://x.test', ['calls', 'a/b ?#', 'record'])).toBe(
			'https://x.test/calls/a%2Fb%20%3F%23/record',
		);
	});
});
