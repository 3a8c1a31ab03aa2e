/**
 * The node as an AI agent's tool (`n8n-nodes-twin24.twin24Tool`): every call gets a result a
 * model can act on, nothing is thrown for an item, and a call repeated in the same execution
 * erases once. Through n8n-core's engine, against the simulator; the real agent runs in the e2e.
 */

import { secretsIn, tokenCredentials } from './accounts';
import { LOOP_DONE_NODE, loopShape } from './harness/engine';
import { fileSimulator } from './support';
import { confirmed, idItems, jsonOf, operationParameters, run } from './workflow';

const simulator = fileSimulator();

const CALL = '3f2c8a4e-7b1d-4c9a-9e1f-2a6b5d8c0e11';

async function callTool(id: string) {
	return await run({
		items: idItems([id]),
		parameters: operationParameters('call', 'depersonalize'),
		credentials: tokenCredentials(simulator),
		asTool: true,
	});
}

describe('as an AI agent tool', () => {
	test('an erasure: the result says it was done, with the ID and when Twin24 confirmed it', async () => {
		simulator.addCalls([CALL]);

		const result = await callTool(CALL);

		expect(jsonOf(result.output)).toEqual([
			{ success: true, callId: CALL, recordDeleted: true, ...confirmed(1) },
		]);
		expect(simulator.erasures()).toHaveLength(1);
	});

	test('an unknown ID: a result, not thrown, naming the ID and the 404, with what to do next', async () => {
		const result = await callTool('missing-call');

		expect(result.result.thrown('Twin24')).toEqual([]);
		expect(jsonOf(result.output)).toEqual([
			{
				success: false,
				callId: 'missing-call',
				error:
					'Could not depersonalize call "missing-call": HTTP 404 – Call missing-call not found',
				statusCode: 404,
				confirmedAt: null,
				attempts: 1,
				whatToDo: expect.stringMatching(
					/^Twin24 does not know this ID.*Do not call again/,
				) as unknown,
			},
		]);
	});

	test('an ID the model made up that cannot be one: nothing is sent, and the result says what an ID looks like', async () => {
		const result = await callTool('../calls/other');

		expect(simulator.requests).toHaveLength(0);
		const [toolResult] = jsonOf(result.output);
		expect(toolResult).toMatchObject({
			success: false,
			callId: '../calls/other',
			error: 'Call ID ("../calls/other") contains "/", which no Twin24 ID has',
			attempts: 0,
		});
		expect(toolResult.whatToDo).toBe(
			'Nothing was sent. Call ID must be the exact Twin24 ID: a UUID such as 3f2c8a4e-7b1d-4c9a-9e1f-2a6b5d8c0e11. Ask the user for the exact ID; do not guess or change it.',
		);
		expect(secretsIn(result, simulator)).toEqual([]);
	});

	test('the same call twice in one execution (two tool calls) erases once', async () => {
		simulator.addCalls([CALL]);
		// Each tool call is a run of the tool node in the same execution: one item at a time.
		const result = await run({
			items: idItems([CALL, CALL]),
			parameters: operationParameters('call', 'depersonalize'),
			credentials: tokenCredentials(simulator),
			asTool: true,
			shape: loopShape(1),
		});

		expect(simulator.requests).toHaveLength(1);
		const [first, second] = jsonOf(result.result.output(LOOP_DONE_NODE));
		expect(first).toEqual({ success: true, callId: CALL, recordDeleted: true, ...confirmed(1) });
		expect(second).toEqual({ ...first, fromEarlierRun: true });
	});
});
