import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { DEMO_ACCESS_TOKEN, DEMO_CALL_IDS, RateLimit, Twin24Simulator } from './simulator';

const EMAIL = 'ops@example.test';
const PASSWORD = 'test-SECRET-password';
const TOKEN = 'test-SECRET-erase-token';
const READONLY_TOKEN = 'test-SECRET-readonly-token';

let sim: Twin24Simulator;

interface RawAnswer {
	status: number;
	body: string;
}

function authHeaders(token = TOKEN): Record<string, string> {
	return { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
}

function depersonalizeCall(id: string, body?: unknown, token = TOKEN): Promise<Response> {
	return fetch(`${sim.cisBaseUrl}/calls/${id}/depersonalization`, {
		method: 'POST',
		headers: authHeaders(token),
		body: body === undefined ? undefined : JSON.stringify(body),
	});
}

function deleteRecord(id: string): Promise<Response> {
	return fetch(`${sim.cisBaseUrl}/calls/${id}/record`, {
		method: 'DELETE',
		headers: authHeaders(),
	});
}

function login(email: string, password: string, ttl = 86400): Promise<Response> {
	return fetch(`${sim.iamBaseUrl}/auth/login`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ email, password, ttl }),
	});
}

/** Sends the path exactly as given (fetch would resolve `..` before sending). */
function rawRequest(method: string, path: string, token = TOKEN): Promise<RawAnswer> {
	return new Promise((resolve, reject) => {
		const req = request(sim.origin + '/', { method, path, headers: authHeaders(token) }, (res) => {
			let body = '';
			res.setEncoding('utf8');
			res.on('data', (chunk: string) => (body += chunk));
			res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
		});
		req.on('error', reject);
		req.end();
	});
}

function decodeJwtClaims(token: string): Record<string, unknown> {
	const [, payload] = token.split('.');
	return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

function lastRequest(): (typeof sim.requests)[number] {
	return sim.requests[sim.requests.length - 1];
}

beforeAll(async () => {
	sim = await Twin24Simulator.start();
	sim.addUser(EMAIL, PASSWORD);
	sim.addAccessToken(TOKEN, { email: EMAIL });
	sim.addAccessToken(READONLY_TOKEN, { canErase: false });
});

afterAll(() => sim.stop());

beforeEach(() => {
	sim.reset();
	sim.addCalls(['call-1', 'call-2', 'a/b']);
	sim.addCandidates(['cand-1']);
});

describe('IAM', () => {
	it('logs in with a JWT whose exp honours ttl, the max ttl and tokenTtlSeconds', async () => {
		const answer = await login(EMAIL, PASSWORD, 120);
		expect(answer.status).toBe(200);
		const { token, refreshToken } = (await answer.json()) as {
			token: string;
			refreshToken: string;
		};
		expect(token.split('.')).toHaveLength(3);
		expect(typeof refreshToken).toBe('string');
		const claims = decodeJwtClaims(token);
		expect(claims.sub).toBe('user-1');
		expect(Number(claims.exp) - Number(claims.iat)).toBeGreaterThanOrEqual(119);

		const capped = decodeJwtClaims(
			((await (await login(EMAIL, PASSWORD, 10 ** 9)).json()) as { token: string }).token,
		);
		expect(Number(capped.exp) - Number(capped.iat)).toBeLessThanOrEqual(86400);

		sim.configure({ tokenTtlSeconds: 5 });
		const forced = decodeJwtClaims(
			((await (await login(EMAIL, PASSWORD)).json()) as { token: string }).token,
		);
		expect(Number(forced.exp) - Number(forced.iat)).toBeLessThanOrEqual(5);

		const me = await fetch(`${sim.iamBaseUrl}/users/me`, { headers: authHeaders(token) });
		expect(me.status).toBe(200);
		expect(await me.json()).toEqual({ id: 'user-1', email: EMAIL });
		expect(sim.logins).toEqual({ ok: 3, failed: 0 });
	});

	it('refuses wrong credentials (401), bad bodies (400) and bad tokens on /users/me (401)', async () => {
		const wrong = await login(EMAIL, 'nope');
		expect(wrong.status).toBe(401);
		expect(await wrong.json()).toEqual({ message: 'Invalid email or password' });
		const invalid = await fetch(`${sim.iamBaseUrl}/auth/login`, { method: 'POST', body: '{oops' });
		expect(invalid.status).toBe(400);
		const missing = await fetch(`${sim.iamBaseUrl}/auth/login`, {
			method: 'POST',
			body: '{"email":"x"}',
		});
		expect(missing.status).toBe(400);
		expect(sim.logins).toEqual({ ok: 0, failed: 3 });

		expect((await fetch(`${sim.iamBaseUrl}/users/me`)).status).toBe(401);
		const unknown = await fetch(`${sim.iamBaseUrl}/users/me`, { headers: authHeaders('nope') });
		expect(unknown.status).toBe(401);
		expect(await unknown.json()).toEqual({ message: 'Unauthorized' });
	});
});

describe('erasure routes', () => {
	it('depersonalizes a call once, deleting its recording, then answers 404', async () => {
		const first = await depersonalizeCall('call-1', { skipDeleteRecord: false });
		expect(first.status).toBe(200);
		expect(await first.text()).toBe('');
		expect(sim.getCall('call-1')).toEqual({ depersonalized: true, hasRecord: false });

		const again = await depersonalizeCall('call-1');
		expect(again.status).toBe(404);
		expect(await again.json()).toEqual({ message: 'Call call-1 already depersonalized' });
		expect(sim.duplicateErasures()).toBe(1);
	});

	it('keeps the recording with skipDeleteRecord, then deletes it once', async () => {
		expect((await depersonalizeCall('call-2', { skipDeleteRecord: true })).status).toBe(200);
		expect(sim.getCall('call-2')).toEqual({ depersonalized: true, hasRecord: true });
		expect((await deleteRecord('call-2')).status).toBe(200);
		const again = await deleteRecord('call-2');
		expect(again.status).toBe(404);
		expect(await again.json()).toEqual({ message: 'Record of call call-2 not found' });
		expect(sim.erasures()).toEqual([
			{ route: 'call.depersonalize', id: 'call-2', skipDeleteRecord: true },
			{ route: 'call.deleteRecord', id: 'call-2', skipDeleteRecord: undefined },
		]);
	});

	it('depersonalizes a candidate once and 404s unknown IDs', async () => {
		const url = `${sim.cisBaseUrl}/telephony/autoCallCandidate/cand-1/depersonalization`;
		expect((await fetch(url, { method: 'POST', headers: authHeaders() })).status).toBe(200);
		expect(sim.getCandidate('cand-1')).toEqual({ depersonalized: true });
		expect((await fetch(url, { method: 'POST', headers: authHeaders() })).status).toBe(404);
		const unknown = await depersonalizeCall('nope');
		expect(await unknown.json()).toEqual({ message: 'Call nope not found' });
		expect(sim.getCall('nope')).toBeUndefined();
	});

	it('answers 401, 403 and 400 without changing state', async () => {
		const noToken = await fetch(`${sim.cisBaseUrl}/calls/call-1/depersonalization`, {
			method: 'POST',
		});
		expect(noToken.status).toBe(401);
		const forbidden = await depersonalizeCall('call-1', undefined, READONLY_TOKEN);
		expect(forbidden.status).toBe(403);
		expect(await forbidden.json()).toEqual({
			message: 'Forbidden: token lacks permission to erase data',
		});
		const notBoolean = await depersonalizeCall('call-1', { skipDeleteRecord: 'yes' });
		expect(notBoolean.status).toBe(400);
		expect(await notBoolean.json()).toEqual({ message: 'skipDeleteRecord must be a boolean' });
		const notJson = await fetch(`${sim.cisBaseUrl}/calls/call-1/depersonalization`, {
			method: 'POST',
			headers: authHeaders(),
			body: '{',
		});
		expect(await notJson.json()).toEqual({ message: 'Body must be valid JSON' });
		expect(sim.getCall('call-1')).toEqual({ depersonalized: false, hasRecord: true });
		expect(sim.erasures()).toEqual([]);
	});

	it('creates unknown IDs on first use with acceptAnyId', async () => {
		sim.configure({ acceptAnyId: true });
		expect((await depersonalizeCall('bench-42')).status).toBe(200);
		expect(sim.getCall('bench-42')).toEqual({ depersonalized: true, hasRecord: false });
	});
});

describe('path matching', () => {
	it('takes an encoded ID as one segment and records the query', async () => {
		expect((await depersonalizeCall('a%2Fb')).status).toBe(200);
		expect(sim.getCall('a/b')?.depersonalized).toBe(true);
		expect(lastRequest()).toMatchObject({ route: 'call.depersonalize', id: 'a/b' });

		const unencoded = await rawRequest('POST', '/cis/api/v1/calls/a/b/depersonalization');
		expect(unencoded).toEqual({ status: 404, body: '{"message":"No route"}' });

		expect((await rawRequest('DELETE', '/cis/api/v1/calls/call-1/record?x=1')).status).toBe(200);
		expect(lastRequest()).toMatchObject({ route: 'call.deleteRecord', id: 'call-1', query: 'x=1' });

		expect((await rawRequest('POST', '/cis/api/v1/calls/%E0%A4%A/depersonalization')).status).toBe(
			400,
		);
	});

	it('never lets `..` reach a route', async () => {
		const paths = [
			'/cis/api/v1/calls/x/../call-1/depersonalization',
			'/cis/api/v1/calls/../record',
			'/cis/api/v1/calls/%2E%2E/record',
			'/cis/api/v1/telephony/autoCallCandidate/cand-1/../../../calls/call-1/depersonalization',
			'/cis/api/v1/calls/call-1/depersonalization/',
		];
		for (const path of paths) {
			expect(await rawRequest('POST', path)).toEqual({
				status: 404,
				body: '{"message":"No route"}',
			});
			expect(lastRequest()).toMatchObject({ url: path, route: 'unknown', status: 404 });
		}
		expect(sim.getCall('call-1')).toEqual({ depersonalized: false, hasRecord: true });
		expect(sim.getCandidate('cand-1')).toEqual({ depersonalized: false });
	});
});

describe('switches', () => {
	it('rate-limits with Retry-After in seconds, as an HTTP date, or not at all', async () => {
		sim.configure({ rateLimit: { requestsPerSecond: 1 } });
		expect((await depersonalizeCall('call-1')).status).toBe(200);
		const limited = await depersonalizeCall('call-2');
		expect(limited.status).toBe(429);
		expect(await limited.json()).toEqual({ message: 'Too many requests' });
		expect(limited.headers.get('retry-after')).toBe('1');
		expect(sim.getCall('call-2')?.depersonalized).toBe(false);

		sim.configure({ rateLimit: { requestsPerSecond: 1, retryAfter: 'http-date' } });
		await depersonalizeCall('call-2');
		const dated = await depersonalizeCall('a%2Fb');
		const waitMs = Date.parse(dated.headers.get('retry-after') ?? '') - Date.now();
		expect(waitMs).toBeGreaterThan(0);
		expect(waitMs).toBeLessThanOrEqual(2000);

		sim.configure({ rateLimit: { requestsPerSecond: 1, retryAfter: 'none' } });
		await depersonalizeCall('nope');
		expect((await depersonalizeCall('nope')).headers.get('retry-after')).toBeNull();
		expect(sim.stats.rateLimited).toBe(3);
	});

	it('sends RateLimit headers with every answer the limit sees, when asked', async () => {
		sim.configure({ rateLimit: { requestsPerSecond: 2, headers: 'ietf' } });
		const first = await depersonalizeCall('call-1');
		expect(first.headers.get('ratelimit-policy')).toBe('2;w=1');
		expect(first.headers.get('ratelimit-limit')).toBe('2');
		expect(first.headers.get('ratelimit-remaining')).toBe('1');
		await depersonalizeCall('call-2');
		const limited = await depersonalizeCall('call-3');
		expect(limited.status).toBe(429);
		expect(limited.headers.get('ratelimit-remaining')).toBe('0');

		sim.configure({ rateLimit: { requestsPerSecond: 5, headers: 'x' } });
		const other = await deleteRecord('call-1');
		expect(other.headers.get('x-ratelimit-limit')).toBe('5');
		expect(other.headers.get('ratelimit-policy')).toBeNull();
	});

	it('resets the connection for a scripted fault, before any state change', async () => {
		sim.failNext(1, 'reset');
		await expect(depersonalizeCall('call-1')).rejects.toThrow();
		expect(lastRequest().status).toBe('reset');
		expect(sim.getCall('call-1')?.depersonalized).toBe(false);
		expect((await depersonalizeCall('call-1')).status).toBe(200);
	});

	it('injects seeded random faults repeatably', async () => {
		const statuses = async (): Promise<number[]> => {
			sim.configure({ faults: { rate: 0.5, kinds: [500, 502, 503], seed: 7 } });
			const seen: number[] = [];
			for (let index = 0; index < 12; index += 1) seen.push((await deleteRecord('nope')).status);
			return seen;
		};
		const first = await statuses();
		expect(first.some((status) => status >= 500)).toBe(true);
		expect(first).toContain(404);
		expect(await statuses()).toEqual(first);
	});

	it('adds latency', async () => {
		sim.configure({ latencyMs: { min: 60, max: 80 } });
		const started = performance.now();
		await depersonalizeCall('call-1');
		expect(performance.now() - started).toBeGreaterThanOrEqual(55);
	});
});

describe('scripted answers', () => {
	it('answers a scripted status, then behaves normally again', async () => {
		sim.respondFor('call-1', { status: 500, body: 'boom' });
		const scripted = await depersonalizeCall('call-1');
		expect(scripted.status).toBe(500);
		expect(await scripted.text()).toBe('boom');
		expect(sim.getCall('call-1')?.depersonalized).toBe(false);
		expect((await depersonalizeCall('call-1')).status).toBe(200);
	});

	it('hangs, streams an endless body, redirects and delays headers', async () => {
		sim.respondFor('call-1', { kind: 'hang' });
		const hung = fetch(`${sim.cisBaseUrl}/calls/call-1/depersonalization`, {
			method: 'POST',
			headers: authHeaders(),
			signal: AbortSignal.timeout(150),
		});
		await expect(hung).rejects.toThrow();
		expect(lastRequest().status).toBe('hung');

		sim.respondFor('call-2', { kind: 'endlessBody', status: 200 });
		const endless = await depersonalizeCall('call-2');
		const reader = endless.body?.getReader();
		let received = 0;
		while (reader !== undefined && received < 100_000) {
			const chunk = (await reader.read()).value as Uint8Array | undefined;
			received += chunk?.length ?? 0;
		}
		await reader?.cancel();
		expect(received).toBeGreaterThanOrEqual(100_000);

		sim.respondFor('call-2', {
			kind: 'redirect',
			status: 307,
			location: 'http://127.0.0.1:1/elsewhere',
		});
		const redirect = await fetch(`${sim.cisBaseUrl}/calls/call-2/depersonalization`, {
			method: 'POST',
			headers: authHeaders(),
			redirect: 'manual',
		});
		expect(redirect.status).toBe(307);
		expect(redirect.headers.get('location')).toBe('http://127.0.0.1:1/elsewhere');

		sim.respondFor('call-2', { kind: 'slowHeaders', delayMs: 80 });
		const started = performance.now();
		expect((await depersonalizeCall('call-2')).status).toBe(200);
		expect(performance.now() - started).toBeGreaterThanOrEqual(75);
		expect(sim.getCall('call-1')?.depersonalized).toBe(false);
	}, 5000);
});

describe('tokens and lifecycle', () => {
	it('expires every token issued so far, but not later ones', async () => {
		const { token } = (await (await login(EMAIL, PASSWORD)).json()) as { token: string };
		sim.expireAllTokens();
		for (const expired of [token, TOKEN]) {
			const answer = await depersonalizeCall('call-1', undefined, expired);
			expect(answer.status).toBe(401);
			expect(await answer.json()).toEqual({ message: 'Token expired' });
		}
		const { token: fresh } = (await (await login(EMAIL, PASSWORD)).json()) as { token: string };
		expect((await depersonalizeCall('call-1', undefined, fresh)).status).toBe(200);
		sim.addAccessToken(TOKEN);
		expect((await deleteRecord('call-2')).status).toBe(200);
	});

	it('stops promptly with a hung request open', async () => {
		const other = await Twin24Simulator.start();
		other.addAccessToken(TOKEN);
		other.addCalls(['x']);
		other.respondFor('x', { kind: 'hang' });
		const outcome = fetch(`${other.cisBaseUrl}/calls/x/depersonalization`, {
			method: 'POST',
			headers: authHeaders(),
		}).then(
			() => 'answered',
			() => 'failed',
		);
		while (other.requests.length === 0 || other.requests[0].status !== 'hung') {
			await new Promise((resolve) => setTimeout(resolve, 5));
		}
		await other.stop();
		expect(await outcome).toBe('failed');
	});

	it('runs as a CLI with control endpoints', async () => {
		const cli = spawn(process.execPath, [join(__dirname, 'cli.js'), '--port', '0'], {
			stdio: ['ignore', 'pipe', 'inherit'],
		});
		const exited = new Promise<number | null>((resolve) => cli.once('exit', resolve));
		const [line] = (await once(createInterface({ input: cli.stdout }), 'line')) as [string];
		const ready = JSON.parse(line) as { origin: string; cisBaseUrl: string; accessToken: string };
		expect(ready.accessToken).toBe(DEMO_ACCESS_TOKEN);

		const call = `${ready.cisBaseUrl}/calls/${DEMO_CALL_IDS[0]}/depersonalization`;
		const headers = { authorization: `Bearer ${ready.accessToken}` };
		expect((await fetch(call, { method: 'POST', headers })).status).toBe(200);
		const configured = await fetch(`${ready.origin}/__simulator/configure`, {
			method: 'POST',
			body: JSON.stringify({ acceptAnyId: true }),
		});
		expect(configured.status).toBe(200);
		const state = (await (await fetch(`${ready.origin}/__simulator/state`)).json()) as {
			calls: Record<string, { depersonalized: boolean }>;
			switches: { acceptAnyId: boolean };
		};
		expect(state.calls[DEMO_CALL_IDS[0]].depersonalized).toBe(true);
		expect(state.switches.acceptAnyId).toBe(true);
		const log = (await (await fetch(`${ready.origin}/__simulator/requests`)).json()) as unknown[];
		expect(log).toHaveLength(1);
		expect((await fetch(`${ready.origin}/__simulator/reset`, { method: 'POST' })).status).toBe(200);
		expect((await fetch(call, { method: 'POST', headers })).status).toBe(200);

		cli.kill('SIGTERM');
		expect(await exited).toBe(0);
	});
});

describe('rate limit shapes (on explicit times)', () => {
	const admitted = (limit: RateLimit, at: number) => limit.take(at).admission.waitMs === 0;

	it('sliding window: at most N in any trailing second', () => {
		const limit = new RateLimit({ requestsPerSecond: 3 });
		expect([0, 10, 20, 30].map((at) => admitted(limit, at))).toEqual([true, true, true, false]);
		expect(limit.take(500).admission.waitMs).toBe(500);
		expect(admitted(limit, 1000)).toBe(true);
	});

	it('token bucket: a burst at once, then the refill rate', () => {
		const limit = new RateLimit({ requestsPerSecond: 10, shape: 'tokenBucket', burst: 3 });
		expect([0, 0, 0, 0].map((at) => admitted(limit, at))).toEqual([true, true, true, false]);
		expect(limit.take(50).admission.waitMs).toBeCloseTo(50);
		expect(admitted(limit, 100)).toBe(true);
		expect(admitted(limit, 100)).toBe(false);
	});

	it('a schedule changes the limit from the first request on', () => {
		const limit = new RateLimit({
			requestsPerSecond: 1,
			schedule: [{ afterMs: 5000, requestsPerSecond: 3 }],
		});
		expect([0, 100, 200].map((at) => admitted(limit, at))).toEqual([true, false, false]);
		expect([5000, 5001, 5002, 5003].map((at) => admitted(limit, at))).toEqual([
			true,
			true,
			true,
			false,
		]);
	});

	it('a limit changed mid-run keeps what the window already holds', () => {
		const limit = new RateLimit({ requestsPerSecond: 2 });
		expect([0, 1].map((at) => admitted(limit, at))).toEqual([true, true]);
		const raised = limit.retune({ requestsPerSecond: 3 });
		expect([2, 3].map((at) => admitted(raised, at))).toEqual([true, false]);
	});
});
