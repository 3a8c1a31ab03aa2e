/**
 * Every item's result is the truth, at the edges: IDs JavaScript cannot hold, invisible
 * characters, answers lost after Twin24 carried the erasure out, the same ID more than once,
 * Stop, credential problems under Continue On Fail, a failing login, a Retry-After longer than
 * the node may wait, and the proof-of-erasure fields. All through n8n's engine against the
 * simulator over HTTP, each situation forced by the simulator, never hoped for.
 */
import { performance } from 'node:perf_hooks';

import type { INodeExecutionData, INodeParameters } from 'n8n-workflow';

import { mayBeDoneAfter } from '../nodes/Twin24/transport/retryPolicy';
import { loginCredentials, secretsIn, tokenCredentials } from './accounts';
import type { ExecutionControls } from './harness/engine';
import { callIds, fileSimulator } from './support';
import { confirmed, idItems, jsonOf, NOT_CONFIRMED, operationParameters, run } from './workflow';

const simulator = fileSimulator();

const UUID = '3f2c8a4e-7b1d-4c9a-9e1f-2a6b5d8c0e11';
/** A call ID past 2^53, as a CRM's JSON would hand it over: the number 9007199254740992. */
const UNSAFE_CALL_ID = JSON.parse('9007199254740993') as number;

function sentIds(): Array<string | undefined> {
	return simulator.requests
		.filter((request) => request.route !== 'login')
		.map((request) => request.id);
}

/** Calls `action` once `condition` holds; polls, so it waits for the condition however slow the run. */
function when(condition: () => boolean, action: () => void): () => void {
	const poll = setInterval(() => {
		if (!condition()) return;
		clearInterval(poll);
		action();
	}, 2);
	return () => clearInterval(poll);
}

describe('1. numeric IDs', () => {
	test('a number that is not a safe whole number is an invalid ID; safe ones are sent in plain decimal', async () => {
		simulator.configure({ acceptAnyId: true });
		// 9007199254740993 in JSON is already 9007199254740992 in any workflow: another call's ID.
		const ids = [UNSAFE_CALL_ID, 1e21, 1.5, 42, 9007199254740991, -0];
		const result = await run({
			items: idItems(ids),
			parameters: operationParameters('call', 'depersonalize', { options: { concurrency: 1 } }),
			credentials: tokenCredentials(simulator),
			continueOnFail: true,
		});

		expect(sentIds()).toEqual(['42', '9007199254740991', '0']);
		const output = jsonOf(result.output);
		expect(output.map((item) => item.success)).toEqual([false, false, false, true, true, true]);
		expect(output[0].error).toBe(
			'Call ID is the number 9007199254740992, too large to be held exactly as a number, so its last digits may already be wrong; nothing was sent, so that no other record is erased. Pass the ID as text (a string), e.g. keep it quoted in the source data (item 0)',
		);
		expect(output[1].error).toMatch(
			/^Call ID is the number 1e\+21, too large.*as text.*\(item 1\)$/,
		);
		expect(output[2].error).toMatch(
			/^Call ID is the number 1\.5, not a whole number.*as text.*\(item 2\)$/,
		);
		expect(output[0]).toMatchObject(NOT_CONFIRMED);
	});

	test('without Continue On Fail the run stops at the unsafe number, before sending it', async () => {
		simulator.configure({ acceptAnyId: true });
		const result = await run({
			items: idItems([UNSAFE_CALL_ID]),
			parameters: operationParameters('call', 'deleteRecord'),
			credentials: tokenCredentials(simulator),
		});
		expect(result.error?.message).toMatch(/9007199254740992, too large/);
		expect(simulator.requests).toHaveLength(0);
	});
});

describe('2. invisible characters', () => {
	test.each([
		['U+200B', '\u200b', 'zero-width space'],
		['U+2060', '\u2060', 'word joiner'],
		['U+00AD', '\u00ad', 'soft hyphen'],
		['U+FEFF', '\ufeff', 'zero-width no-break space (BOM)'],
	])(
		'%s: a UUID carrying it is invalid, never sent, never trimmed',
		async (_name, character, name) => {
			simulator.addCalls([UUID]);
			const hex = character.codePointAt(0)?.toString(16).toUpperCase().padStart(4, '0');
			const result = await run({
				items: idItems([`${UUID}${character}`, `${character}${UUID}`]),
				parameters: operationParameters('call', 'depersonalize', {
					options: { ignoreNotFound: true },
				}),
				credentials: tokenCredentials(simulator),
				continueOnFail: true,
			});

			expect(simulator.requests).toHaveLength(0);
			const [atEnd, atStart] = jsonOf(result.output);
			expect(atEnd.success).toBe(false);
			expect(atEnd.error).toContain(`U+${hex} (${name}) at position 37`);
			expect(atStart.error).toContain(`U+${hex} (${name}) at position 1`);
			// The real call keeps its data until the ID is corrected: nothing reports it as done.
			expect(simulator.getCall(UUID)).toEqual({ depersonalized: false, hasRecord: true });
		},
	);
});

describe('3. lost answers', () => {
	test('the connection resets after Twin24 carried the erasure out: the retry’s 404 counts as done', async () => {
		simulator.addCalls(['call-1']);
		simulator.respondFor('call-1', { kind: 'answerLost', loss: 'reset' });
		const result = await run({
			items: idItems(['call-1']),
			parameters: operationParameters('call', 'depersonalize'),
			credentials: tokenCredentials(simulator),
		});

		expect(result.error).toBeUndefined();
		expect(simulator.requests.map((request) => request.status)).toEqual(['reset', 404]);
		expect(simulator.erasures()).toHaveLength(1);
		expect(jsonOf(result.output)).toEqual([
			{
				success: true,
				callId: 'call-1',
				recordDeleted: true,
				answerLost: true,
				...confirmed(2),
			},
		]);
	});

	test('an answer later than Timeout, after the erasure was carried out: done, answer lost', async () => {
		simulator.addCalls(['call-1']);
		simulator.respondFor('call-1', { kind: 'answerLost', loss: 'late', delayMs: 3000 });
		const result = await run({
			items: idItems(['call-1']),
			parameters: operationParameters('call', 'deleteRecord', { options: { timeout: 1000 } }),
			credentials: tokenCredentials(simulator),
		});

		expect(result.error).toBeUndefined();
		expect(simulator.getCall('call-1')).toEqual({ depersonalized: false, hasRecord: false });
		expect(jsonOf(result.output)[0]).toMatchObject({
			success: true,
			recordDeleted: true,
			answerLost: true,
			attempts: 2,
		});
		expect(sentIds()).toEqual(['call-1', 'call-1']);
	});

	test('a 502 whose request was carried out anyway: the retry’s 404 counts as done', async () => {
		simulator.addCalls(['call-1']);
		simulator.respondFor('call-1', { status: 502 });
		simulator.respondFor('call-1', { status: 404, body: '{"message":"Call call-1 not found"}' });
		const result = await run({
			items: idItems(['call-1']),
			parameters: operationParameters('call', 'depersonalize', { skipDeleteRecord: true }),
			credentials: tokenCredentials(simulator),
		});
		expect(jsonOf(result.output)[0]).toMatchObject({
			success: true,
			recordDeleted: false,
			answerLost: true,
		});
	});

	test.each([
		['a first attempt', []],
		['a retry after a 429 (never carried out)', [{ status: 429, headers: { 'Retry-After': '0' } }]],
		['a retry after a 503 (never carried out)', [{ status: 503 }]],
	])('a 404 answering %s stays "not found"', async (_name, before) => {
		for (const answer of before) simulator.respondFor('gone', answer);
		const failed = await run({
			items: idItems(['gone']),
			parameters: operationParameters('call', 'depersonalize'),
			credentials: tokenCredentials(simulator),
			continueOnFail: true,
		});
		expect(jsonOf(failed.output)[0]).toMatchObject({ success: false, statusCode: 404 });
		expect(jsonOf(failed.output)[0].error).toMatch(/HTTP 404/);
		expect(jsonOf(failed.output)[0].answerLost).toBeUndefined();

		simulator.reset();
		for (const answer of before) simulator.respondFor('gone', answer);
		const ignored = await run({
			items: idItems(['gone']),
			parameters: operationParameters('call', 'depersonalize', {
				options: { ignoreNotFound: true },
			}),
			credentials: tokenCredentials(simulator),
		});
		expect(jsonOf(ignored.output)[0]).toEqual({
			success: true,
			callId: 'gone',
			recordDeleted: false,
			notFound: true,
			...confirmed(before.length + 1),
		});
	});

	test('which failures may have reached Twin24: refused connections and DNS errors never did', () => {
		expect(mayBeDoneAfter({ kind: 'network', code: 'ECONNREFUSED' })).toBe(false);
		expect(mayBeDoneAfter({ kind: 'network', code: 'ENOTFOUND' })).toBe(false);
		expect(mayBeDoneAfter({ kind: 'network', code: 'ECONNRESET' })).toBe(true);
		expect(mayBeDoneAfter({ kind: 'timeout' })).toBe(true);
		expect(mayBeDoneAfter({ kind: 'http', statusCode: 504 })).toBe(true);
		expect(mayBeDoneAfter({ kind: 'http', statusCode: 429 })).toBe(false);
		expect(mayBeDoneAfter({ kind: 'http', statusCode: 503 })).toBe(false);
	});
});

describe('4. the same ID more than once', () => {
	test('one request per distinct erasure; repeats get its result, marked as repeats', async () => {
		simulator.addCalls(['a', 'b', 'c']);
		simulator.configure({ latencyMs: { min: 5, max: 15 } });
		const result = await run({
			items: idItems(['a', 'b', 'a', 'a', 'c', 'b', ' a ']),
			parameters: operationParameters('call', 'depersonalize', { options: { concurrency: 8 } }),
			credentials: tokenCredentials(simulator),
		});

		expect(result.error).toBeUndefined();
		expect([...sentIds()].sort()).toEqual(['a', 'b', 'c']);
		const output = jsonOf(result.output);
		expect(output.map((item) => item.success)).toEqual(Array(7).fill(true));
		expect(output.map((item) => item.repeatOf)).toEqual([
			undefined,
			undefined,
			0,
			0,
			undefined,
			1,
			0,
		]);
		expect(output[2]).toEqual({ ...output[0], repeatOf: 0, attempts: 0 });
		expect(output[0]).toMatchObject({ callId: 'a', recordDeleted: true, ...confirmed(1) });
		expect(result.output?.map((item) => item.pairedItem)).toEqual(
			[0, 1, 2, 3, 4, 5, 6].map((item) => ({ item })),
		);
	});

	test('a repeat of a failed erasure fails the same way; nothing is sent twice', async () => {
		const result = await run({
			items: idItems(['unknown', 'unknown']),
			parameters: operationParameters('call', 'deleteRecord'),
			credentials: tokenCredentials(simulator),
			continueOnFail: true,
		});
		expect(sentIds()).toEqual(['unknown']);
		const [first, repeat] = jsonOf(result.output);
		expect(first).toMatchObject({ success: false, statusCode: 404 });
		expect(repeat).toEqual({ ...first, repeatOf: 0, attempts: 0 });
	});

	test('two different erasures of one ID go one after the other, in input order', async () => {
		simulator.addCalls(['a']);
		simulator.configure({ latencyMs: 40 });
		const result = await run({
			items: [
				{ id: 'a', keep: true },
				{ id: 'a', keep: false },
			],
			parameters: operationParameters('call', 'depersonalize', {
				skipDeleteRecord: '={{ $json.keep }}',
				options: { concurrency: 5, ignoreNotFound: true },
			}),
			credentials: tokenCredentials(simulator),
		});
		const [first, second] = simulator.requests;
		expect([first.json, second.json]).toEqual([
			{ skipDeleteRecord: true },
			{ skipDeleteRecord: false },
		]);
		expect(second.startedAt).toBeGreaterThanOrEqual(first.finishedAt ?? Infinity);
		expect(jsonOf(result.output).map((item) => item.notFound)).toEqual([undefined, true]);
	});
});

describe('5. Stop', () => {
	/** Runs `ids` and presses Stop once `condition` holds; returns when the node itself ended. */
	async function runAndStop(
		ids: string[],
		options: INodeParameters,
		condition: () => boolean,
		continueOnFail = true,
	) {
		let cancelledAt = Number.POSITIVE_INFINITY;
		let stopPolling = () => undefined as void;
		const onStart = (controls: ExecutionControls) => {
			stopPolling = when(condition, () => {
				cancelledAt = performance.now();
				controls.cancel();
			});
		};
		const result = await run({
			items: idItems(ids),
			parameters: operationParameters('call', 'depersonalize', { options }),
			credentials: tokenCredentials(simulator),
			continueOnFail,
			onStart,
		});
		stopPolling();
		const ending = result.result.ending('Twin24');
		const returned = (ending?.returned as INodeExecutionData[][] | undefined)?.[0] ?? [];
		return { result, cancelledAt, endedAt: ending?.at ?? Infinity, returned };
	}

	/**
	 * What the simulator saw start more than `graceMs` after the cancel: must be nothing. A request
	 * handed to the HTTP client just before the cancel may still connect a little later on a busy
	 * machine; the defect this guards against sent erasures seconds after Stop.
	 */
	function startedAfter(cancelledAt: number, graceMs = 250) {
		return simulator.requests.filter((request) => request.startedAt > cancelledAt + graceMs);
	}

	test('no request starts after Stop, the node ends within 1 s, requests in flight are reported', async () => {
		const ids = callIds(200);
		simulator.addCalls(ids);
		simulator.configure({ latencyMs: 60 });
		const stopped = await runAndStop(
			ids,
			{ concurrency: 5 },
			() => simulator.requests.length >= 20,
		);

		expect(startedAfter(stopped.cancelledAt)).toEqual([]);
		expect(stopped.endedAt - stopped.cancelledAt).toBeLessThan(1000);
		const output = stopped.returned.map((item) => item.json);
		expect(output).toHaveLength(200);
		const erased = new Set(simulator.erasures().map((erasure) => erasure.id));
		const done = output.filter((item) => item.success === true);
		// n8n aborts the requests in flight at Stop; they are reported as not confirmed, with
		// their attempt counted, and only they may have been carried out unconfirmed.
		const unconfirmed = output.filter((item) => String(item.error).startsWith('Not confirmed'));
		const notSent = output.filter((item) => String(item.error).startsWith('Not sent'));
		expect(done.length + unconfirmed.length + notSent.length).toBe(200);
		expect(done.every((item) => erased.has(String(item.callId)))).toBe(true);
		expect(unconfirmed.length).toBeLessThanOrEqual(5);
		expect(unconfirmed.every((item) => item.cancelled === true && item.attempts === 1)).toBe(true);
		expect(notSent.every((item) => item.cancelled === true && item.attempts === 0)).toBe(true);
		expect(notSent.some((item) => erased.has(String(item.callId)))).toBe(false);
		expect(erased.size).toBeLessThanOrEqual(done.length + unconfirmed.length);
		expect(stopped.result.run.status).toBe('canceled');
	});

	test('Stop ends a 429 pause at once', async () => {
		const ids = callIds(20);
		simulator.addCalls(ids);
		simulator.respondFor('call-3', { status: 429, headers: { 'Retry-After': '40' } });
		const stopped = await runAndStop(ids, { concurrency: 2 }, () =>
			simulator.requests.some((request) => request.status === 429),
		);
		expect(stopped.endedAt - stopped.cancelledAt).toBeLessThan(1000);
		expect(startedAfter(stopped.cancelledAt)).toEqual([]);
	});

	test('Stop ends a backoff wait at once, without Continue On Fail too', async () => {
		const ids = callIds(3);
		simulator.addCalls(ids);
		// Every item in backoff: one waiting out its backoff leaves its slot to the next.
		for (const id of ids) simulator.respondFor(id, { status: 503, times: 20 });
		const stopped = await runAndStop(
			ids,
			{ concurrency: 1, maxRetries: 10 },
			() => simulator.requests.filter((request) => request.status === 503).length >= 4,
			false,
		);
		expect(stopped.endedAt - stopped.cancelledAt).toBeLessThan(1000);
		expect(startedAfter(stopped.cancelledAt)).toEqual([]);
		expect(stopped.returned.map((item) => item.json.success)).toEqual([false, false, false]);
	});
});

describe('6. Continue On Fail and a credential the node cannot use', () => {
	test.each([
		[
			'plain http:// to a remote host',
			{ cisBaseUrl: 'http://twin24.example/api/v1' },
			/plain http:\/\//,
		],
		['a base URL that is not a URL', { cisBaseUrl: 'twin24 cis' }, /is not a valid URL/],
		['an empty base URL', { cisBaseUrl: '' }, /CIS Base URL is empty/],
		['no token', { accessToken: '' }, /has no access token/],
	])(
		'%s: every item fails with the message; nothing is sent',
		async (_name, overrides, message) => {
			const items = idItems(['call-1', 'call-2', 'call-3']);
			const parameters = operationParameters('call', 'depersonalize');
			const credentials = tokenCredentials(simulator, overrides);
			const result = await run({ items, parameters, credentials, continueOnFail: true });

			expect(result.error).toBeUndefined();
			const output = jsonOf(result.output);
			expect(output.map((item) => item.success)).toEqual([false, false, false]);
			expect(output.map((item) => item.callId)).toEqual(['call-1', 'call-2', 'call-3']);
			output.forEach((item, index) => {
				expect(item.error).toMatch(message);
				expect(item.error).toMatch(new RegExp(`\\(item ${index}\\)$`));
				expect(item).toMatchObject(NOT_CONFIRMED);
			});
			expect(simulator.requests).toHaveLength(0);

			const failing = await run({ items, parameters, credentials });
			expect(failing.error?.message).toMatch(message);
			expect(failing.output).toBeUndefined();
		},
	);
});

describe('7. a failing login', () => {
	test('the IAM answers 500 for good: at most Max Retries + 1 logins, then every item fails', async () => {
		simulator.failNext(1000, 500, { route: 'login' });
		const result = await run({
			items: idItems(callIds(40)),
			parameters: operationParameters('call', 'depersonalize', {
				options: { concurrency: 10, maxRetries: 2 },
			}),
			credentials: loginCredentials(simulator),
			continueOnFail: true,
		});

		expect(simulator.requests.map((request) => request.route)).toEqual(['login', 'login', 'login']);
		const output = jsonOf(result.output);
		expect(output).toHaveLength(40);
		for (const item of output) {
			expect(item.success).toBe(false);
			expect(item.error).toMatch(/Twin24 login failed \(HTTP 500.*\(3 login attempts\)/);
			expect(item.attempts).toBe(0);
		}
		expect(secretsIn(result, simulator)).toEqual([]);
	});

	test('a 503 from the IAM with Retry-After: the next login waits for it', async () => {
		simulator.addCalls(['call-1', 'call-2']);
		simulator.failNext(1, 503, { route: 'login', headers: { 'Retry-After': '1' } });
		const result = await run({
			items: idItems(['call-1', 'call-2']),
			parameters: operationParameters('call', 'depersonalize'),
			credentials: loginCredentials(simulator),
		});

		expect(result.error).toBeUndefined();
		const logins = simulator.requests.filter((request) => request.route === 'login');
		expect(logins.map((request) => request.status)).toEqual([503, 200]);
		expect(logins[1].startedAt - (logins[0].finishedAt ?? 0)).toBeGreaterThanOrEqual(950);
	});

	test('a Retry-After from the IAM longer than Max Wait fails the items at once', async () => {
		simulator.failNext(1, 429, { route: 'login', headers: { 'Retry-After': '90' } });
		const result = await run({
			items: idItems(['call-1', 'call-2']),
			parameters: operationParameters('call', 'depersonalize', { options: { maxWait: 30 } }),
			credentials: loginCredentials(simulator),
			continueOnFail: true,
		});
		expect(simulator.requests).toHaveLength(1);
		for (const item of jsonOf(result.output)) {
			expect(item.error).toMatch(
				/wait 90 s before the next login \(until \d{4}-.*Z\), longer than Max Wait \(30 s\)/,
			);
		}
	});
});

describe('8. a Retry-After longer than the node will wait', () => {
	test('the account refuses every request for 90 s: after one more request (sent after the slowdown, and refused too) the items fail at once, naming the server’s wait and when the account takes requests again', async () => {
		const ids = callIds(5);
		simulator.addCalls(ids);
		for (const id of ids)
			simulator.respondFor(id, { status: 429, headers: { 'Retry-After': '90' } });
		const startedAt = Date.now();
		const result = await run({
			items: idItems(ids),
			parameters: operationParameters('call', 'depersonalize', { options: { concurrency: 1 } }),
			credentials: tokenCredentials(simulator),
			continueOnFail: true,
		});

		// The first refusal may be one request's; the second, sent after the slowdown, says the
		// account takes nothing: nothing more was sent.
		expect(simulator.requests.map((request) => request.id)).toEqual(['call-0', 'call-1']);
		expect(result.result.durationMs).toBeLessThan(30000);
		const output = jsonOf(result.output);
		expect(output.every((item) => item.success === false && item.statusCode === 429)).toBe(true);
		const resumeAt = /until (\S+Z), longer than Max Wait \(60 s\)/.exec(String(output[0].error));
		expect(output[0].error).toMatch(
			/^Could not depersonalize call "call-0": HTTP 429 – Twin24 asks to wait 90 s/,
		);
		expect(Date.parse(resumeAt?.[1] ?? '') - startedAt).toBeGreaterThanOrEqual(89000);
		expect(output[0]).toMatchObject({ attempts: 1, confirmedAt: null });
		expect(output[1]).toMatchObject({ attempts: 1 });
		expect(output[4]).toMatchObject({ attempts: 0 });
		expect(output[4].error).toMatch(/"call-4": HTTP 429 – Twin24 asks to wait 9\d s.*\(item 4\)$/);
	});

	test('one request refused with a long Retry-After (a 503 with an HTTP date) holds that request alone: the others are erased meanwhile', async () => {
		const ids = callIds(5);
		simulator.addCalls(ids);
		const inTwoMinutes = new Date(Date.now() + 120_000).toUTCString();
		simulator.respondFor('call-0', { status: 503, headers: { 'Retry-After': inTwoMinutes } });
		const result = await run({
			items: idItems(ids),
			parameters: operationParameters('call', 'depersonalize', { options: { concurrency: 1 } }),
			credentials: tokenCredentials(simulator),
			continueOnFail: true,
		});

		const output = jsonOf(result.output);
		expect(output[0]).toMatchObject({ success: false, statusCode: 503, attempts: 1 });
		expect(output[0].error).toMatch(/HTTP 503 – Twin24 asks to wait 1[12]\d s/);
		expect(output.slice(1).map((item) => item.success)).toEqual([true, true, true, true]);
		expect(simulator.erasures().map((erasure) => erasure.id)).toEqual(ids.slice(1));
	});

	test('without Continue On Fail the run stops with that message', async () => {
		simulator.addCalls(['call-1']);
		simulator.respondFor('call-1', { status: 429, headers: { 'Retry-After': '90' } });
		const result = await run({
			items: idItems(['call-1']),
			parameters: operationParameters('call', 'depersonalize', { options: { maxWait: 10 } }),
			credentials: tokenCredentials(simulator),
		});
		expect(result.error?.message).toMatch(/wait 90 s, until .*Z, longer than Max Wait \(10 s\)/);
		expect(result.error?.description).toMatch(/nothing is sent to Twin24 before .*Z/);
		expect(simulator.requests).toHaveLength(1);
	});
});

describe('429s are bounded by Max Wait, not by Max Retries', () => {
	test('a request refused eight times while a shared window drains still gets through', async () => {
		simulator.addCalls(['call-1']);
		simulator.respondFor('call-1', { status: 429, headers: { 'Retry-After': '0' }, times: 8 });
		const result = await run({
			items: idItems(['call-1']),
			parameters: operationParameters('call', 'deleteRecord', { options: { maxRetries: 2 } }),
			credentials: tokenCredentials(simulator),
		});
		expect(result.error).toBeUndefined();
		expect(jsonOf(result.output)[0]).toMatchObject({ success: true, attempts: 9 });
	});

	test('429s for longer than Max Wait fail the item, saying so', async () => {
		simulator.addCalls(['call-1']);
		simulator.respondFor('call-1', { status: 429, headers: { 'Retry-After': '1' }, times: 100 });
		const result = await run({
			items: idItems(['call-1']),
			parameters: operationParameters('call', 'deleteRecord', { options: { maxWait: 2 } }),
			credentials: tokenCredentials(simulator),
		});
		expect(result.error?.message).toMatch(/HTTP 429 – .*\(after \d+ retries\) \(item 0\)$/);
		expect(result.error?.description).toMatch(/longer than the option Max Wait allows/);
		// Each retry waited out its one-second Retry-After: about three requests in two seconds.
		expect(simulator.requests.length).toBeGreaterThanOrEqual(2);
		expect(simulator.requests.length).toBeLessThanOrEqual(4);
	});
});

describe('10. proof of erasure', () => {
	test('done items carry when Twin24 confirmed them and in how many requests; others say nothing was', async () => {
		simulator.addCalls(['call-1', 'call-2']);
		simulator.respondFor('call-2', { status: 503 });
		const before = new Date().toISOString();
		const result = await run({
			items: idItems(['call-1', 'call-2', 'unknown']),
			parameters: operationParameters('call', 'deleteRecord'),
			credentials: tokenCredentials(simulator),
			continueOnFail: true,
		});
		const after = new Date().toISOString();

		const [first, retried, failed] = jsonOf(result.output);
		expect(first).toMatchObject({ success: true, attempts: 1 });
		expect(retried).toMatchObject({ success: true, attempts: 2 });
		for (const done of [first, retried]) {
			expect(String(done.confirmedAt) >= before && String(done.confirmedAt) <= after).toBe(true);
		}
		expect(failed).toMatchObject({ success: false, confirmedAt: null, attempts: 1 });

		simulator.reset();
		const dryRun = await run({
			items: idItems(['call-1']),
			parameters: operationParameters('call', 'deleteRecord', { options: { dryRun: true } }),
			credentials: tokenCredentials(simulator),
		});
		expect(jsonOf(dryRun.output)[0]).toMatchObject({ dryRun: true, ...NOT_CONFIRMED });
	});
});
