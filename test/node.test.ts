/**
 * The Twin24 node in n8n's real engine against the simulator over HTTP: what the server
 * received, what the node put out, and that no secret got out.
 */
import type { IDataObject } from 'n8n-workflow';

import { loginCredentials, secretsIn, tokenCredentials } from './accounts';
import { CredentialStore, testCredential, TWIN24_CREDENTIAL_ID } from './harness/engine';
import {
	DEMO_ACCESS_TOKEN,
	DEMO_PASSWORD,
	DEMO_READONLY_ACCESS_TOKEN,
} from './simulator/simulator';
import { fileSimulator } from './support';
import { confirmed, idItems, NOT_CONFIRMED, operationParameters, run } from './workflow';

const simulator = fileSimulator((fresh) => {
	fresh.addCalls(['call-1', 'call-2', 'call-3'], { hasRecord: true });
	fresh.addCandidates(['cand-1', 'cand-2']);
});

const cisPath = '/cis/api/v1';

function erasureRequests() {
	return simulator.requests.filter((request) => request.route !== 'login');
}

describe('operations send exactly the documented request', () => {
	test('Call → Depersonalize deletes the recording by default', async () => {
		const result = await run({
			items: idItems(['call-1']),
			parameters: operationParameters('call', 'depersonalize'),
			credentials: tokenCredentials(simulator),
		});

		expect(result.error).toBeUndefined();
		expect(simulator.requests).toHaveLength(1);
		const [request] = simulator.requests;
		expect(request.method).toBe('POST');
		expect(request.path).toBe(`${cisPath}/calls/call-1/depersonalization`);
		expect(request.headers.authorization).toBe(`Bearer ${DEMO_ACCESS_TOKEN}`);
		expect(request.headers['content-type']).toMatch(/^application\/json/);
		expect(request.json).toEqual({ skipDeleteRecord: false });
		expect(result.output).toEqual([
			{
				json: { success: true, callId: 'call-1', recordDeleted: true, ...confirmed() },
				pairedItem: { item: 0 },
			},
		]);
		expect(simulator.getCall('call-1')).toEqual({ depersonalized: true, hasRecord: false });
	});

	test('Call → Depersonalize with Keep Recording keeps it', async () => {
		const result = await run({
			items: idItems(['call-2']),
			parameters: operationParameters('call', 'depersonalize', { skipDeleteRecord: true }),
			credentials: tokenCredentials(simulator),
		});

		expect(simulator.requests[0].json).toEqual({ skipDeleteRecord: true });
		expect(result.output?.[0].json).toEqual({
			success: true,
			callId: 'call-2',
			recordDeleted: false,
			...confirmed(),
		});
		expect(simulator.getCall('call-2')).toEqual({ depersonalized: true, hasRecord: true });
	});

	test('Call → Delete Record sends DELETE without a body and keeps the call', async () => {
		const result = await run({
			items: idItems(['call-3']),
			parameters: operationParameters('call', 'deleteRecord'),
			credentials: tokenCredentials(simulator),
		});

		const [request] = simulator.requests;
		expect(request.method).toBe('DELETE');
		expect(request.path).toBe(`${cisPath}/calls/call-3/record`);
		expect(request.body).toBe('');
		expect(request.headers.authorization).toBe(`Bearer ${DEMO_ACCESS_TOKEN}`);
		expect(result.output?.[0].json).toEqual({
			success: true,
			callId: 'call-3',
			recordDeleted: true,
			...confirmed(),
		});
		expect(simulator.getCall('call-3')).toEqual({ depersonalized: false, hasRecord: false });
	});

	test('Auto Call Candidate → Depersonalize', async () => {
		const result = await run({
			items: idItems(['cand-1']),
			parameters: operationParameters('autoCallCandidate', 'depersonalize', {
				skipDeleteRecord: true,
			}),
			credentials: tokenCredentials(simulator),
		});

		const [request] = simulator.requests;
		expect(request.method).toBe('POST');
		expect(request.path).toBe(`${cisPath}/telephony/autoCallCandidate/cand-1/depersonalization`);
		expect(request.json).toEqual({ skipDeleteRecord: true });
		expect(result.output?.[0]).toEqual({
			json: {
				success: true,
				autoCallCandidateId: 'cand-1',
				recordDeleted: false,
				...confirmed(),
			},
			pairedItem: { item: 0 },
		});
		expect(simulator.getCandidate('cand-1')).toEqual({ depersonalized: true });
	});

	test('a base URL with trailing slashes builds the same request URL', async () => {
		for (const suffix of ['', '/', '//']) {
			simulator.reset();
			simulator.addCalls(['call-1']);
			await run({
				items: idItems(['call-1']),
				parameters: operationParameters('call', 'deleteRecord'),
				credentials: tokenCredentials(simulator, { cisBaseUrl: simulator.cisBaseUrl + suffix }),
			});
			expect(simulator.requests.map((request) => request.url)).toEqual([
				`${cisPath}/calls/call-1/record`,
			]);
		}
	});

	test('IDs are sent as one encoded path segment', async () => {
		const id = 'ид-1%2F;x';
		simulator.addCalls([id]);
		const result = await run({
			items: idItems([id]),
			parameters: operationParameters('call', 'deleteRecord'),
			credentials: tokenCredentials(simulator),
		});

		expect(result.error).toBeUndefined();
		expect(simulator.requests[0].url).toBe(`${cisPath}/calls/${encodeURIComponent(id)}/record`);
		expect(simulator.requests[0].id).toBe(id);
	});
});

describe('items: one result per input item, in order, paired', () => {
	test('per-item expressions pick each item’s ID and Keep Recording', async () => {
		const items: IDataObject[] = [
			{ ref: { call: 'call-1' }, keep: false },
			{ ref: { call: 'call-2' }, keep: true },
			{ ref: { call: 'call-3' }, keep: false },
		];
		const result = await run({
			items,
			parameters: {
				resource: 'call',
				operation: 'depersonalize',
				callId: '={{ $json.ref.call }}',
				skipDeleteRecord: '={{ $json.keep }}',
				options: { concurrency: 1 },
			},
			credentials: tokenCredentials(simulator),
		});

		expect(simulator.requests.map((request) => [request.id, request.json])).toEqual([
			['call-1', { skipDeleteRecord: false }],
			['call-2', { skipDeleteRecord: true }],
			['call-3', { skipDeleteRecord: false }],
		]);
		expect(result.output).toEqual([
			{
				json: { success: true, callId: 'call-1', recordDeleted: true, ...confirmed() },
				pairedItem: { item: 0 },
			},
			{
				json: { success: true, callId: 'call-2', recordDeleted: false, ...confirmed() },
				pairedItem: { item: 1 },
			},
			{
				json: { success: true, callId: 'call-3', recordDeleted: true, ...confirmed() },
				pairedItem: { item: 2 },
			},
		]);
	});

	test('Continue On Fail: every item gets its own result and the others go on', async () => {
		simulator.respondFor('call-2', { status: 500, body: '{"message":"database is down"}' });
		const result = await run({
			items: idItems(['call-1', 'unknown-call', 'call-2', 'a/b', 'call-3']),
			parameters: operationParameters('call', 'depersonalize', { options: { maxRetries: 0 } }),
			credentials: tokenCredentials(simulator),
			continueOnFail: true,
		});

		expect(result.error).toBeUndefined();
		const output = result.output ?? [];
		expect(output.map((item) => item.pairedItem)).toEqual(
			[0, 1, 2, 3, 4].map((item) => ({ item })),
		);
		expect(output.map((item) => item.json.success)).toEqual([true, false, false, false, true]);
		expect(output[1].json).toMatchObject({ callId: 'unknown-call', statusCode: 404 });
		expect(output[1].json.error).toMatch(/depersonalize call "unknown-call".*HTTP 404.*not found/);
		expect(output[2].json).toMatchObject({ callId: 'call-2', statusCode: 500 });
		expect(output[2].json.error).toMatch(/HTTP 500 – database is down/);
		expect(output[3].json).toMatchObject({ callId: 'a/b' });
		expect(output[3].json.error).toMatch(/Call ID .*contains "\/".*\(item 3\)/);
		expect(simulator.requests.map((request) => request.id)).toEqual(
			expect.arrayContaining(['call-1', 'unknown-call', 'call-2', 'call-3']),
		);
		expect(simulator.requests).toHaveLength(4);
		expect(secretsIn(result, simulator)).toEqual([]);
	});
});

describe('options', () => {
	test('Dry Run sends nothing and shows the exact request without the token', async () => {
		const result = await run({
			items: idItems(['call-1', 'cand-x']),
			parameters: operationParameters('call', 'depersonalize', {
				skipDeleteRecord: true,
				options: { dryRun: true },
			}),
			credentials: tokenCredentials(simulator, { cisBaseUrl: `${simulator.cisBaseUrl}/` }),
		});

		expect(simulator.requests).toHaveLength(0);
		expect(result.output?.[0]).toEqual({
			json: {
				success: false,
				callId: 'call-1',
				dryRun: true,
				request: {
					method: 'POST',
					url: `${simulator.cisBaseUrl}/calls/call-1/depersonalization`,
					body: { skipDeleteRecord: true },
				},
				...NOT_CONFIRMED,
			},
			pairedItem: { item: 0 },
		});
		expect(result.output?.[1].pairedItem).toEqual({ item: 1 });
		expect(JSON.stringify(result.output)).not.toContain(DEMO_ACCESS_TOKEN);
		expect(simulator.getCall('call-1')?.depersonalized).toBe(false);
	});

	test('Dry Run of Delete Record shows no body', async () => {
		const result = await run({
			items: idItems(['call-1']),
			parameters: operationParameters('call', 'deleteRecord', { options: { dryRun: true } }),
			credentials: tokenCredentials(simulator),
		});
		expect(result.output?.[0].json.request).toEqual({
			method: 'DELETE',
			url: `${simulator.cisBaseUrl}/calls/call-1/record`,
			body: null,
		});
		expect(simulator.requests).toHaveLength(0);
	});

	test('Ignore Not Found turns a 404 into done, with notFound', async () => {
		const result = await run({
			items: idItems(['call-1', 'gone-call']),
			parameters: operationParameters('call', 'depersonalize', {
				options: { ignoreNotFound: true },
			}),
			credentials: tokenCredentials(simulator),
		});

		expect(result.error).toBeUndefined();
		expect(result.output?.map((item) => item.json)).toEqual([
			{ success: true, callId: 'call-1', recordDeleted: true, ...confirmed() },
			{ success: true, callId: 'gone-call', recordDeleted: false, notFound: true, ...confirmed() },
		]);
	});

	test('a re-run with Ignore Not Found is safe; without it the 404 is an error', async () => {
		const parameters = operationParameters('call', 'depersonalize');
		await run({ items: idItems(['call-1']), parameters, credentials: tokenCredentials(simulator) });

		const again = await run({
			items: idItems(['call-1']),
			parameters,
			credentials: tokenCredentials(simulator),
		});
		expect(again.error?.message).toMatch(/depersonalize call "call-1": HTTP 404.*\(item 0\)$/);

		const ignoring = await run({
			items: idItems(['call-1']),
			parameters: { ...parameters, options: { ignoreNotFound: true } },
			credentials: tokenCredentials(simulator),
		});
		expect(ignoring.output?.[0].json).toMatchObject({ success: true, notFound: true });
		expect(simulator.duplicateErasures()).toBe(2);
	});
});

describe('errors name the operation, the ID, the status and the API’s message', () => {
	test.each([
		[
			400,
			'{"message":"skipDeleteRecord must be a boolean"}',
			/HTTP 400 – skipDeleteRecord must be a boolean/,
		],
		[
			422,
			'{"error":{"message":"Call is locked by a running campaign"}}',
			/HTTP 422 – Call is locked/,
		],
		[404, '{"detail":"No such call"}', /HTTP 404 – No such call/],
		[500, 'Internal failure <b>db</b>', /HTTP 500 – Internal failure db/],
	])('HTTP %i', async (status, body, expected) => {
		simulator.respondFor('call-1', { status, body, times: 10 });
		const result = await run({
			items: idItems(['call-1']),
			parameters: operationParameters('call', 'depersonalize', { options: { maxRetries: 1 } }),
			credentials: tokenCredentials(simulator),
		});

		const error = result.error;
		expect(error?.constructor.name).toBe('NodeApiError');
		expect(error?.message).toMatch(/^Could not depersonalize call "call-1": .*\(item 0\)$/);
		expect(error?.message).toMatch(expected);
		expect(error?.httpCode).toBe(String(status));
		expect(error?.context?.itemIndex).toBe(0);
		expect(error?.description).toMatch(/\S/);
		expect(simulator.requests).toHaveLength(status >= 500 ? 2 : 1);
		expect(secretsIn(result, simulator)).toEqual([]);
	});

	test('HTTP 403 for a token without erase permission', async () => {
		const result = await run({
			items: idItems(['call-1']),
			parameters: operationParameters('call', 'deleteRecord'),
			credentials: tokenCredentials(simulator, { accessToken: DEMO_READONLY_ACCESS_TOKEN }),
		});

		expect(result.error?.message).toMatch(/HTTP 403 – Forbidden: token lacks permission/);
		expect(result.error?.description).toMatch(/permission/);
		expect(simulator.requests).toHaveLength(1);
		expect(secretsIn(result, simulator)).toEqual([]);
	});

	test('without Continue On Fail the run stops at the first failure and says where to resume', async () => {
		const result = await run({
			items: idItems(['call-1', 'unknown-call', 'call-2', 'call-3']),
			parameters: operationParameters('call', 'deleteRecord', { options: { concurrency: 1 } }),
			credentials: tokenCredentials(simulator),
		});

		expect(result.error?.message).toMatch(/"unknown-call": HTTP 404.*\(item 1\)$/);
		expect(result.error?.description).toMatch(
			/1 of 4 items were done, 1 failed\. Not sent: 2 \(the first is item 2\)/,
		);
		expect(simulator.requests.map((request) => request.id)).toEqual(['call-1', 'unknown-call']);
		expect(simulator.getCall('call-2')?.hasRecord).toBe(true);
	});

	test('an invalid ID stops the run at that item: nothing after it is sent', async () => {
		const result = await run({
			items: idItems(['call-1', '  ', 'call-2']),
			parameters: operationParameters('call', 'depersonalize', { options: { concurrency: 1 } }),
			credentials: tokenCredentials(simulator),
		});

		expect(result.error?.constructor.name).toBe('NodeOperationError');
		expect(result.error?.message).toBe('Call ID is empty (item 1)');
		expect(result.error?.description).toMatch(
			/Nothing was sent for this item.*\{\{ \$json\.callId \}\}.*1 of 3 items were done, 1 failed\. Not sent: 1 \(the first is item 2\)/,
		);
		expect(simulator.requests.map((request) => request.id)).toEqual(['call-1']);
	});

	test.each([
		['a/b', /contains "\/"/],
		['..', /path step/],
		['x?y', /contains "\?"/],
		['x#y', /contains "#"/],
		['x\u0000y', /control character/],
		['x'.repeat(300), /300 characters long/],
	])('the ID %j is invalid: nothing is sent', async (id, expected) => {
		const result = await run({
			items: idItems([id]),
			parameters: operationParameters('autoCallCandidate', 'depersonalize'),
			credentials: tokenCredentials(simulator),
		});
		expect(result.error?.message).toMatch(/^Auto Call Candidate ID .*\(item 0\)$/);
		expect(result.error?.message).toMatch(expected);
		expect(simulator.requests).toHaveLength(0);
	});
});

describe('access-token credential', () => {
	test('is used as it is: no login, no credential write', async () => {
		const store = new CredentialStore();
		for (let execution = 0; execution < 2; execution++) {
			const result = await run({
				items: idItems([`call-${execution + 1}`]),
				parameters: operationParameters('call', 'deleteRecord'),
				credentials: tokenCredentials(simulator),
				store,
			});
			expect(result.error).toBeUndefined();
		}
		expect(store.counters.writes).toBe(0);
		expect(simulator.loginCount).toBe(0);
	});

	test('a refused token fails clearly, is not retried, and stops the run', async () => {
		const result = await run({
			items: idItems(['call-1', 'call-2', 'call-3']),
			parameters: operationParameters('call', 'depersonalize', { options: { concurrency: 1 } }),
			credentials: tokenCredentials(simulator, { accessToken: 'not-a-valid-token' }),
			continueOnFail: true,
		});

		expect(simulator.requests).toHaveLength(1);
		const output = result.output ?? [];
		expect(output.map((item) => item.json.success)).toEqual([false, false, false]);
		expect(output[0].json.error).toMatch(/HTTP 401/);
		expect(output.every((item) => item.json.statusCode === 401)).toBe(true);
		expect(JSON.stringify(result.run)).not.toContain('not-a-valid-token');
	});
});

describe('email + password credential', () => {
	test('logs in once, reuses the token across items and executions', async () => {
		const store = new CredentialStore();
		const first = await run({
			items: idItems(['call-1', 'call-2']),
			parameters: operationParameters('call', 'deleteRecord'),
			credentials: loginCredentials(simulator),
			store,
		});
		const second = await run({
			items: idItems(['call-3']),
			parameters: operationParameters('call', 'deleteRecord'),
			store,
		});

		expect(first.error).toBeUndefined();
		expect(second.error).toBeUndefined();
		expect(simulator.logins).toEqual({ ok: 1, failed: 0 });
		expect(store.counters.writes).toBe(1);
		const login = simulator.requests.find((request) => request.route === 'login');
		expect(login?.json).toEqual({ email: expect.any(String), password: DEMO_PASSWORD, ttl: 86400 });
		const tokens = new Set(erasureRequests().map((request) => request.headers.authorization));
		expect(tokens.size).toBe(1);
		expect(secretsIn(first, simulator)).toEqual([]);
		expect(secretsIn(second, simulator)).toEqual([]);
	});

	test('an expired token means one new login, then every item succeeds', async () => {
		const store = new CredentialStore();
		await run({
			items: idItems(['call-1']),
			parameters: operationParameters('call', 'deleteRecord'),
			credentials: loginCredentials(simulator),
			store,
		});
		simulator.expireAllTokens();
		simulator.addCalls(Array.from({ length: 8 }, (_, index) => `late-${index}`));

		const result = await run({
			items: idItems(Array.from({ length: 8 }, (_, index) => `late-${index}`)),
			parameters: operationParameters('call', 'deleteRecord', { options: { concurrency: 4 } }),
			store,
		});

		expect(result.error).toBeUndefined();
		expect(result.output?.every((item) => item.json.success === true)).toBe(true);
		expect(simulator.logins.ok).toBe(2);
		expect(store.counters.writes).toBe(2);
		expect(simulator.erasures()).toHaveLength(9);
		expect(simulator.duplicateErasures()).toBe(0);
		expect(secretsIn(result, simulator)).toEqual([]);
	});

	test('a stored token Twin24 refuses is replaced by one new login, and the item succeeds', async () => {
		const store = new CredentialStore({
			[TWIN24_CREDENTIAL_ID]: {
				type: 'twin24Api',
				name: 'Twin24',
				data: loginCredentials(simulator, { sessionToken: 'stale-SECRET-session-token' }),
			},
		});
		const result = await run({
			items: idItems(['call-1', 'call-2']),
			parameters: operationParameters('call', 'deleteRecord', { options: { concurrency: 2 } }),
			store,
		});

		expect(result.error).toBeUndefined();
		expect(result.output?.map((item) => item.json.success)).toEqual([true, true]);
		expect(simulator.logins).toEqual({ ok: 1, failed: 0 });
		expect(store.counters.writes).toBe(1);
		const statuses = erasureRequests().map((request) => request.status);
		expect(statuses.filter((status) => status === 401)).toHaveLength(2);
		expect(statuses.filter((status) => status === 200)).toHaveLength(2);
		expect(JSON.stringify(result.run)).not.toContain('stale-SECRET-session-token');
	});

	test('a wrong password fails clearly after one login attempt and sends no erasure', async () => {
		const result = await run({
			items: idItems(['call-1', 'call-2', 'call-3']),
			parameters: operationParameters('call', 'depersonalize'),
			credentials: loginCredentials(simulator, { password: 'wrong-SECRET-pw' }),
			continueOnFail: true,
		});

		expect(simulator.logins).toEqual({ ok: 0, failed: 1 });
		expect(erasureRequests()).toHaveLength(0);
		const output = result.output ?? [];
		expect(output).toHaveLength(3);
		for (const item of output) {
			expect(item.json.success).toBe(false);
			expect(item.json.error).toMatch(
				/Twin24 login failed \(HTTP 401: Invalid email or password\)/,
			);
		}
		expect(JSON.stringify(result.run)).not.toContain('wrong-SECRET-pw');
		expect(secretsIn(result, simulator)).toEqual([]);
	});
});

describe('credential test', () => {
	test('passes with a good email and password', async () => {
		const store = new CredentialStore({
			[TWIN24_CREDENTIAL_ID]: {
				type: 'twin24Api',
				name: 'Twin24',
				data: loginCredentials(simulator),
			},
		});
		const result = await testCredential({ store, credentialId: TWIN24_CREDENTIAL_ID });
		expect(result).toEqual({ status: 'OK', message: 'Connection successful!' });
		expect(simulator.requests.map((request) => request.route)).toEqual(['login', 'me']);
	});

	test('fails with the login’s own message for a wrong password', async () => {
		const store = new CredentialStore({
			[TWIN24_CREDENTIAL_ID]: {
				type: 'twin24Api',
				name: 'Twin24',
				data: loginCredentials(simulator, { password: 'wrong' }),
			},
		});
		const result = await testCredential({ store, credentialId: TWIN24_CREDENTIAL_ID });
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/Invalid email or password/);
		expect(result.message).not.toContain('wrong');
	});
});

describe('secret scan', () => {
	test('finds a token that n8n’s own request error keeps in its cause', async () => {
		const result = await run({
			items: idItems(['call-1']),
			parameters: operationParameters('call', 'deleteRecord'),
			credentials: tokenCredentials(simulator),
		});
		const leaky = new Error('request failed', {
			cause: { config: { headers: { Authorization: `Bearer ${DEMO_ACCESS_TOKEN}` } } },
		});
		expect(secretsIn({ ...result, error: leaky }, simulator)).toEqual([DEMO_ACCESS_TOKEN]);
	});
});
