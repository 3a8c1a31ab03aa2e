/**
 * The engine harness, proven against a throwaway node and throwaway credential types and a
 * small HTTP server started here. The real Twin24 node is tested elsewhere, with this harness.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { inspect } from 'node:util';

import type {
	ICredentialDataDecryptedObject,
	ICredentialType,
	IDataObject,
	IExecuteFunctions,
	IHttpRequestHelper,
	INode,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeApiError, NodeConnectionTypes } from 'n8n-workflow';

import {
	CredentialStore,
	TWIN24_CREDENTIAL_TYPE,
	TWIN24_NODE_TYPE,
	activeExpressionEngine,
	capturedN8nLog,
	disposeExpressionEngine,
	findPackageRoot,
	itemSourceNode,
	loadPackage,
	runTwin24,
	runWorkflow,
	testCredential,
	useExpressionEngine,
} from './engine';
import type { WorkflowRun } from './engine';

// ---------------------------------------------------------------- the fake API

const API_KEY = 'key-123-secret';
const EMAIL = 'user@example.com';
const PASSWORD = 'right-password-secret';

interface SeenRequest {
	method: string;
	path: string;
	authorization?: string;
	apiKey?: string;
	body: string;
}

class FakeApi {
	readonly requests: SeenRequest[] = [];

	logins = 0;

	private readonly validTokens = new Set<string>();

	private tokenCounter = 0;

	reset(): void {
		this.requests.length = 0;
		this.logins = 0;
		this.tokenCounter = 0;
		this.validTokens.clear();
	}

	/** Every token issued so far stops working, as when a JWT's `exp` passes. */
	expireTokens(): void {
		this.validTokens.clear();
	}

	thingRequests(): SeenRequest[] {
		return this.requests.filter(({ path }) => path.startsWith('/api/things/'));
	}

	handle(request: SeenRequest, response: ServerResponse): void {
		this.requests.push(request);
		const route = `${request.method} ${request.path}`;
		if (route === 'POST /iam/auth/login') return this.login(request, response);
		if (route === 'GET /iam/users/me') return this.me(request, response);
		if (route === 'GET /key-check') return this.keyCheck(request, response);
		if (request.method === 'POST' && request.path.startsWith('/api/things/')) {
			return this.thing(request, response);
		}
		reply(response, 404, { message: 'no such route' });
	}

	private login(request: SeenRequest, response: ServerResponse): void {
		this.logins++;
		const { email, password } = JSON.parse(request.body) as IDataObject;
		if (email !== EMAIL || password !== PASSWORD) {
			reply(response, 401, { message: 'wrong email or password' });
			return;
		}
		const token = `token-${++this.tokenCounter}-secret`;
		this.validTokens.add(token);
		reply(response, 200, { token, refreshToken: `refresh-${this.tokenCounter}` });
	}

	private me(request: SeenRequest, response: ServerResponse): void {
		if (!this.bearerValid(request)) return reply(response, 401, { message: 'token refused' });
		reply(response, 200, { id: 'user-1' });
	}

	private keyCheck(request: SeenRequest, response: ServerResponse): void {
		if (request.apiKey !== API_KEY) return reply(response, 403, { message: 'key refused' });
		reply(response, 200, { ok: true });
	}

	private thing(request: SeenRequest, response: ServerResponse): void {
		const id = decodeURIComponent(request.path.slice('/api/things/'.length));
		const authorized = request.apiKey === API_KEY || this.bearerValid(request);
		if (!authorized || id === 'always-401')
			return reply(response, 401, { message: 'token refused' });
		if (id === 'missing') return reply(response, 404, { message: `no thing ${id}` });
		reply(response, 200, { id, done: true });
	}

	private bearerValid(request: SeenRequest): boolean {
		const token = request.authorization?.replace(/^Bearer /, '');
		return token !== undefined && this.validTokens.has(token);
	}
}

function reply(response: ServerResponse, status: number, body: IDataObject): void {
	response.writeHead(status, { 'content-type': 'application/json' });
	response.end(JSON.stringify(body));
}

function seen(request: IncomingMessage, body: string): SeenRequest {
	const apiKey = request.headers['x-api-key'];
	return {
		method: request.method ?? '',
		path: request.url ?? '',
		authorization: request.headers.authorization,
		apiKey: typeof apiKey === 'string' ? apiKey : undefined,
		body,
	};
}

const api = new FakeApi();
let server: Server;
let baseUrl = '';

beforeAll(async () => {
	server = createServer((request, response) => {
		let body = '';
		request.on('data', (chunk: Buffer) => (body += chunk.toString()));
		request.on('end', () => api.handle(seen(request, body), response));
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
	server.closeAllConnections();
	await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => api.reset());

// ---------------------------------------------------------------- throwaway types

/** Declarative (generic) authentication: one header from an expression. */
const headerKeyApi: ICredentialType = {
	name: 'headerKeyApi',
	displayName: 'Header Key API',
	properties: [
		{
			displayName: 'API Key',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
		},
		{ displayName: 'Base URL', name: 'baseUrl', type: 'string', default: '' },
	],
	authenticate: {
		type: 'generic',
		properties: { headers: { 'X-Api-Key': '={{$credentials.apiKey}}' } },
	},
	test: {
		request: { baseURL: '={{$credentials.baseUrl}}', url: '/key-check' },
		rules: [
			{ type: 'responseCode', properties: { value: 403, message: 'The API key was refused' } },
		],
	},
};

/** Logs in for a token kept in an expirable hidden property, like email + password mode. */
class LoginApi implements ICredentialType {
	name = 'loginApi';

	displayName = 'Login API';

	properties: ICredentialType['properties'] = [
		{ displayName: 'Email', name: 'email', type: 'string', default: '' },
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
		},
		{ displayName: 'Base URL', name: 'baseUrl', type: 'string', default: '' },
		{
			displayName: 'Session Token',
			name: 'sessionToken',
			type: 'hidden',
			typeOptions: { expirable: true, password: true },
			default: '',
		},
	];

	authenticate: ICredentialType['authenticate'] = {
		type: 'generic',
		properties: { headers: { Authorization: '=Bearer {{$credentials.sessionToken}}' } },
	};

	test: ICredentialType['test'] = {
		request: { baseURL: '={{$credentials.baseUrl}}', url: '/iam/users/me' },
	};

	async preAuthentication(this: IHttpRequestHelper, credentials: ICredentialDataDecryptedObject) {
		const { token } = (await this.helpers.httpRequest({
			method: 'POST',
			url: `${String(credentials.baseUrl)}/iam/auth/login`,
			body: { email: credentials.email, password: credentials.password },
			json: true,
		})) as { token: string };
		return { sessionToken: token };
	}
}

const noTestApi: ICredentialType = {
	name: 'noTestApi',
	displayName: 'No Test API',
	properties: [{ displayName: 'Key', name: 'key', type: 'string', default: '' }],
};

/** A field shown only in one mode: n8n drops it from the credential data in the other. */
const modalApi: ICredentialType = {
	name: 'modalApi',
	displayName: 'Modal API',
	properties: [
		{
			displayName: 'Mode',
			name: 'mode',
			type: 'options',
			options: [
				{ name: 'A', value: 'a' },
				{ name: 'B', value: 'b' },
			],
			default: 'a',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			displayOptions: { show: { mode: ['b'] } },
		},
	],
	test: { request: { baseURL: '={{$credentials.baseUrl}}', url: '/key-check' } },
};

/** A pasted token; its preAuthentication returns nothing, like access-token mode. */
class StaticTokenApi implements ICredentialType {
	name = 'staticTokenApi';

	displayName = 'Static Token API';

	properties: ICredentialType['properties'] = [
		{
			displayName: 'Token',
			name: 'token',
			type: 'string',
			typeOptions: { password: true },
			default: '',
		},
		{ displayName: 'Base URL', name: 'baseUrl', type: 'string', default: '' },
		{
			displayName: 'Session',
			name: 'sessionToken',
			type: 'hidden',
			typeOptions: { expirable: true },
			default: '',
		},
	];

	authenticate: ICredentialType['authenticate'] = {
		type: 'generic',
		properties: { headers: { Authorization: '=Bearer {{$credentials.token}}' } },
	};

	async preAuthentication(this: IHttpRequestHelper) {
		return {};
	}
}

/** Calls the fake API once per item through `httpRequestWithAuthentication`. */
class ThingNode implements INodeType {
	description: INodeTypeDescription;

	constructor(credentialNames: string[]) {
		this.description = {
			displayName: 'Thing',
			name: 'thing',
			group: ['transform'],
			version: 1,
			description: 'Throwaway node for the harness test',
			defaults: { name: 'Thing' },
			inputs: [NodeConnectionTypes.Main],
			outputs: [NodeConnectionTypes.Main],
			credentials: credentialNames.map((name) => ({
				name,
				required: true,
				displayOptions: { show: { authentication: [name] } },
			})),
			properties: [
				{
					displayName: 'Authentication',
					name: 'authentication',
					type: 'options',
					options: credentialNames.map((name) => ({ name, value: name })),
					default: credentialNames[0],
				},
				{ displayName: 'Thing ID', name: 'thingId', type: 'string', default: '' },
			],
		};
	}

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const credentialType = this.getNodeParameter('authentication', 0) as string;
		const output: INodeExecutionData[] = [];
		for (let itemIndex = 0; itemIndex < this.getInputData().length; itemIndex++) {
			try {
				const thingId = this.getNodeParameter('thingId', itemIndex) as string;
				const credentials = await this.getCredentials(credentialType, itemIndex);
				const body = (await this.helpers.httpRequestWithAuthentication.call(this, credentialType, {
					method: 'POST',
					url: `${String(credentials.baseUrl)}/api/things/${encodeURIComponent(thingId)}`,
					body: { note: 'from the harness test' },
					json: true,
				})) as IDataObject;
				output.push({ json: body, pairedItem: { item: itemIndex } });
			} catch (error) {
				if (!this.continueOnFail()) throw error;
				output.push({ json: { error: (error as Error).message }, pairedItem: { item: itemIndex } });
			}
		}
		return [output];
	}
}

const THING_TYPE = 'n8n-nodes-harness-test.thing';

const typeSources = {
	packageDir: false as const,
	extraNodeTypes: { [THING_TYPE]: new ThingNode(['headerKeyApi', 'loginApi', 'staticTokenApi']) },
	extraCredentialTypes: [headerKeyApi, new LoginApi(), new StaticTokenApi(), noTestApi, modalApi],
};

function headerKeyCredential(apiKey = API_KEY) {
	return { type: 'headerKeyApi', name: 'Header key', data: { apiKey, baseUrl } };
}

function loginCredential(password = PASSWORD, sessionToken?: string) {
	const data: ICredentialDataDecryptedObject = { email: EMAIL, password, baseUrl };
	if (sessionToken !== undefined) data.sessionToken = sessionToken;
	return { type: 'loginApi', name: 'Login', data };
}

const CREDENTIAL_IDS = { headerKeyApi: 'key-1', loginApi: 'login-1', staticTokenApi: 'static-1' };

interface ThingRun {
	items: IDataObject[];
	credentialType: 'headerKeyApi' | 'loginApi' | 'staticTokenApi';
	store: CredentialStore;
	continueOnFail?: boolean;
}

/** Items → Thing, through `runWorkflow`. */
async function runThing({
	items,
	credentialType,
	store,
	continueOnFail,
}: ThingRun): Promise<WorkflowRun> {
	const source = itemSourceNode(items);
	const thing: INode = {
		id: 'thing',
		name: 'Thing',
		type: THING_TYPE,
		typeVersion: 1,
		position: [250, 0],
		parameters: { authentication: credentialType, thingId: '={{ $json.id }}' },
		credentials: { [credentialType]: { id: CREDENTIAL_IDS[credentialType], name: 'c' } },
		...(continueOnFail ? { onError: 'continueRegularOutput' as const } : {}),
	};
	return await runWorkflow({
		...typeSources,
		nodes: [source, thing],
		connections: { [source.name]: { main: [[{ node: 'Thing', type: 'main', index: 0 }]] } },
		store,
	});
}

// ---------------------------------------------------------------- the tests

describe('running workflows in WorkflowExecute', () => {
	it('applies a generic authenticate header and evaluates per-item expressions', async () => {
		const store = new CredentialStore({ 'key-1': headerKeyCredential() });
		const result = await runThing({
			items: [{ id: 'a' }, { id: 'b/1' }],
			credentialType: 'headerKeyApi',
			store,
		});

		expect(result.status).toBe('success');
		expect(result.executionOrder).toEqual(['Items', 'Thing']);
		expect(api.thingRequests().map(({ path }) => path)).toEqual([
			'/api/things/a',
			'/api/things/b%2F1',
		]);
		expect(api.thingRequests().every(({ apiKey }) => apiKey === API_KEY)).toBe(true);
		expect(result.output('Thing')).toEqual([
			{ json: { id: 'a', done: true }, pairedItem: { item: 0 } },
			{ json: { id: 'b/1', done: true }, pairedItem: { item: 1 } },
		]);
		expect(store.counters).toEqual({ preAuthentications: 0, writes: 0, authentications: 2 });
		expect(result.durationMs).toBeLessThan(5000);
	});

	it('never evaluates item data that looks like an expression', async () => {
		const store = new CredentialStore({ 'key-1': headerKeyCredential() });
		const result = await runThing({
			items: [{ id: '={{ 1 + 1 }}' }],
			credentialType: 'headerKeyApi',
			store,
		});
		expect(result.output('Thing')?.[0].json.id).toBe('={{ 1 + 1 }}');
	});

	it('logs in once, writes the token once, and reuses it across executions sharing a store', async () => {
		const store = new CredentialStore({ 'login-1': loginCredential() });
		const first = await runThing({
			items: [{ id: 'a' }, { id: 'b' }],
			credentialType: 'loginApi',
			store,
		});
		const token = store.get('login-1').data.sessionToken;
		const second = await runThing({ items: [{ id: 'c' }], credentialType: 'loginApi', store });

		expect([first.status, second.status]).toEqual(['success', 'success']);
		expect(api.logins).toBe(1);
		expect(store.counters.preAuthentications).toBe(1);
		expect(store.counters.writes).toBe(1);
		expect(store.events).toEqual([
			{
				kind: 'preAuthentication',
				credentialType: 'loginApi',
				nodeName: 'Thing',
				credentialsExpired: false,
				testingCredentials: false,
			},
			{
				kind: 'write',
				credentialId: 'login-1',
				credentialType: 'loginApi',
				changedFields: ['sessionToken'],
			},
		]);
		expect(token).toBe('token-1-secret');
		expect(api.thingRequests().map(({ authorization }) => authorization)).toEqual(
			Array(3).fill(`Bearer ${String(token)}`),
		);
	});

	it('keeps only the expirable property and stored fields when writing back', async () => {
		const store = new CredentialStore({ 'login-1': loginCredential() });
		await runThing({ items: [{ id: 'a' }], credentialType: 'loginApi', store });
		expect(Object.keys(store.get('login-1').data).sort()).toEqual([
			'baseUrl',
			'email',
			'password',
			'sessionToken',
		]);
	});

	it('logs in again once on a 401 and retries the request once (n8n-core, credentialsExpired=true)', async () => {
		const store = new CredentialStore({ 'login-1': loginCredential() });
		await runThing({ items: [{ id: 'a' }], credentialType: 'loginApi', store });
		api.expireTokens();
		api.requests.length = 0;

		const result = await runThing({
			items: [{ id: 'b' }, { id: 'c' }],
			credentialType: 'loginApi',
			store,
		});

		expect(result.status).toBe('success');
		expect(api.logins).toBe(2);
		expect(store.counters.writes).toBe(2);
		expect(store.events.at(-2)).toMatchObject({
			kind: 'preAuthentication',
			credentialsExpired: true,
		});
		expect(
			api.thingRequests().map(({ path, authorization }) => `${path} ${authorization}`),
		).toEqual([
			'/api/things/b Bearer token-1-secret',
			'/api/things/b Bearer token-2-secret',
			'/api/things/c Bearer token-2-secret',
		]);
	});

	it('gives up after one retry, throwing a NodeApiError whose cause is the raw axios error', async () => {
		const store = new CredentialStore({ 'login-1': loginCredential() });
		const result = await runThing({
			items: [{ id: 'always-401' }],
			credentialType: 'loginApi',
			store,
		});
		const error = result.error('Thing');

		expect(result.status).toBe('error');
		expect(api.thingRequests()).toHaveLength(2);
		expect(api.logins).toBe(2);
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error?.httpCode).toBe('401');
		expect(error?.message).toBe('Authorization failed - please check your credentials');
		expect(error?.description).toBe('token refused');
		const cause = error?.cause as {
			name: string;
			response: { status: number };
			config: { headers: IDataObject; data: unknown };
		};
		expect(cause.name).toBe('AxiosError');
		expect(cause.response.status).toBe(401);
		// A fact the node must design for: n8n-core's error still holds the signed request.
		expect(String(cause.config.headers.Authorization)).toBe('Bearer token-2-secret');
		expect(String(cause.config.data)).toBe('{"note":"from the harness test"}');
		// n8n's run data keeps a spread copy: the fields, not the cause.
		expect(result.runDataError('Thing')).toMatchObject({
			httpCode: '401',
			description: 'token refused',
		});
		expect(result.runDataError('Thing')?.cause).toBeUndefined();
	});

	it('resends any 401 once, even when preAuthentication returns nothing to change', async () => {
		const store = new CredentialStore({
			'static-1': { type: 'staticTokenApi', name: 's', data: { token: 'pasted-secret', baseUrl } },
		});
		const result = await runThing({
			items: [{ id: 'a' }],
			credentialType: 'staticTokenApi',
			store,
		});

		expect(result.status).toBe('error');
		expect(result.error('Thing')?.httpCode).toBe('401');
		expect(api.thingRequests().map(({ authorization }) => authorization)).toEqual([
			'Bearer pasted-secret',
			'Bearer pasted-secret',
		]);
		expect(store.counters).toMatchObject({ preAuthentications: 2, writes: 0 });
		expect(
			store.events.map((event) => event.kind === 'preAuthentication' && event.credentialsExpired),
		).toEqual([false, true]);
	});

	it('puts failed items in the output when the node continues on fail', async () => {
		const store = new CredentialStore({ 'key-1': headerKeyCredential() });
		const items = [{ id: 'a' }, { id: 'missing' }, { id: 'c' }];
		const result = await runThing({
			items,
			credentialType: 'headerKeyApi',
			store,
			continueOnFail: true,
		});

		expect(result.status).toBe('success');
		expect(result.error('Thing')).toBeUndefined();
		expect(result.output('Thing')).toEqual([
			{ json: { id: 'a', done: true }, pairedItem: { item: 0 } },
			{
				json: { error: 'The resource you are requesting could not be found' },
				pairedItem: { item: 1 },
			},
			{ json: { id: 'c', done: true }, pairedItem: { item: 2 } },
		]);
	});

	it('stops the execution at the first failed item otherwise', async () => {
		const store = new CredentialStore({ 'key-1': headerKeyCredential() });
		const items = [{ id: 'a' }, { id: 'missing' }, { id: 'c' }];
		const result = await runThing({ items, credentialType: 'headerKeyApi', store });

		expect(result.status).toBe('error');
		expect(result.output('Thing')).toBeUndefined();
		expect(result.error('Thing')).toMatchObject({
			httpCode: '404',
			description: 'no thing missing',
		});
		expect(api.thingRequests()).toHaveLength(2);
		expect(result.workflowError?.message).toBe(
			'The resource you are requesting could not be found',
		);
	});

	it('keeps credential values out of n8n logs and out of the printed store', async () => {
		const store = new CredentialStore({ 'login-1': loginCredential() });
		await runThing({ items: [{ id: 'always-401' }], credentialType: 'loginApi', store });
		const printed = `${JSON.stringify(capturedN8nLog())} ${inspect(store)} ${JSON.stringify(store)}`;

		expect(capturedN8nLog().some(({ level }) => level === 'error')).toBe(true);
		for (const secret of [PASSWORD, 'token-1-secret', 'token-2-secret']) {
			expect(printed).not.toContain(secret);
		}
	});
});

describe('runTwin24', () => {
	const fakeTwin24 = new ThingNode([TWIN24_CREDENTIAL_TYPE]);
	const fakeCredential: ICredentialType = {
		...headerKeyApi,
		name: TWIN24_CREDENTIAL_TYPE,
		test: undefined,
	};
	const sources = {
		packageDir: false as const,
		extraNodeTypes: { [TWIN24_NODE_TYPE]: fakeTwin24 },
		extraCredentialTypes: [fakeCredential],
	};

	it('runs items through the node with its credential and continue-on-fail', async () => {
		const { output, error, store, run } = await runTwin24({
			...sources,
			items: [{ callId: 'x' }, { callId: 'missing' }],
			parameters: { thingId: '={{ $json.callId }}' },
			credentials: { apiKey: API_KEY, baseUrl },
			continueOnFail: true,
		});

		expect(run.status).toBe('success');
		expect(error).toBeUndefined();
		expect(output?.map(({ json }) => json)).toEqual([
			{ id: 'x', done: true },
			{ error: 'The resource you are requesting could not be found' },
		]);
		expect(store.get('twin24-credential').type).toBe(TWIN24_CREDENTIAL_TYPE);
	});

	it('returns the thrown error without continue-on-fail', async () => {
		const { output, error } = await runTwin24({
			...sources,
			items: [{ callId: 'missing' }],
			parameters: { thingId: '={{ $json.callId }}' },
			credentials: { apiKey: API_KEY, baseUrl },
		});
		expect(output).toBeUndefined();
		expect(error).toBeInstanceOf(NodeApiError);
	});
});

describe('credential test runner (n8n CredentialsTester)', () => {
	it('reports OK for a working generic credential', async () => {
		const store = new CredentialStore({ 'key-1': headerKeyCredential() });
		expect(await testCredential({ ...typeSources, store, credentialId: 'key-1' })).toEqual({
			status: 'OK',
			message: 'Connection successful!',
		});
		expect(api.requests.map(({ path, apiKey }) => `${path} ${apiKey}`)).toEqual([
			`/key-check ${API_KEY}`,
		]);
	});

	it('reports a matching responseCode rule as n8n shows it', async () => {
		const store = new CredentialStore({ 'key-1': headerKeyCredential('wrong') });
		expect(await testCredential({ ...typeSources, store, credentialId: 'key-1' })).toEqual({
			status: 'Error',
			message: 'The API key was refused',
		});
	});

	it('logs in through preAuthentication when the token is empty, and writes it back', async () => {
		const store = new CredentialStore({ 'login-1': loginCredential() });
		const result = await testCredential({ ...typeSources, store, credentialId: 'login-1' });

		expect(result).toEqual({ status: 'OK', message: 'Connection successful!' });
		expect(api.logins).toBe(1);
		expect(store.counters.writes).toBe(1);
		// n8n 2.41's tester node is of type `noOp`, so the helper's credential-test check is false.
		expect(store.events[0]).toMatchObject({
			kind: 'preAuthentication',
			nodeName: 'Temp-Node',
			testingCredentials: false,
		});
	});

	it('does not log in again while the stored token still works', async () => {
		const store = new CredentialStore({ 'login-1': loginCredential() });
		await testCredential({ ...typeSources, store, credentialId: 'login-1' });
		const second = await testCredential({ ...typeSources, store, credentialId: 'login-1' });
		expect(second.status).toBe('OK');
		expect(api.logins).toBe(1);
	});

	it('reports the HTTP status text when the login is refused (after a second login attempt)', async () => {
		const store = new CredentialStore({ 'login-1': loginCredential('wrong') });
		const result = await testCredential({ ...typeSources, store, credentialId: 'login-1' });

		expect(result).toEqual({ status: 'Error', message: 'Unauthorized' });
		// The login's own 401 looks like an expired token to n8n-core, which logs in again.
		expect(api.logins).toBe(2);
		expect(store.counters.writes).toBe(0);
	});

	it('drops fields their display options hide, as n8n does before any use', async () => {
		const store = new CredentialStore({
			a: { type: 'modalApi', name: 'a', data: { mode: 'a', baseUrl } },
			b: { type: 'modalApi', name: 'b', data: { mode: 'b', baseUrl } },
		});
		const hidden = await testCredential({ ...typeSources, store, credentialId: 'a' });
		expect(hidden.status).toBe('Error');
		expect(api.requests).toHaveLength(0);
		const shown = await testCredential({ ...typeSources, store, credentialId: 'b' });
		expect(shown).toEqual({ status: 'Error', message: 'Forbidden' });
		expect(api.requests).toHaveLength(1);
	});

	it('says so when a credential has no test', async () => {
		const store = new CredentialStore({
			'n-1': { type: 'noTestApi', name: 'n', data: { key: 'k' } },
		});
		expect(await testCredential({ ...typeSources, store, credentialId: 'n-1' })).toEqual({
			status: 'Error',
			message: 'No testing function found for this credential.',
		});
	});
});

/** n8n-workflow loads the QuickJS runtime with a dynamic import, which jest allows only with this flag. */
const dynamicImportAllowed =
	`${process.env.NODE_OPTIONS ?? ''} ${process.execArgv.join(' ')}`.includes(
		'--experimental-vm-modules',
	);

(dynamicImportAllowed ? describe : describe.skip)('the QuickJS expression engine', () => {
	beforeAll(async () => await useExpressionEngine('quickjs'));
	afterAll(async () => await disposeExpressionEngine());

	it('evaluates per-item expressions in the sandboxed runtime', async () => {
		expect(activeExpressionEngine()).toBe('quickjs');
		const store = new CredentialStore({ 'key-1': headerKeyCredential() });
		const result = await runThing({
			items: [{ id: 'q1' }, { id: 'q2' }],
			credentialType: 'headerKeyApi',
			store,
		});
		expect(result.output('Thing')?.map(({ json }) => json.id)).toEqual(['q1', 'q2']);
		expect(api.thingRequests().every(({ apiKey }) => apiKey === API_KEY)).toBe(true);
	});
});

const distBuilt = existsSync(join(findPackageRoot(), 'dist', 'nodes', 'Twin24', 'Twin24.node.js'));

describe('loading the package as n8n does', () => {
	(distBuilt ? it : it.skip)('finds the Twin24 node and credential from package.json', async () => {
		const loaded = await loadPackage();
		expect(loaded.packageName).toBe('n8n-nodes-twin24');
		expect(Object.keys(loaded.nodeTypes)).toContain(TWIN24_NODE_TYPE);
		expect(loaded.credentialTypes.map(({ name }) => name)).toContain(TWIN24_CREDENTIAL_TYPE);
		expect(loaded.supportedNodes[TWIN24_CREDENTIAL_TYPE]).toContain(TWIN24_NODE_TYPE);
	});
});
