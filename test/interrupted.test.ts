/**
 * n8n's retry of an execution that n8n itself could not finish (killed mid-run: an out-of-memory
 * kill, a restart, a deploy). n8n saved nothing of the Twin24 node's run, so the retry runs the
 * node again from its first item with no record of what the interrupted run erased; Twin24
 * answers 404 for those IDs. Each test goes through n8n-core's engine with the retry data n8n
 * presents (see `crashedRetryData`), against the simulator, which answers 404 for what was already
 * erased, as Twin24 does.
 */
import type { IDataObject, INodeExecutionData, INodeParameters } from 'n8n-workflow';

import type { Twin24RunResult } from './harness/engine';
import { TWIN24_NODE_NAME, crashedRetryData, itemSourceNode, retryDataOf } from './harness/engine';
import type { Twin24Simulator } from './simulator/simulator';
import {
	confirmed,
	idItems,
	operationParameters,
	run,
	secretsIn,
	tokenCredentials,
	useSimulator,
} from './support';

let simulator: Twin24Simulator;
useSimulator((started) => (simulator = started));

const IDS = Array.from({ length: 10 }, (_, index) => `call-${index}`);
/** Twin24 never knew this one: its 404 looks like that of an ID the interrupted run erased. */
const UNKNOWN = 'call-8';
const KNOWN = IDS.filter((id) => id !== UNKNOWN);
/** How far the interrupted run got before n8n died: items 0–3 erased. */
const ERASED_BEFORE_THE_CRASH = IDS.slice(0, 4);
const SOURCE = 'Items';

function depersonalize(options: IDataObject = {}): INodeParameters {
	return operationParameters('call', 'depersonalize', {
		options: { maxRetries: 0, concurrency: 1, ...options },
	});
}

/** What the simulator answered for each ID, in order, over every execution (logins aside). */
function answersPerId(): Record<string, unknown[]> {
	const answers: Record<string, unknown[]> = {};
	for (const request of simulator.requests) {
		if (request.route === 'login' || request.id === undefined) continue;
		(answers[request.id] ??= []).push(request.status);
	}
	return answers;
}

function jsonOf(output: INodeExecutionData[] | undefined): IDataObject[] {
	return (output ?? []).map((item) => item.json);
}

function pairing(output: INodeExecutionData[] | undefined): unknown[] {
	return (output ?? []).map((item) => item.pairedItem);
}

const EVERY_ITEM_PAIRED = IDS.map((_, index) => ({ item: index }));

/** The run n8n was killed in: it erased the first items, and n8n saved none of it. */
async function interruptedRun(options: IDataObject = {}): Promise<void> {
	const killed = await run({
		items: idItems(ERASED_BEFORE_THE_CRASH),
		parameters: depersonalize(options),
		credentials: tokenCredentials(simulator),
	});
	expect(killed.run.status).toBe('success');
}

/** n8n's retry of the crashed execution: "Retry" in the executions list, the workflow as it was. */
async function retryOfCrashed(options: IDataObject = {}): Promise<Twin24RunResult> {
	const retryOf = crashedRetryData(itemSourceNode(idItems(IDS), SOURCE), {
		started: [SOURCE, TWIN24_NODE_NAME],
		crashed: TWIN24_NODE_NAME,
	});
	return await run({
		items: idItems(IDS),
		parameters: depersonalize(options),
		credentials: tokenCredentials(simulator),
		retryOf,
	});
}

/** An item a 404 answered while the execution went on from the interrupted run. */
function mayHaveBeenErased(id: string, extra: IDataObject = {}): IDataObject {
	return {
		success: true,
		callId: id,
		recordDeleted: null,
		...extra,
		mayHaveBeenErasedByInterruptedRun: true,
		...confirmed(1),
	};
}

function erasedNow(id: string): IDataObject {
	return { success: true, callId: id, recordDeleted: true, ...confirmed(1) };
}

describe('the retry of an execution n8n could not finish (no record of the node)', () => {
	beforeEach(() => simulator.addCalls(KNOWN));

	test('finishes the job: what the interrupted run may have erased is done and says so, the rest is erased now', async () => {
		await interruptedRun();

		const retried = await retryOfCrashed();

		expect(retried.error).toBeUndefined();
		expect(retried.run.status).toBe('success');
		expect(retried.run.mode).toBe('retry');
		// One erasure request per ID after the crash; the interrupted run's IDs answered 404.
		expect(answersPerId()).toEqual({
			'call-0': [200, 404],
			'call-1': [200, 404],
			'call-2': [200, 404],
			'call-3': [200, 404],
			'call-4': [200],
			'call-5': [200],
			'call-6': [200],
			'call-7': [200],
			[UNKNOWN]: [404],
			'call-9': [200],
		});
		// Nothing erased twice: each known ID was carried out once over both runs.
		expect(simulator.erasures().map((erasure) => erasure.id)).toEqual([
			...ERASED_BEFORE_THE_CRASH,
			...KNOWN.slice(4),
		]);
		expect(jsonOf(retried.output)).toEqual(
			IDS.map((id, index) =>
				index < ERASED_BEFORE_THE_CRASH.length || id === UNKNOWN
					? mayHaveBeenErased(id)
					: erasedNow(id),
			),
		);
		expect(pairing(retried.output)).toEqual(EVERY_ITEM_PAIRED);
		// What the node keeps in n8n's context stays small and holds no token.
		const context = JSON.stringify(retried.run.data.executionData?.contextData);
		expect(context).toContain('"twin24InterruptedRun":true');
		expect(context.length).toBeLessThan(400);
		expect(secretsIn(retried, simulator)).toEqual([]);
	});

	test('with Ignore Not Found on, the same items also say notFound, and recordDeleted stays unknown', async () => {
		await interruptedRun({ ignoreNotFound: true });

		const retried = await retryOfCrashed({ ignoreNotFound: true });

		expect(retried.run.status).toBe('success');
		expect(answersPerId()).toEqual({
			...Object.fromEntries(ERASED_BEFORE_THE_CRASH.map((id) => [id, [200, 404]])),
			...Object.fromEntries(KNOWN.slice(4).map((id) => [id, [200]])),
			[UNKNOWN]: [404],
		});
		expect(jsonOf(retried.output)).toEqual(
			IDS.map((id, index) =>
				index < ERASED_BEFORE_THE_CRASH.length || id === UNKNOWN
					? mayHaveBeenErased(id, { notFound: true })
					: erasedNow(id),
			),
		);
		expect(pairing(retried.output)).toEqual(EVERY_ITEM_PAIRED);
	});

	test('a retry of that retry still knows: its saved record answers what was done, a new 404 is still no failure', async () => {
		await interruptedRun();
		simulator.respondFor('call-6', { status: 500 });

		const firstRetry = await retryOfCrashed();
		expect(firstRetry.run.status).toBe('error');
		expect(firstRetry.error?.message).toMatch(/^Could not depersonalize call "call-6": HTTP 500/);
		const secondRetry = await run({
			items: idItems(IDS),
			parameters: depersonalize(),
			credentials: tokenCredentials(simulator),
			store: firstRetry.store,
			retryOf: retryDataOf(firstRetry.result),
		});

		expect(secondRetry.run.status).toBe('success');
		expect(answersPerId()).toEqual({
			...Object.fromEntries(ERASED_BEFORE_THE_CRASH.map((id) => [id, [200, 404]])),
			'call-4': [200],
			'call-5': [200],
			'call-6': [500, 200],
			'call-7': [200],
			[UNKNOWN]: [404],
			'call-9': [200],
		});
		const output = jsonOf(secondRetry.output);
		expect(output).toEqual([
			...ERASED_BEFORE_THE_CRASH.map((id) => ({ ...mayHaveBeenErased(id), fromEarlierRun: true })),
			{ ...erasedNow('call-4'), fromEarlierRun: true },
			{ ...erasedNow('call-5'), fromEarlierRun: true },
			erasedNow('call-6'),
			erasedNow('call-7'),
			mayHaveBeenErased(UNKNOWN),
			erasedNow('call-9'),
		]);
		expect(pairing(secondRetry.output)).toEqual(EVERY_ITEM_PAIRED);
	});
});

describe('a 404 in other retries keeps its meaning: Twin24 does not know the ID', () => {
	beforeEach(() => simulator.addCalls(IDS));

	/** Another execution erased this ID before: this one has no part in it. */
	async function erasedElsewhere(id: string): Promise<void> {
		const other = await run({
			items: idItems([id]),
			parameters: depersonalize(),
			credentials: tokenCredentials(simulator),
		});
		expect(other.run.status).toBe('success');
	}

	test('the node finished in the execution retried (its record is there): the 404 fails the item', async () => {
		await erasedElsewhere('call-8');
		simulator.respondFor('call-6', { status: 500 });
		const options = {
			items: idItems(IDS),
			parameters: depersonalize(),
			credentials: tokenCredentials(simulator),
		};
		const failed = await run(options);
		expect(failed.run.status).toBe('error');

		const retried = await run({
			...options,
			store: failed.store,
			retryOf: retryDataOf(failed.result),
		});

		expect(retried.run.status).toBe('error');
		expect(answersPerId()).toEqual({
			...Object.fromEntries(IDS.slice(0, 6).map((id) => [id, [200]])),
			'call-6': [500, 200],
			'call-7': [200],
			'call-8': [200, 404],
		});
		expect(retried.output).toBeUndefined();
		expect(retried.error?.message).toBe(
			'Could not depersonalize call "call-8": HTTP 404 – Call call-8 already depersonalized (item 8)',
		);
		expect(retried.error?.description).toContain(
			'8 of 10 items were done, 1 failed. Not sent: 1 (the first is item 9).',
		);
		expect(JSON.stringify(retried.run.data.executionData?.contextData)).not.toContain(
			'twin24InterruptedRun',
		);
	});

	test('n8n died before the node ran (no run of it in the execution): the 404 fails the item', async () => {
		await erasedElsewhere('call-2');
		const retryOf = crashedRetryData(itemSourceNode(idItems(IDS), SOURCE), {
			started: [SOURCE],
			crashed: SOURCE,
		});

		const retried = await run({
			items: idItems(IDS),
			parameters: depersonalize(),
			credentials: tokenCredentials(simulator),
			retryOf,
		});

		expect(retried.run.status).toBe('error');
		expect(answersPerId()).toEqual({ 'call-0': [200], 'call-1': [200], 'call-2': [200, 404] });
		expect(retried.output).toBeUndefined();
		expect(retried.error?.message).toBe(
			'Could not depersonalize call "call-2": HTTP 404 – Call call-2 already depersonalized (item 2)',
		);
	});
});
