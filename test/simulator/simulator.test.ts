import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import type { LimitAnswer, RateLimitSetting } from './simulator';
import {
	DEMO_ACCESS_TOKEN,
	DEMO_CALL_IDS,
	nginxErrorPage,
	RateLimit,
	readSwitches,
	Twin24Simulator,
} from './simulator';

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

describe('ways to say "slow down" (on explicit times)', () => {
	/** Some wall-clock moment 400 ms into a second, for HTTP dates. */
	const EPOCH = Date.UTC(2026, 0, 1, 0, 0, 0, 400);
	const answers = (limit: RateLimit, times: readonly number[]): LimitAnswer[] =>
		times.map((at) => limit.answer(at, EPOCH + at));
	const statuses = (limit: RateLimit, times: readonly number[]): number[] =>
		answers(limit, times).map((answer) => answer.status);

	it("nginx limit_req, burst 5 nodelay: 1 + 5 at once, then one per 1/rate; 503 with nginx's page", () => {
		const limit = new RateLimit({ requestsPerSecond: 50, shape: 'leakyBucket', burst: 5 });
		expect(statuses(limit, [0, 0, 0, 0, 0, 0, 0])).toEqual([200, 200, 200, 200, 200, 200, 503]);
		// 20 ms leak one request: one more passes, the next at the same moment does not.
		expect(statuses(limit, [20, 20, 30, 40])).toEqual([200, 503, 503, 200]);
		const refused = limit.answer(40, EPOCH);
		expect(refused.body).toBe(nginxErrorPage(503));
		expect(
			refused.body.startsWith('<html>\r\n<head><title>503 Service Temporarily Unavailable</title>'),
		).toBe(true);
		expect(refused.headers).toEqual({ 'content-type': 'text/html' });
		expect(limit.take(40).admission.waitMs).toBe(20);
	});

	it('nginx limit_req, burst 0: one per 1/rate, refused requests change nothing', () => {
		const limit = new RateLimit({ requestsPerSecond: 50, shape: 'leakyBucket', burst: 0 });
		expect(statuses(limit, [0, 0, 10, 19, 20, 20, 45, 60])).toEqual([
			200, 503, 503, 503, 200, 503, 200, 503,
		]);
		expect(
			readSwitches({ rateLimit: { requestsPerSecond: 5, shape: 'leakyBucket', burst: 0 } })
				.rateLimit?.burst,
		).toBe(0);
		expect(() =>
			readSwitches({ rateLimit: { requestsPerSecond: 5, shape: 'tokenBucket', burst: 0 } }),
		).toThrow(RangeError);
	});

	it('overload: 503 with Retry-After 1 whatever the real wait, JSON body', () => {
		const limit = new RateLimit({ requestsPerSecond: 2, status: 503, retryAfterSeconds: 1 });
		const [, , refused] = answers(limit, [0, 0, 0]);
		expect(refused.status).toBe(503);
		expect(JSON.parse(refused.body)).toEqual({ message: 'Service temporarily overloaded' });
		expect(refused.headers).toEqual({
			'content-type': 'application/json; charset=utf-8',
			'retry-after': '1',
		});
		// Still 1 with almost nothing left to wait.
		expect(limit.answer(999, EPOCH).headers['retry-after']).toBe('1');
	});

	it('429 with an HTTP-date Retry-After two seconds ahead, whatever the bucket says', () => {
		const setting: RateLimitSetting = {
			requestsPerSecond: 100,
			shape: 'tokenBucket',
			burst: 5,
			retryAfter: 'http-date',
			retryAfterSeconds: 2,
		};
		const limit = new RateLimit(setting);
		const all = answers(limit, [0, 0, 0, 0, 0, 0]);
		expect(all.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 429]);
		expect(limit.take(0).admission.waitMs).toBeCloseTo(10);
		// 00:00:00.400 + 2 s, rounded up to the date's whole second.
		expect(all[5].headers['retry-after']).toBe('Thu, 01 Jan 2026 00:00:03 GMT');
	});

	it('a fixed window announcing itself: X-RateLimit-* on every answer, Retry-After to its end', () => {
		const limit = new RateLimit({ requestsPerSecond: 100, shape: 'fixedWindow', headers: 'x' });
		const first = answers(
			limit,
			Array.from({ length: 100 }, () => 0),
		);
		expect(first[0].headers).toEqual({
			'x-ratelimit-limit': '100',
			'x-ratelimit-remaining': '99',
			'x-ratelimit-reset': '1',
		});
		expect(first[99].headers['x-ratelimit-remaining']).toBe('0');
		const refused = limit.answer(400, EPOCH);
		expect(refused.status).toBe(429);
		expect(refused.headers).toMatchObject({
			'retry-after': '1',
			'x-ratelimit-remaining': '0',
			'x-ratelimit-reset': '1',
		});
		expect(limit.take(400).admission.waitMs).toBe(600);
		// A new window: the whole quota again.
		expect(limit.answer(1000, EPOCH).headers['x-ratelimit-remaining']).toBe('99');
	});

	it('a per-minute fixed window: Retry-After to the end of the minute', () => {
		const limit = new RateLimit({
			requestsPerSecond: 5,
			shape: 'fixedWindow',
			windowSeconds: 60,
			headers: 'ietf',
		});
		const minute = answers(
			limit,
			Array.from({ length: 300 }, (_, index) => index * 50),
		);
		expect(minute.every((answer) => answer.admitted)).toBe(true);
		expect(minute[0].headers['ratelimit-policy']).toBe('300;w=60');
		const refused = limit.answer(15_000, EPOCH);
		expect(refused.headers['retry-after']).toBe('45');
		expect(refused.headers['ratelimit-reset']).toBe('45');
		expect(statuses(limit, [59_999, 60_000])).toEqual([429, 200]);
	});

	it('the IETF combined RateLimit field and its policy, for any shape', () => {
		const limit = new RateLimit({ requestsPerSecond: 100, headers: 'ietf-combined' });
		const all = answers(
			limit,
			Array.from({ length: 63 }, () => 0),
		);
		expect(all[62].headers).toEqual({
			ratelimit: 'limit=100, remaining=37, reset=1',
			'ratelimit-policy': '100;w=1',
		});
		const bucket = new RateLimit({
			requestsPerSecond: 50,
			shape: 'leakyBucket',
			burst: 5,
			headers: 'ietf-combined',
		});
		expect(bucket.answer(0, EPOCH).headers['ratelimit-policy']).toBe('50;w=1;burst=6');
		const cap = new RateLimit({
			requestsPerSecond: 1,
			shape: 'inFlight',
			headers: 'ietf-combined',
		});
		expect(cap.answer(0, EPOCH).headers).toEqual({ ratelimit: 'limit=4, remaining=3, reset=0' });
	});

	it('a cap on requests in flight: the 5th at once gets 429 without Retry-After, no rate at all', () => {
		const limit = new RateLimit({ requestsPerSecond: 1, shape: 'inFlight', maxInFlight: 4 });
		const [, , , , fifth] = answers(limit, [0, 0, 0, 0, 0]);
		expect(fifth.status).toBe(429);
		expect(fifth.headers).toEqual({ 'content-type': 'application/json; charset=utf-8' });
		limit.release();
		expect(statuses(limit, [0, 0])).toEqual([200, 429]);
		// Answered as soon as admitted: any number per second.
		for (let index = 0; index < 4; index++) limit.release();
		for (let index = 0; index < 1000; index++) {
			expect(limit.answer(1, EPOCH).admitted).toBe(true);
			limit.release();
		}
	});

	it('a limit another client uses half of: its requests are taken evenly from the first one on', () => {
		const limit = new RateLimit({ requestsPerSecond: 100, backgroundPerSecond: 50 });
		expect(limit.answer(0, EPOCH).admitted).toBe(true);
		// By 1 s the other client sent 50 (at 20, 40, … 1000 ms): 50 of the 100 are left.
		const second = answers(
			limit,
			Array.from({ length: 51 }, () => 1000),
		);
		expect(second.filter((answer) => answer.admitted)).toHaveLength(50);
		expect(second[50].status).toBe(429);
		// After an hour away the loop catches up on the recent ones only, and the share is the same.
		const later = answers(
			limit,
			Array.from({ length: 51 }, () => 3_600_000),
		);
		expect(later.filter((answer) => answer.admitted)).toHaveLength(50);
	});

	it.each([
		['json', 429, 'application/json; charset=utf-8', '{"message":"Too many requests"}'],
		['html', 429, 'text/html', nginxErrorPage(429)],
		['text', 503, 'text/plain; charset=utf-8', 'Service temporarily overloaded'],
		['empty', 503, undefined, ''],
	] as const)('a %s body on %d', (body, status, type, text) => {
		const limit = new RateLimit({ requestsPerSecond: 1, status, body, retryAfterSeconds: 0 });
		const [, refused] = answers(limit, [0, 0]);
		expect(refused).toMatchObject({ status, body: text });
		expect(refused.headers['content-type']).toBe(type);
		expect(refused.headers['retry-after']).toBe('0');
	});

	it('Retry-After as delta-seconds: 0, the real wait (at least 1), or a large value as given', () => {
		const retryAfter = (setting: Partial<RateLimitSetting>) => {
			const limit = new RateLimit({ requestsPerSecond: 1, ...setting });
			return answers(limit, [0, 1])[1].headers['retry-after'];
		};
		expect(retryAfter({ retryAfterSeconds: 0 })).toBe('0');
		expect(retryAfter({})).toBe('1');
		expect(retryAfter({ retryAfterSeconds: 86400 })).toBe('86400');
		expect(retryAfter({ retryAfter: 'none', retryAfterSeconds: 5 })).toBeUndefined();
		expect(() =>
			readSwitches({ rateLimit: { requestsPerSecond: 1, retryAfterSeconds: -1 } }),
		).toThrow(RangeError);
	});
});

describe('ways to say "slow down" (over HTTP)', () => {
	/** Slow enough that a second request within a test never finds room again. */
	const SLOW = 0.01;

	it("nginx limit_req answers 503 with nginx's HTML page and no Retry-After", async () => {
		sim.configure({ rateLimit: { requestsPerSecond: SLOW, shape: 'leakyBucket', burst: 0 } });
		expect((await depersonalizeCall('call-1')).status).toBe(200);
		const refused = await depersonalizeCall('call-2');
		expect(refused.status).toBe(503);
		expect(refused.headers.get('content-type')).toBe('text/html');
		expect(refused.headers.get('retry-after')).toBeNull();
		expect(await refused.text()).toBe(nginxErrorPage(503));
		expect(sim.getCall('call-2')?.depersonalized).toBe(false);
		expect(sim.stats.rateLimited).toBe(1);
	});

	it('overload 503 with Retry-After 1, and an HTTP date two seconds ahead on 429', async () => {
		sim.configure({ rateLimit: { requestsPerSecond: SLOW, status: 503, retryAfterSeconds: 1 } });
		await depersonalizeCall('call-1');
		const overloaded = await depersonalizeCall('call-2');
		expect([overloaded.status, overloaded.headers.get('retry-after')]).toEqual([503, '1']);
		expect(await overloaded.json()).toEqual({ message: 'Service temporarily overloaded' });

		const dated = { retryAfter: 'http-date', retryAfterSeconds: 2 } as const;
		sim.configure({
			rateLimit: { requestsPerSecond: SLOW, shape: 'tokenBucket', burst: 1, ...dated },
		});
		await depersonalizeCall('call-2');
		const limited = await depersonalizeCall('a%2Fb');
		expect(limited.status).toBe(429);
		const waitMs = Date.parse(limited.headers.get('retry-after') ?? '') - Date.now();
		expect(waitMs).toBeGreaterThan(1000);
		expect(waitMs).toBeLessThanOrEqual(3000);
	});

	it('a fixed window sends X-RateLimit-* with every answer, the combined RateLimit field too', async () => {
		const window = { requestsPerSecond: 0.5, shape: 'fixedWindow', windowSeconds: 10 } as const;
		sim.configure({ rateLimit: { ...window, headers: 'x' } });
		const first = await depersonalizeCall('call-1');
		expect(first.headers.get('x-ratelimit-limit')).toBe('5');
		expect(first.headers.get('x-ratelimit-remaining')).toBe('4');
		expect(Number(first.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(9);

		sim.configure({
			rateLimit: {
				requestsPerSecond: SLOW,
				shape: 'fixedWindow',
				windowSeconds: 100,
				headers: 'ietf-combined',
			},
		});
		await depersonalizeCall('call-2');
		const refused = await depersonalizeCall('nope');
		expect(refused.status).toBe(429);
		expect(refused.headers.get('ratelimit')).toMatch(/^limit=1, remaining=0, reset=(99|100)$/);
		expect(refused.headers.get('ratelimit-policy')).toBe('1;w=100');
		expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(99);
	});

	it('a cap on requests in flight refuses the one over it, and counts a request until answered', async () => {
		sim.configure({
			latencyMs: 300,
			rateLimit: { requestsPerSecond: 1, shape: 'inFlight', maxInFlight: 2 },
		});
		const all = await Promise.all(['call-1', 'call-2', 'a%2Fb'].map((id) => depersonalizeCall(id)));
		expect(all.map((answer) => answer.status).sort()).toEqual([200, 200, 429]);
		expect(all.find((answer) => answer.status === 429)?.headers.get('retry-after')).toBeNull();
		// Both answered: room again.
		expect((await depersonalizeCall('nope')).status).toBe(404);
	});

	it("another client's requests take from the limit but are not in the log", async () => {
		sim.configure({ rateLimit: { requestsPerSecond: 1000, backgroundPerSecond: 500 } });
		for (const id of ['call-1', 'call-2']) await depersonalizeCall(id);
		await new Promise((resolve) => setTimeout(resolve, 50));
		await depersonalizeCall('nope');
		expect(sim.requests).toHaveLength(3);
		expect(sim.stats.requests).toBe(3);
	});

	it('a refusal with a plain-text or an empty body', async () => {
		sim.configure({ rateLimit: { requestsPerSecond: SLOW, body: 'text' } });
		await depersonalizeCall('call-1');
		const text = await depersonalizeCall('call-2');
		expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8');
		expect(await text.text()).toBe('Too many requests');
		sim.configure({ rateLimit: { requestsPerSecond: SLOW, body: 'empty', retryAfterSeconds: 0 } });
		const empty = await depersonalizeCall('call-2');
		expect([
			empty.status,
			empty.headers.get('content-type'),
			empty.headers.get('retry-after'),
		]).toEqual([429, null, '0']);
		expect(await empty.text()).toBe('');
	});
});
