import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import type { Failure } from '../transport';
import type { IdParameter } from './erasure';

/**
 * What an AI agent reads back from the node used as its tool. n8n runs a tool node without
 * Continue On Fail, and a thrown error reaches the model as its message alone; so as a tool the
 * node answers every item, flat and small, and says on failure what the model can do about it.
 */

/** Why an item was not done, in the terms a model can act on. */
type NotDone =
	| 'refusedId'
	| 'notFound'
	| 'rejected'
	| 'accountRefused'
	| 'rateLimited'
	| 'unavailable'
	| 'stopped'
	| 'setup'
	| 'dryRun';

/** A credential the node cannot use: every item fails before anything is sent. */
export const SETUP_FAILURE = 'setup';

const ID_SHAPE: Record<IdParameter, string> = {
	callId: 'A Twin24 call ID is a UUID such as 3f2c8a4e-7b1d-4c9a-9e1f-2a6b5d8c0e11.',
	autoCallCandidateId:
		'An auto call candidate ID is the ID the calling campaign gave the candidate: text without slashes or spaces.',
};

const WHAT_TO_DO: Record<Exclude<NotDone, 'refusedId'>, string> = {
	notFound:
		'Twin24 does not know this ID, or its data was already erased. Do not retry it. Ask the user to confirm the exact ID; if it was erased before, nothing more is needed.',
	rejected:
		'Twin24 refused the request as invalid and erased nothing. Do not retry it unchanged; check the ID with the user.',
	accountRefused:
		"Twin24 refused this workflow's account (its token, login or permissions), so nothing was erased. Do not retry; tell the user that the workflow's Twin24 credential needs attention.",
	rateLimited:
		'Twin24 is limiting requests right now; this erasure was not done. Do not retry now; tell the user it can be run again later.',
	unavailable:
		'Twin24 could not be reached or had a server problem, even after retries; the erasure was not confirmed and may or may not have happened. Do not retry now; tell the user to run it again later.',
	stopped:
		'The execution was stopped before Twin24 confirmed this erasure; it may or may not have happened. Do not retry; tell the user.',
	setup:
		"The workflow's Twin24 credential (or its base URL) cannot be used, so nothing was erased. Do not retry; tell the user that the workflow's owner must fix the Twin24 credential.",
	dryRun:
		'Dry Run is on in this workflow: nothing was sent and nothing was erased. Tell the user that no erasure happened.',
};

/** n8n names a node's tool variant `<node>Tool`. */
export function runsAsTool(ctx: IExecuteFunctions): boolean {
	return ctx.getNode().type.endsWith('Tool');
}

function notDoneFor(failure: Failure): NotDone {
	switch (failure.kind) {
		case 'http':
			if (failure.statusCode === 404) return 'notFound';
			if (failure.statusCode === 401 || failure.statusCode === 403) return 'accountRefused';
			if (failure.statusCode === 429) return 'rateLimited';
			if (failure.statusCode >= 300 && failure.statusCode < 400) return 'setup';
			return failure.statusCode >= 500 || failure.statusCode === 408 ? 'unavailable' : 'rejected';
		case 'tokenRefused':
		case 'login':
			return 'accountRefused';
		case 'waitTooLong':
			return 'rateLimited';
		case 'network':
		case 'timeout':
			return 'unavailable';
		case 'notSent':
		case 'cancelled':
			return 'stopped';
	}
}

function whatToDo(notDone: NotDone, idParameter: IdParameter): string {
	if (notDone !== 'refusedId') return WHAT_TO_DO[notDone];
	return `Nothing was sent to Twin24: this cannot be an ID. ${ID_SHAPE[idParameter]} Ask the user for the exact ID; never guess, build or change one.`;
}

/** The node's message without the "(item N)" that ends it: a tool call has one item. */
function withoutItemNumber(message: unknown): string {
	return String(message ?? '').replace(/ \(item \d+\)$/, '');
}

/**
 * One item's answer to the agent. `failure` is what went wrong for a failed item; none for an
 * ID refused before sending, SETUP_FAILURE when the credential could not be used.
 */
export function answerForTool(
	item: INodeExecutionData,
	idParameter: IdParameter,
	failure: Failure | typeof SETUP_FAILURE | undefined,
): INodeExecutionData {
	const { json } = item;
	const id = { [idParameter]: json[idParameter] ?? null };
	if (json.success === true) {
		const done: IDataObject = { success: true, ...id, recordDeleted: json.recordDeleted };
		if (json.notFound === true) done.notFound = true;
		return { ...item, json: { ...done, confirmedAt: json.confirmedAt, attempts: json.attempts } };
	}
	const notDone: NotDone =
		json.dryRun === true
			? 'dryRun'
			: json.cancelled === true
				? 'stopped'
				: failure === SETUP_FAILURE
					? 'setup'
					: failure === undefined
						? 'refusedId'
						: notDoneFor(failure);
	const error = notDone === 'dryRun' ? 'Dry Run: nothing was sent' : withoutItemNumber(json.error);
	const answer: IDataObject = {
		success: false,
		...id,
		error,
		whatToDo: whatToDo(notDone, idParameter),
	};
	if (json.statusCode !== undefined) answer.statusCode = json.statusCode;
	return { ...item, json: { ...answer, confirmedAt: null, attempts: json.attempts ?? 0 } };
}
