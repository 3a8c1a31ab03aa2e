/**
 * Bulk runs through n8n's engine against the simulator: retries that touch only the failed
 * request, pacing after 429s, order and pairing under concurrency, stopping at the first
 * failure, and a token that expires mid-run. Functional, not timed.
 */
import { loginCredentials, secretsIn, tokenCredentials } from './accounts';
import { CredentialStore } from './harness/engine';
import { callIds, expectErasedExactlyOnce, fileSimulator } from './support';
import { idItems, jsonOf, operationParameters, run } from './workflow';

const simulator = fileSimulator();

test('2,000 items through 429s and random 502s, 503s and resets: each erased once', async () => {
	const ids = callIds(2000);
	simulator.addCalls(ids);
	simulator.configure({ faults: { rate: 0.08, kinds: [502, 503, 'reset'], seed: 7 } });
	// The 429s are forced on three IDs (scripted answers come after the random faults), so
	// they happen however fast or slow the machine is.
	for (const id of ['call-500', 'call-1000', 'call-1500']) {
		simulator.respondFor(id, { status: 429, headers: { 'Retry-After': '1' } });
	}

	const result = await run({
		items: idItems(ids),
		parameters: operationParameters('call', 'depersonalize', {
			options: { concurrency: 10, maxRetries: 8 },
		}),
		credentials: tokenCredentials(simulator),
	});

	expect(result.error).toBeUndefined();
	expect(result.output).toHaveLength(2000);
	expect(
		result.output?.every(
			(item, index) => item.json.success === true && item.json.callId === ids[index],
		),
	).toBe(true);
	expect(simulator.stats.faultsInjected).toBeGreaterThan(100);
	expect(simulator.stats.byStatus['429']).toBe(3);
	expect(simulator.stats.resets).toBeGreaterThan(10);
	expectErasedExactlyOnce(simulator, ids);
}, 180_000);

test('order and pairedItem hold at concurrency 8 with random latency', async () => {
	const ids = callIds(300);
	simulator.addCalls(ids);
	simulator.configure({ latencyMs: { min: 0, max: 12 } });

	const result = await run({
		items: idItems(ids),
		parameters: operationParameters('call', 'deleteRecord', { options: { concurrency: 8 } }),
		credentials: tokenCredentials(simulator),
	});

	expect(result.output?.map((item) => item.json.callId)).toEqual(ids);
	expect(result.output?.map((item) => item.pairedItem)).toEqual(ids.map((_, item) => ({ item })));
	// Never more than Concurrency at once; the pace decides how close it gets.
	expect(simulator.stats.maxInFlight).toBeLessThanOrEqual(8);
	expect(simulator.stats.maxInFlight).toBeGreaterThan(1);
	expectErasedExactlyOnce(simulator, ids);
});

test('a 429 for every request in flight leaves no gap: other items go while the refused wait', async () => {
	const ids = callIds(8);
	simulator.addCalls(ids);
	// Both requests of the first turn are refused, each to wait a second (the pace only slows).
	for (const id of ['call-0', 'call-1'])
		simulator.respondFor(id, { status: 429, headers: { 'Retry-After': '1' } });

	const result = await run({
		items: idItems(ids),
		parameters: operationParameters('call', 'depersonalize', { options: { concurrency: 2 } }),
		credentials: tokenCredentials(simulator),
	});

	expect(result.error).toBeUndefined();
	expect(result.output?.map((item) => item.json.callId)).toEqual(ids);
	expect(result.output?.map((item) => item.pairedItem)).toEqual(ids.map((_, item) => ({ item })));
	const refused = simulator.requests.filter((request) => request.status === 429);
	expect(refused.map((request) => request.id).sort()).toEqual(['call-0', 'call-1']);
	const retries = simulator.requests.filter(
		(request) => ['call-0', 'call-1'].includes(request.id ?? '') && request.status === 200,
	);
	// The other six were erased during the wait, and no retry went before its Retry-After.
	const others = simulator.requests.filter(
		(request) => !['call-0', 'call-1'].includes(request.id ?? ''),
	);
	expect(others).toHaveLength(6);
	expect(Math.max(...others.map((request) => request.finishedAt ?? 0))).toBeLessThan(
		Math.min(...retries.map((request) => request.startedAt)),
	);
	for (const retry of retries) {
		const refusal = refused.find((request) => request.id === retry.id);
		expect(
			retry.startedAt - (refusal?.finishedAt ?? Number.POSITIVE_INFINITY),
		).toBeGreaterThanOrEqual(950);
	}
	// Concurrency still bounds the requests in flight.
	expect(simulator.stats.maxInFlight).toBeLessThanOrEqual(2);
	expectErasedExactlyOnce(simulator, ids);
});

// A Retry-After of one second or less only slows the pace down (see test/pacing.test.ts).
test.each([
	['delta-seconds', '2'],
	['HTTP date', 'date'],
])('Retry-After as %s is honoured before the retry', async (_form, value) => {
	simulator.addCalls(['call-1']);
	const retryAfter = value === 'date' ? new Date(Date.now() + 3000).toUTCString() : value;
	simulator.respondFor('call-1', { status: 429, headers: { 'Retry-After': retryAfter } });

	const result = await run({
		items: idItems(['call-1']),
		parameters: operationParameters('call', 'deleteRecord'),
		credentials: tokenCredentials(simulator),
	});

	expect(result.error).toBeUndefined();
	const [limited, retried] = simulator.requests;
	expect([limited.status, retried.status]).toEqual([429, 200]);
	// An HTTP date has one-second resolution, so at least two seconds of the three remain.
	expect(retried.startedAt - (limited.finishedAt ?? 0)).toBeGreaterThanOrEqual(1950);
});

test.each([400, 401, 403, 404, 409, 422])('HTTP %i is never retried', async (status) => {
	simulator.addCalls(['call-1']);
	simulator.respondFor('call-1', { status, times: 10 });

	const result = await run({
		items: idItems(['call-1']),
		parameters: operationParameters('call', 'depersonalize', { options: { maxRetries: 5 } }),
		credentials: tokenCredentials(simulator),
	});

	expect(result.error?.message).toMatch(new RegExp(`HTTP ${status}`));
	expect(simulator.requests).toHaveLength(1);
});

test.each([408, 500, 502, 504])('HTTP %i is retried, up to Max Retries', async (status) => {
	simulator.addCalls(['call-1']);
	simulator.respondFor('call-1', { status, times: 10 });

	const result = await run({
		items: idItems(['call-1']),
		parameters: operationParameters('call', 'deleteRecord', { options: { maxRetries: 2 } }),
		credentials: tokenCredentials(simulator),
	});

	expect(result.error?.message).toMatch(new RegExp(`HTTP ${status}.*\\(after 2 retries\\)`));
	expect(simulator.requests).toHaveLength(3);
	expect(secretsIn(result, simulator)).toEqual([]);
});

test('HTTP 503 is too many requests: retried past Max Retries for as long as Max Wait allows', async () => {
	simulator.addCalls(['call-1']);
	simulator.respondFor('call-1', { status: 503, times: 4 });

	const result = await run({
		items: idItems(['call-1']),
		parameters: operationParameters('call', 'deleteRecord', { options: { maxRetries: 2 } }),
		credentials: tokenCredentials(simulator),
	});

	expect(result.error).toBeUndefined();
	expect(simulator.requests.map((request) => request.status)).toEqual([503, 503, 503, 503, 200]);
	expect(jsonOf(result.output)[0]).toMatchObject({ success: true, attempts: 5 });
});

test('a failure without Continue On Fail starts nothing new; in-flight requests finish', async () => {
	const ids = callIds(200);
	simulator.addCalls(ids);
	simulator.configure({ latencyMs: { min: 2, max: 10 } });
	simulator.respondFor('call-30', { status: 400, body: '{"message":"Call is locked"}' });

	const result = await run({
		items: idItems(ids),
		parameters: operationParameters('call', 'depersonalize', { options: { concurrency: 4 } }),
		credentials: tokenCredentials(simulator),
	});

	expect(result.error?.message).toMatch(/"call-30": HTTP 400 – Call is locked \(item 30\)$/);
	const failed = simulator.requests.find((request) => request.id === 'call-30');
	// A request the node started before it read the failure may still arrive just after it.
	const startedAfterFailure = simulator.requests.filter(
		(request) => request.startedAt > (failed?.finishedAt ?? Infinity) + 50,
	);
	expect(startedAfterFailure).toEqual([]);
	const sent = simulator.requests.length;
	expect(sent).toBeGreaterThanOrEqual(31);
	// Items started while item 30 was still in flight finish; nothing near the 200 is sent.
	expect(sent).toBeLessThan(60);
	const done = simulator.erasures().length;
	expect(result.error?.description).toMatch(
		new RegExp(
			`${done} of 200 items were done, 1 failed\\. Not sent: ${200 - sent} \\(the first is item ${sent}\\)`,
		),
	);
});

test('a token expiring mid-run: every item succeeds with one new login', async () => {
	const ids = callIds(600);
	simulator.addCalls(ids);
	simulator.configure({ latencyMs: { min: 1, max: 4 } });
	const store = new CredentialStore();
	const expireAfter100 = setInterval(() => {
		if (simulator.erasures().length >= 100) {
			simulator.expireAllTokens();
			clearInterval(expireAfter100);
		}
	}, 2);

	const result = await run({
		items: idItems(ids),
		parameters: operationParameters('call', 'depersonalize', { options: { concurrency: 8 } }),
		credentials: loginCredentials(simulator),
		store,
	});
	clearInterval(expireAfter100);

	expect(result.error).toBeUndefined();
	expect(result.output?.every((item) => item.json.success === true)).toBe(true);
	expect(simulator.stats.byStatus['401']).toBeGreaterThan(0);
	expect(simulator.logins).toEqual({ ok: 2, failed: 0 });
	expect(store.counters.writes).toBe(2);
	expectErasedExactlyOnce(simulator, ids);
	expect(secretsIn(result, simulator)).toEqual([]);
});

test('a rate limit slows the whole run instead of every worker hammering it', async () => {
	const ids = callIds(400);
	simulator.addCalls(ids);
	simulator.configure({ rateLimit: { requestsPerSecond: 200, retryAfter: 'seconds' } });

	const result = await run({
		items: idItems(ids),
		parameters: operationParameters('call', 'depersonalize', { options: { concurrency: 20 } }),
		credentials: tokenCredentials(simulator),
	});

	expect(result.error).toBeUndefined();
	expectErasedExactlyOnce(simulator, ids);
	// Without shared pacing each of the 20 workers would meet its own 429s again and again.
	expect(simulator.stats.rateLimited).toBeLessThanOrEqual(40);
});
