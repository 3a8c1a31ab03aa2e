/**
 * n8n runs a node again, and routes its items, beyond one run of `execute()`: Settings → Retry On
 * Fail (also the re-run after the first item's error under Continue On Fail), Loop Over Items,
 * the retry of a failed execution, and Settings → On Error → "Continue (using error output)".
 * Each through n8n-core's engine with the node settings a builder clicks, against the simulator,
 * which answers 404 for what was already erased, as Twin24 does.
 */
import type { IConnections, IDataObject, INodeExecutionData, INodeParameters } from 'n8n-workflow';

import { depersonalizeCall } from '../nodes/Twin24/actions/call/depersonalize.operation';
import { ItemResults, errorOutputTakesDetails } from '../nodes/Twin24/run/outcomes';
import { loginCredentials, secretsIn, tokenCredentials } from './accounts';
import type { ExecutionControls, WorkflowShape } from './harness/engine';
import { LOOP_DONE_NODE, loopShape, passthroughNode, retryDataOf } from './harness/engine';
import { callIds, expectErasedExactlyOnce, fileSimulator } from './support';
import { confirmed, idItems, jsonOf, operationParameters, run } from './workflow';

const simulator = fileSimulator();

/** How many requests the simulator received for each ID (logins aside). */
function requestsPerId(): Record<string, number> {
	const counts: Record<string, number> = {};
	for (const request of simulator.requests) {
		if (request.route === 'login' || request.id === undefined) continue;
		counts[request.id] = (counts[request.id] ?? 0) + 1;
	}
	return counts;
}

function once(ids: readonly string[], overrides: Record<string, number> = {}) {
	return { ...Object.fromEntries(ids.map((id) => [id, 1])), ...overrides };
}

const RETRY_ON_FAIL = { retryOnFail: true, maxTries: 2, waitBetweenTries: 10 };

function depersonalize(options: IDataObject = {}, extra: INodeParameters = {}): INodeParameters {
	return operationParameters('call', 'depersonalize', {
		options: { maxRetries: 0, ...options },
		...extra,
	});
}

describe('Settings → Retry On Fail', () => {
	test('item 5 fails once, no Continue On Fail: the next try sends only what was not done', async () => {
		const ids = callIds(10);
		simulator.addCalls(ids);
		simulator.respondFor('call-5', { status: 500 });

		const result = await run({
			items: idItems(ids),
			parameters: depersonalize({ concurrency: 1 }),
			credentials: tokenCredentials(simulator),
			nodeSettings: RETRY_ON_FAIL,
		});

		expect(result.run.status).toBe('success');
		// Try 1 failed at item 5; only it and the items after it went out again.
		expect(result.result.thrown('Twin24')).toHaveLength(1);
		expect(requestsPerId()).toEqual(once(ids, { 'call-5': 2 }));
		expectErasedExactlyOnce(simulator, ids);
		const output = jsonOf(result.output);
		expect(output).toHaveLength(10);
		output.slice(0, 5).forEach((item, index) =>
			expect(item).toEqual({
				success: true,
				callId: `call-${index}`,
				recordDeleted: true,
				...confirmed(1),
				fromEarlierRun: true,
			}),
		);
		output.slice(5).forEach((item, index) =>
			expect(item).toEqual({
				success: true,
				callId: `call-${index + 5}`,
				recordDeleted: true,
				...confirmed(1),
			}),
		);
		// What the earlier try confirmed keeps its time: before the next try began.
		const firstTry = output.slice(0, 5).map((item) => Date.parse(String(item.confirmedAt)));
		expect(Math.max(...firstTry)).toBeLessThan(Date.parse(String(output[5].confirmedAt)));
		expect(result.output?.map((item) => item.pairedItem)).toEqual(
			ids.map((_, index) => ({ item: index })),
		);
	});

	test('the same with Ignore Not Found: the erased items are reported as erased, not as not found', async () => {
		const ids = callIds(10);
		simulator.addCalls(ids);
		simulator.respondFor('call-5', { status: 500 });

		const result = await run({
			items: idItems(ids),
			parameters: depersonalize({ concurrency: 1, ignoreNotFound: true }),
			credentials: tokenCredentials(simulator),
			nodeSettings: RETRY_ON_FAIL,
		});

		expect(result.run.status).toBe('success');
		expect(requestsPerId()).toEqual(once(ids, { 'call-5': 2 }));
		const output = jsonOf(result.output);
		expect(output.every((item) => item.success === true && item.recordDeleted === true)).toBe(true);
		expect(output.filter((item) => item.notFound !== undefined)).toEqual([]);
		expect(output.map((item) => item.fromEarlierRun === true)).toEqual([
			...Array<boolean>(5).fill(true),
			...Array<boolean>(5).fill(false),
		]);
	});

	test('Continue On Fail, item 0 fails once: n8n runs the node again for it, and only it is sent again', async () => {
		const ids = callIds(10);
		simulator.addCalls(ids);
		simulator.respondFor('call-0', { status: 500 });

		const result = await run({
			items: idItems(ids),
			parameters: depersonalize({ concurrency: 1 }),
			credentials: tokenCredentials(simulator),
			continueOnFail: true,
			nodeSettings: RETRY_ON_FAIL,
		});

		expect(requestsPerId()).toEqual(once(ids, { 'call-0': 2 }));
		expectErasedExactlyOnce(simulator, ids);
		const output = jsonOf(result.output);
		expect(output[0]).toEqual({
			success: true,
			callId: 'call-0',
			recordDeleted: true,
			...confirmed(1),
		});
		expect(
			output.slice(1).every((item) => item.success === true && item.fromEarlierRun === true),
		).toBe(true);
	});

	test('40 items at Concurrency 5, item 3 fails once: every ID erased exactly once, none left out', async () => {
		const ids = callIds(40);
		simulator.addCalls(ids);
		simulator.configure({ latencyMs: { min: 1, max: 8 } });
		simulator.respondFor('call-3', { status: 500 });

		const result = await run({
			items: idItems(ids),
			parameters: depersonalize({ concurrency: 5 }),
			credentials: loginCredentials(simulator),
			nodeSettings: RETRY_ON_FAIL,
		});

		expect(result.run.status).toBe('success');
		expect(requestsPerId()).toEqual(once(ids, { 'call-3': 2 }));
		expectErasedExactlyOnce(simulator, ids);
		const output = jsonOf(result.output);
		expect(output.map((item) => item.callId)).toEqual(ids);
		expect(output.every((item) => item.success === true)).toBe(true);
		expect(output.filter((item) => item.fromEarlierRun === true).length).toBeGreaterThan(0);
		expect(secretsIn(result, simulator)).toEqual([]);
	});

	test('an answer lost in one try: the next try sends it again and counts its 404 as done', async () => {
		const ids = callIds(4);
		simulator.addCalls(ids);
		// Twin24 carries the erasure out, and the connection drops before its answer.
		simulator.respondFor('call-2', { kind: 'answerLost', loss: 'reset' });

		const result = await run({
			items: idItems(ids),
			parameters: depersonalize({ concurrency: 1 }),
			credentials: tokenCredentials(simulator),
			nodeSettings: RETRY_ON_FAIL,
		});

		expect(result.run.status).toBe('success');
		// The node cannot know the lost answer's erasure was carried out, so it asks once more.
		expect(requestsPerId()).toEqual(once(ids, { 'call-2': 2 }));
		const forCall2 = simulator.requests.filter((request) => request.id === 'call-2');
		expect(forCall2.map((request) => [request.applied, request.status])).toEqual([
			[true, 'reset'],
			[false, 404],
		]);
		expect(jsonOf(result.output)[2]).toEqual({
			success: true,
			callId: 'call-2',
			recordDeleted: true,
			answerLost: true,
			...confirmed(1),
		});
	});

	test('an ID Twin24 does not know fails again in every try; only it is sent again', async () => {
		const ids = ['missing', ...callIds(5)];
		simulator.addCalls(ids.slice(1));

		const result = await run({
			items: idItems(ids),
			parameters: depersonalize({ concurrency: 3 }),
			credentials: tokenCredentials(simulator),
			continueOnFail: true,
			nodeSettings: { ...RETRY_ON_FAIL, maxTries: 3 },
		});

		expect(requestsPerId()).toEqual(once(ids, { missing: 3 }));
		const output = jsonOf(result.output);
		expect(output[0]).toMatchObject({ success: false, callId: 'missing', statusCode: 404 });
		expect(output.slice(1).every((item) => item.fromEarlierRun === true)).toBe(true);
	});
});

/** Twin24's main output to a node "Erased", its error output to a node "Alert". */
const errorBranches: WorkflowShape = (source, twin24) => {
	const connections: IConnections = {
		[source.name]: { main: [[{ node: twin24.name, type: 'main', index: 0 }]] },
		[twin24.name]: {
			main: [
				[{ node: 'Erased', type: 'main', index: 0 }],
				[{ node: 'Alert', type: 'main', index: 0 }],
			],
		},
	};
	return {
		nodes: [source, twin24, passthroughNode('Erased'), passthroughNode('Alert')],
		connections,
	};
};

const ERROR_OUTPUT = { onError: 'continueErrorOutput' as const };

describe('Settings → On Error → Continue (using error output)', () => {
	test('failed and invalid items leave by the error output with their details, done ones by the main output', async () => {
		const ids = ['call-0', 'missing', 'call-2', 'bad/id', 'call-4'];
		simulator.addCalls(['call-0', 'call-2', 'call-4']);

		const result = await run({
			items: idItems(ids),
			parameters: depersonalize({ concurrency: 2 }),
			credentials: tokenCredentials(simulator),
			nodeSettings: ERROR_OUTPUT,
			shape: errorBranches,
		});

		expect(result.error).toBeUndefined();
		const main = result.result.output('Twin24', 0);
		const errors = result.result.output('Twin24', 1);
		expect(main?.map((item) => [item.json.callId, item.pairedItem])).toEqual([
			['call-0', { item: 0 }],
			['call-2', { item: 2 }],
			['call-4', { item: 4 }],
		]);
		expect(main?.every((item) => item.json.success === true)).toBe(true);
		// n8n merges the paired input item's fields (here `id`) into what the error output receives.
		expect(errors).toEqual([
			{
				json: {
					id: 'missing',
					error:
						'Could not depersonalize call "missing": HTTP 404 – Call missing not found (item 1)',
					message: expect.stringMatching(/^Twin24 does not know this ID/) as unknown,
					details: {
						callId: 'missing',
						statusCode: 404,
						confirmedAt: null,
						attempts: 1,
					},
				},
				pairedItem: { item: 1 },
			},
			{
				json: {
					id: 'bad/id',
					error: 'Call ID ("bad/id") contains "/", which no Twin24 ID has (item 3)',
					message: expect.stringMatching(/^Nothing was sent for this item/) as unknown,
					details: {
						callId: 'bad/id',
						confirmedAt: null,
						attempts: 0,
					},
				},
				pairedItem: { item: 3 },
			},
		]);
		// The branches receive what each output carried.
		expect(result.result.output('Erased')?.map((item) => item.json.callId)).toEqual([
			'call-0',
			'call-2',
			'call-4',
		]);
		expect(result.result.output('Alert')?.map((item) => item.json.id)).toEqual([
			'missing',
			'bad/id',
		]);
		expect(requestsPerId()).toEqual(once(['call-0', 'missing', 'call-2', 'call-4']));
		expect(secretsIn(result, simulator)).toEqual([]);
	});

	test('dry runs and, with Ignore Not Found, unknown IDs leave by the main output', async () => {
		const ids = ['call-0', 'missing'];
		simulator.addCalls(['call-0']);

		const dry = await run({
			items: idItems(ids),
			parameters: depersonalize({ dryRun: true }),
			credentials: tokenCredentials(simulator),
			nodeSettings: ERROR_OUTPUT,
			shape: errorBranches,
		});
		const ignoring = await run({
			items: idItems(ids),
			parameters: depersonalize({ ignoreNotFound: true }),
			credentials: tokenCredentials(simulator),
			nodeSettings: ERROR_OUTPUT,
			shape: errorBranches,
		});

		expect(jsonOf(dry.result.output('Twin24', 0)).map((item) => item.dryRun)).toEqual([true, true]);
		expect(dry.result.output('Twin24', 1)).toEqual([]);
		expect(jsonOf(ignoring.result.output('Twin24', 0)).map((item) => item.notFound)).toEqual([
			undefined,
			true,
		]);
		expect(ignoring.result.output('Twin24', 1)).toEqual([]);
	});

	test('a credential the node cannot use: every item leaves by the error output, nothing is sent', async () => {
		const result = await run({
			items: idItems(['call-0', 'call-1']),
			parameters: depersonalize(),
			credentials: tokenCredentials(simulator, { cisBaseUrl: 'http://twin24.example/cis/api/v1' }),
			nodeSettings: ERROR_OUTPUT,
			shape: errorBranches,
		});

		expect(simulator.requests).toHaveLength(0);
		expect(result.result.output('Twin24', 0)).toEqual([]);
		const errors = result.result.output('Twin24', 1) ?? [];
		expect(errors.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		expect(errors[1].json).toEqual({
			id: 'call-1',
			error: expect.stringMatching(/plain http:\/\/ to twin24\.example.*\(item 1\)$/) as unknown,
			message: 'Nothing was sent. Open the Twin24 credential and correct the URL.',
			details: {
				callId: 'call-1',
				confirmedAt: null,
				attempts: 0,
			},
		});
	});

	test('after Stop, the items not done are answered in the error shape, with cancelled in the details', async () => {
		const ids = callIds(60);
		simulator.addCalls(ids);
		simulator.configure({ latencyMs: 40 });
		const onStart = (controls: ExecutionControls) => {
			const poll = setInterval(() => {
				if (simulator.erasures().length < 5) return;
				clearInterval(poll);
				controls.cancel();
			}, 2);
		};

		const result = await run({
			items: idItems(ids),
			parameters: depersonalize({ concurrency: 2 }),
			credentials: tokenCredentials(simulator),
			nodeSettings: ERROR_OUTPUT,
			onStart,
		});

		// n8n moves the error items out of what the node returned, into the error output.
		const [done, notDone] = result.result.ending('Twin24')?.returned as INodeExecutionData[][];
		expect(done.length + notDone.length).toBe(60);
		expect(done.every((item) => item.json.success === true)).toBe(true);
		expect(notDone.length).toBeGreaterThan(0);
		for (const item of notDone) {
			expect(Object.keys(item.json).sort()).toEqual(['details', 'error', 'id', 'message']);
			expect(item.json.error).toMatch(/^Not (sent|confirmed): the execution was stopped/);
			expect(item.json.details).toMatchObject({ cancelled: true, confirmedAt: null });
		}
	});

	test('with Retry On Fail too, a failed first item makes n8n run the node again; only it is sent again', async () => {
		const ids = ['missing', 'call-1', 'call-2'];
		simulator.addCalls(['call-1', 'call-2']);

		const result = await run({
			items: idItems(ids),
			parameters: depersonalize(),
			credentials: tokenCredentials(simulator),
			nodeSettings: { ...ERROR_OUTPUT, ...RETRY_ON_FAIL },
			shape: errorBranches,
		});

		expect(requestsPerId()).toEqual(once(ids, { missing: 2 }));
		expect(jsonOf(result.result.output('Twin24', 1)).map((item) => item.id)).toEqual(['missing']);
		expect(jsonOf(result.result.output('Twin24', 0)).map((item) => item.fromEarlierRun)).toEqual([
			true,
			true,
		]);
	});
});

describe('Loop Over Items: many runs of the node in one execution', () => {
	test('an ID erased in an earlier round is reported as done, not sent again', async () => {
		const ids = ['call-0', 'call-1', 'call-2', 'call-3', 'call-0', 'call-4', 'call-1'];
		simulator.addCalls(callIds(5));

		const result = await run({
			items: idItems(ids),
			parameters: depersonalize(),
			credentials: tokenCredentials(simulator),
			shape: loopShape(3),
		});

		expect(result.run.data.resultData.runData.Twin24).toHaveLength(3);
		expect(requestsPerId()).toEqual(once(callIds(5)));
		const done = jsonOf(result.result.output(LOOP_DONE_NODE));
		expect(done.map((item) => item.callId)).toEqual(ids);
		expect(done.every((item) => item.success === true)).toBe(true);
		// Rounds [0 1 2] [3 0 4] [1]: the second call-0 and call-1 come from earlier rounds.
		expect(done.map((item) => item.fromEarlierRun === true)).toEqual([
			false,
			false,
			false,
			false,
			true,
			false,
			true,
		]);
		expect(done[4]).toEqual({ ...done[0], fromEarlierRun: true });
	});
});

describe("n8n's retry of a failed execution", () => {
	test('the retry starts from the saved execution data and sends only what was not done', async () => {
		const ids = callIds(10);
		simulator.addCalls(ids);
		simulator.respondFor('call-6', { status: 500 });
		const options = {
			items: idItems(ids),
			parameters: depersonalize({ concurrency: 1 }),
			credentials: tokenCredentials(simulator),
		};

		const failed = await run(options);
		expect(failed.run.status).toBe('error');
		expect(requestsPerId()).toEqual(once(ids.slice(0, 7)));
		const saved = retryDataOf(failed.result);
		const context = JSON.stringify(saved.executionData?.contextData);
		expect(secretsIn({ ...failed, run: { ...failed.run, data: saved } }, simulator)).toEqual([]);
		expect(context).toContain('call-5');

		const retried = await run({ ...options, store: failed.store, retryOf: saved });

		expect(retried.error).toBeUndefined();
		expect(requestsPerId()).toEqual(once(ids, { 'call-6': 2 }));
		expectErasedExactlyOnce(simulator, ids);
		const output = jsonOf(retried.output);
		expect(output.map((item) => item.fromEarlierRun === true)).toEqual([
			...Array<boolean>(6).fill(true),
			...Array<boolean>(4).fill(false),
		]);
	});

	test('a retry with another operation on the node sends every item: what was done was another erasure', async () => {
		const ids = callIds(4);
		simulator.addCalls(ids);
		simulator.respondFor('call-2', { status: 500 });
		const failed = await run({
			items: idItems(ids),
			parameters: {
				...operationParameters('call', 'deleteRecord'),
				options: { maxRetries: 0, concurrency: 1 },
			},
			credentials: tokenCredentials(simulator),
		});
		expect(failed.run.status).toBe('error');
		simulator.clearLog();

		const saved = retryDataOf(failed.result);
		for (const entry of saved.executionData?.nodeExecutionStack ?? []) {
			entry.node.parameters = { ...entry.node.parameters, operation: 'depersonalize' };
		}
		const retried = await run({
			items: idItems(ids),
			parameters: depersonalize({ concurrency: 1 }),
			credentials: tokenCredentials(simulator),
			store: failed.store,
			retryOf: saved,
		});

		expect(retried.error).toBeUndefined();
		expect(simulator.requests.map((request) => request.route)).toEqual(
			Array<string>(4).fill('call.depersonalize'),
		);
		expect(jsonOf(retried.output).some((item) => item.fromEarlierRun === true)).toBe(false);
	});
});

describe('the error output on engines before n8n 2.35', () => {
	/** n8n 1.x and 2.0–2.33 move an item to the error output only when its json is this. */
	const routedByOlderEngines = (json: IDataObject) =>
		Boolean(json.error) &&
		(Object.keys(json).length === 1 || (Boolean(json.message) && Object.keys(json).length === 2));

	test('a context without the newer engine sign gets `error` and `message` only, which every engine routes', () => {
		const olderContext = {} as unknown as Parameters<typeof errorOutputTakesDetails>[0];
		expect(errorOutputTakesDetails(olderContext)).toBe(false);

		const itemResults = new ItemResults(depersonalizeCall, 'errorOutput', false);
		const failed = itemResults.notDone(
			'missing',
			'Could not depersonalize call "missing" (item 0)',
			1,
			{
				statusCode: 404,
			},
		);
		const [routed] = itemResults.routed(
			[{ json: failed, pairedItem: { item: 0 } }],
			new Map([[0, { description: 'Check the ID.', whatToDo: 'Ask for the ID.' }]]),
		);

		expect(routed.json).toEqual({
			error: 'Could not depersonalize call "missing" (item 0)',
			message: 'Check the ID.',
		});
		expect(routedByOlderEngines(routed.json)).toBe(true);
		// The shape with details is what n8n 2.35+ routes, and what older engines would not.
		const withDetails = new ItemResults(depersonalizeCall, 'errorOutput', true).routed(
			[{ json: failed, pairedItem: { item: 0 } }],
			new Map([[0, { whatToDo: 'Ask for the ID.' }]]),
		)[0].json;
		expect(Object.keys(withDetails).sort()).toEqual(['details', 'error', 'message']);
		expect(routedByOlderEngines(withDetails)).toBe(false);
	});
});
