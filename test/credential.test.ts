/**
 * n8n's credential test, as n8n runs it for a saved credential, in both ways of signing in: the
 * request reaches the IAM Base URL the credential names, never a fixed address.
 */
import { createServer } from 'node:net';
import type { Server } from 'node:net';

import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import { loginCredentials, tokenCredentials } from './accounts';
import { CredentialStore, testCredential, TWIN24_CREDENTIAL_ID } from './harness/engine';
import { DEMO_ACCESS_TOKEN } from './simulator/simulator';
import { fileSimulator } from './support';

const simulator = fileSimulator();

async function testSaved(data: ICredentialDataDecryptedObject) {
	const store = new CredentialStore({
		[TWIN24_CREDENTIAL_ID]: { type: 'twin24Api', name: 'Twin24', data },
	});
	return await testCredential({ store, credentialId: TWIN24_CREDENTIAL_ID });
}

/** The IAM API mounted somewhere no default or CIS address could reach by chance. */
function elsewhere(path: string): string {
	return `${simulator.origin}${path}`;
}

describe('credential test in access-token mode', () => {
	test('asks users/me at the configured IAM Base URL, with the token and no login', async () => {
		const result = await testSaved(
			tokenCredentials(simulator, { iamBaseUrl: simulator.iamBaseUrl }),
		);

		expect(result).toEqual({ status: 'OK', message: 'Connection successful!' });
		expect(simulator.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
			'GET /iam/api/v1/users/me',
		]);
		expect(simulator.requests[0].headers.authorization).toBe(`Bearer ${DEMO_ACCESS_TOKEN}`);
		expect(simulator.loginCount).toBe(0);
	});

	test('a trailing slash on the IAM Base URL changes nothing', async () => {
		const result = await testSaved(
			tokenCredentials(simulator, { iamBaseUrl: `${simulator.iamBaseUrl}//` }),
		);

		expect(result.status).toBe('OK');
		expect(simulator.requests.map((request) => request.path)).toEqual(['/iam/api/v1/users/me']);
	});

	test('an IAM Base URL elsewhere is where the request goes, so a wrong one fails', async () => {
		const result = await testSaved(
			tokenCredentials(simulator, { iamBaseUrl: elsewhere('/other-iam/api/v1') }),
		);

		expect(result.status).toBe('Error');
		expect(simulator.requests.map((request) => request.path)).toEqual([
			'/other-iam/api/v1/users/me',
		]);
	});

	test('a refused token fails the test and is not in its message', async () => {
		const result = await testSaved(
			tokenCredentials(simulator, {
				iamBaseUrl: simulator.iamBaseUrl,
				accessToken: 'refused-SECRET-token',
			}),
		);

		expect(result.status).toBe('Error');
		expect(result.message).not.toContain('refused-SECRET-token');
		// n8n's routing asks once more after a 401, in case the credential can refresh itself.
		expect(simulator.requests.length).toBeGreaterThan(0);
		expect(simulator.requests.every((request) => request.status === 401)).toBe(true);
	});
});

describe('credential test in email + password mode', () => {
	test('logs in and asks users/me at the configured IAM Base URL', async () => {
		const result = await testSaved(loginCredentials(simulator));

		expect(result).toEqual({ status: 'OK', message: 'Connection successful!' });
		expect(simulator.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
			'POST /iam/api/v1/auth/login',
			'GET /iam/api/v1/users/me',
		]);
	});
});

describe('the token never travels in the clear', () => {
	let listener: Server;
	let connections = 0;

	beforeAll(async () => {
		listener = createServer((socket) => {
			connections++;
			socket.destroy();
		});
		// 127.0.0.2 is this machine, but not the one address the credential allows plain http to.
		await new Promise<void>((resolve) => listener.listen(0, '127.0.0.2', resolve));
	});
	afterAll(async () => await new Promise<void>((resolve) => listener.close(() => resolve())));

	test('a plain-http IAM Base URL to another host gets no request at all', async () => {
		const address = listener.address();
		const port = typeof address === 'object' && address ? address.port : 0;
		const result = await testSaved(
			tokenCredentials(simulator, { iamBaseUrl: `http://127.0.0.2:${port}/iam/api/v1` }),
		);

		expect(result.status).toBe('Error');
		expect(result.message).not.toContain(DEMO_ACCESS_TOKEN);
		expect(connections).toBe(0);
		expect(simulator.requests).toHaveLength(0);
	});
});
