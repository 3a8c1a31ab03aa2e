/**
 * What the node answers an AI agent as its tool, for each way an erasure can end: flat, small,
 * without the "(item N)" a model cannot use, and on failure with what the model can do about it.
 */
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import { SETUP_FAILURE, answerForTool } from '../nodes/Twin24/actions/toolAnswer';
import type { Failure } from '../nodes/Twin24/transport';

const CALL = '3f2c8a4e-7b1d-4c9a-9e1f-2a6b5d8c0e11';

function item(json: IDataObject): INodeExecutionData {
	return { json, pairedItem: { item: 0 } };
}

function failedItem(extra: IDataObject = {}): INodeExecutionData {
	const error = `Could not depersonalize call "${CALL}": HTTP 404 – Call not found (item 0)`;
	return item({ success: false, callId: CALL, error, confirmedAt: null, attempts: 1, ...extra });
}

const http = (statusCode: number): Failure => ({ kind: 'http', statusCode });

describe('the node’s answer to an AI agent', () => {
	test('a done erasure: success, the ID, recordDeleted, confirmedAt and attempts, nothing else', () => {
		const done = item({
			success: true,
			callId: CALL,
			recordDeleted: true,
			confirmedAt: '2025-01-02T03:04:05.678Z',
			attempts: 2,
			answerLost: false,
		});
		expect(answerForTool(done, 'callId', undefined)).toEqual({
			json: {
				success: true,
				callId: CALL,
				recordDeleted: true,
				confirmedAt: '2025-01-02T03:04:05.678Z',
				attempts: 2,
			},
			pairedItem: { item: 0 },
		});
	});

	test('Ignore Not Found: a 404 counted as done says notFound', () => {
		const gone = item({
			success: true,
			callId: CALL,
			recordDeleted: false,
			notFound: true,
			confirmedAt: 'x',
			attempts: 1,
		});
		expect(answerForTool(gone, 'callId', undefined).json).toMatchObject({
			success: true,
			notFound: true,
		});
	});

	test('a 404: the message without "(item N)", the status, and not to retry', () => {
		const { json } = answerForTool(failedItem({ statusCode: 404 }), 'callId', http(404));
		expect(json).toEqual({
			success: false,
			callId: CALL,
			error: `Could not depersonalize call "${CALL}": HTTP 404 – Call not found`,
			whatToDo: expect.stringMatching(/^Twin24 does not know this ID.*Do not retry it/),
			statusCode: 404,
			confirmedAt: null,
			attempts: 1,
		});
	});

	test('a refused ID: nothing was sent, and what an ID looks like for its kind', () => {
		const refused = item({
			success: false,
			callId: '../calls/other',
			error: 'Call ID ("../calls/other") contains "/", which no Twin24 ID has (item 0)',
			confirmedAt: null,
			attempts: 0,
		});
		const { json } = answerForTool(refused, 'callId', undefined);
		expect(json.error).toBe('Call ID ("../calls/other") contains "/", which no Twin24 ID has');
		expect(json.whatToDo).toMatch(/^Nothing was sent to Twin24.*a UUID such as .*never guess/);
		expect(json).not.toHaveProperty('statusCode');
		const candidate = { ...refused.json, autoCallCandidateId: 'a/b' };
		expect(answerForTool(item(candidate), 'autoCallCandidateId', undefined).json.whatToDo).toMatch(
			/the ID the calling campaign gave the candidate/,
		);
	});

	test.each<[string, Failure | typeof SETUP_FAILURE, RegExp]>([
		['400', http(400), /refused the request as invalid/],
		['422', http(422), /refused the request as invalid/],
		['401', http(401), /refused this workflow's account/],
		['403', http(403), /refused this workflow's account/],
		[
			'a refused token',
			{ kind: 'tokenRefused', statusCode: 401 },
			/refused this workflow's account/,
		],
		[
			'a failed login',
			{ kind: 'login', message: 'Twin24 login failed' },
			/refused this workflow's account/,
		],
		['429', http(429), /limiting requests/],
		[
			'a Retry-After beyond Max Wait',
			{ kind: 'waitTooLong', statusCode: 429, waitMs: 9e4, maxWaitMs: 6e4, resumeAt: 'x' },
			/limiting requests/,
		],
		['503', http(503), /may or may not have happened/],
		['408', http(408), /may or may not have happened/],
		['a timeout', { kind: 'timeout' }, /may or may not have happened/],
		['a dropped connection', { kind: 'network', code: 'ECONNRESET' }, /could not be reached/],
		['a redirect', http(302), /credential/],
		['an unusable credential', SETUP_FAILURE, /must fix the Twin24 credential/],
	])('%s: says what happened and not to retry', (_case, failure, whatToDo) => {
		const { json } = answerForTool(failedItem(), 'callId', failure);
		expect(json.success).toBe(false);
		expect(json.whatToDo).toMatch(whatToDo);
		expect(json.whatToDo).toMatch(/Do not retry/);
		expect(json.error).not.toMatch(/\(item \d+\)/);
	});

	test('Stop and Dry Run are told apart from failures', () => {
		const stopped = failedItem({ cancelled: true, attempts: 0 });
		expect(answerForTool(stopped, 'callId', undefined).json.whatToDo).toMatch(/stopped/);
		const dryRun = item({
			success: false,
			callId: CALL,
			dryRun: true,
			request: {},
			confirmedAt: null,
			attempts: 0,
		});
		expect(answerForTool(dryRun, 'callId', undefined).json).toEqual({
			success: false,
			callId: CALL,
			error: 'Dry Run: nothing was sent',
			whatToDo: expect.stringMatching(/Dry Run is on.*no erasure happened/),
			confirmedAt: null,
			attempts: 0,
		});
	});
});
