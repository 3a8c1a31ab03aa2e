import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import type { ErasureOperation } from '../actions/erasure';
import type { SendResult } from '../transport/retryPolicy';
import type { Failure } from '../transport/failures';
import type { PlannedRequest } from '../transport/http';
import { isOverload } from '../transport/pacing/signals';
import type { SendPlan } from './itemPlan';
import type { EarlierResult } from './repeats';

/**
 * What each item's result says, and where it goes. Every result is first built in one shape
 * (the package's output contract); an item that is not done is built in exactly one place,
 * `notDone`, and leaves by the route the user chose.
 */

/**
 * Where an item that is not done goes: the run fails at the first one (n8n's default), it stays on
 * the main output (On Error → Continue), it leaves by the error output (On Error → Continue (using
 * error output)), or, when an AI agent runs the node as a tool, every item's result goes back to the model.
 */
export type FailureRoute = 'failRun' | 'mainOutput' | 'errorOutput' | 'toolAnswer';

export function failureRouteOf(ctx: IExecuteFunctions): FailureRoute {
	const node = ctx.getNode();
	// n8n offers a node with `usableAsTool` to its AI Agent as the type `<name>Tool`.
	if (node.type.endsWith('Tool')) return 'toolAnswer';
	if (!ctx.continueOnFail()) return 'failRun';
	return node.onError === 'continueErrorOutput' ? 'errorOutput' : 'mainOutput';
}

/**
 * n8n moves an item to the error output when its `json` holds only `error` and `message`; from
 * n8n 2.34 on, also `details`. Older engines (n8n 1.x, 2.0 to 2.33) leave an item with `details`
 * on the main output, where it would pass for done, so `details` is sent only where the engine is
 * known to route it: its node contexts have `isConsoleOutputRedacted` from n8n 2.35 on. Where that
 * is missing, the item still leaves by the error output, without `details`.
 */
export function errorOutputTakesDetails(ctx: IExecuteFunctions): boolean {
	return (
		typeof (ctx as { isConsoleOutputRedacted?: unknown }).isConsoleOutputRedacted === 'function'
	);
}

/** An erasure that is done: confirmed, its answer lost after Twin24 carried it out, or already gone. */
export type Done = Extract<EarlierResult, { confirmedAt: string }>;

/**
 * Whether a request's result means the erasure is done. A 404 answering the retry of an attempt
 * Twin24 may have carried out is this execution's own erasure (its answer was lost). When the
 * execution goes on from a run n8n could not finish, a 404 may be that run's erasure: done, and
 * said so, since the node cannot tell it from an ID Twin24 never knew.
 */
export function doneBy(
	plan: SendPlan,
	result: SendResult,
	continuesInterruptedRun = false,
): Done | undefined {
	if (result.outcome === 'done') return { kind: 'done', ...confirmation(result) };
	if (result.outcome !== 'notFound') return undefined;
	if (result.answerLost) return { kind: 'answerLost', ...confirmation(result) };
	if (continuesInterruptedRun) return { kind: 'interruptedRun', ...confirmation(result) };
	return plan.ignoreNotFound ? { kind: 'notFound', ...confirmation(result) } : undefined;
}

function confirmation({ confirmedAt, attempts }: { confirmedAt: string; attempts: number }) {
	return { confirmedAt, attempts };
}

/** What a model that called the node as a tool, or a person reading the error output, can do. */
export interface Remedy {
	/** For people: how to fix it in n8n. */
	description?: string;
	/** For an AI agent: what it can do next. */
	whatToDo: string;
}

/** What an AI agent can do about a failed request. */
export function whatToDoAbout(failure: Failure): string {
	const statusCode = 'statusCode' in failure ? failure.statusCode : undefined;
	if (failure.kind === 'waitTooLong') {
		return `Nothing was erased. Twin24 takes requests again after ${failure.resumeAt}; call again after that time, or tell the user.`;
	}
	if (failure.kind === 'http' && statusCode === 404) {
		return 'Twin24 does not know this ID, or its data was already erased. Do not call again with the same ID; tell the user, and ask for the exact ID if it may be mistyped.';
	}
	if (failure.kind === 'http' && isOverload(failure.statusCode)) {
		return 'Twin24 kept refusing requests as too many, and nothing was erased. Call again in a few minutes, or tell the user.';
	}
	if (failure.kind === 'http' && (statusCode === 400 || statusCode === 422)) {
		return 'Twin24 rejected the request. Do not call again with the same input; tell the user what Twin24 said.';
	}
	if (
		failure.kind === 'tokenRefused' ||
		failure.kind === 'login' ||
		(failure.kind === 'http' && (statusCode === 403 || (statusCode ?? 0) < 400))
	) {
		return 'The Twin24 connection in n8n cannot erase data (a credential, permission or address problem). Do not call again; tell the user that the Twin24 credential in n8n must be fixed.';
	}
	return 'Twin24 could not be reached or had trouble, and the erasure was not confirmed. Calling again later with the same ID is safe: an erasure already carried out is not repeated.';
}

/** What the error output says when there is no better hint: n8n needs a `message` there. */
const NOTHING_CONFIRMED = 'Twin24 confirmed nothing for this item.';

export const WHAT_TO_DO_WHEN_CANCELLED =
	'The execution was stopped before Twin24 confirmed the erasure. Tell the user; do not call again in this conversation.';

export const WHAT_TO_DO_ABOUT_THE_CREDENTIAL =
	'The Twin24 credential in n8n cannot be used, so nothing was sent. Do not call again; tell the user that the Twin24 credential in n8n must be fixed.';

/**
 * What a done item says about its recording and a 404. After an interrupted run, whether the
 * recording went with the erasure cannot be known (`null`): that run's answer was lost, and the ID
 * may never have existed.
 */
function notFoundFields(plan: SendPlan, done: Done): IDataObject {
	if (done.kind === 'notFound') return { recordDeleted: false, notFound: true };
	if (done.kind !== 'interruptedRun') return { recordDeleted: plan.recordDeleted };
	return {
		recordDeleted: null,
		...(plan.ignoreNotFound ? { notFound: true } : {}),
		mayHaveBeenErasedByInterruptedRun: true,
	};
}

/** Builds every item's result for one run: one operation, one route. */
export class ItemResults {
	constructor(
		private readonly operation: ErasureOperation,
		readonly route: FailureRoute,
		/** Whether n8n's error output takes `details` (see errorOutputTakesDetails). */
		private readonly errorDetails = true,
	) {}

	idField(id: unknown): IDataObject {
		return { [this.operation.idParameter]: id as IDataObject[string] };
	}

	done(plan: SendPlan, done: Done, fromEarlierRun = false): IDataObject {
		return {
			success: true,
			...this.idField(plan.id),
			...notFoundFields(plan, done),
			...(done.kind === 'answerLost' ? { answerLost: true } : {}),
			confirmedAt: done.confirmedAt,
			attempts: done.attempts,
			...(fromEarlierRun ? { fromEarlierRun: true } : {}),
		};
	}

	/** What an earlier run left for this erasure, when it holds for this item; else it is sent. */
	fromEarlierRun(plan: SendPlan, earlier: EarlierResult | undefined): IDataObject | undefined {
		if (earlier === undefined || earlier.kind === 'mayBeDone') return undefined;
		if (earlier.kind === 'notFound' && !plan.ignoreNotFound) return undefined;
		return this.done(plan, earlier, true);
	}

	dryRun(id: string, { method, url, body }: PlannedRequest): IDataObject {
		const request = { method, url, body: body ?? null };
		return {
			success: false,
			...this.idField(id),
			dryRun: true,
			request,
			confirmedAt: null,
			attempts: 0,
		};
	}

	/** A repeat of an erasure asked for by an earlier item of the run gets that item's result. */
	repeat(first: IDataObject, id: string, firstItem: number): IDataObject {
		return { ...first, ...this.idField(id), repeatOf: firstItem, attempts: 0 };
	}

	/** The one shape of an item that is not done: failed, withheld, cancelled or never sendable. */
	notDone(
		id: unknown,
		error: string,
		attempts: number,
		extra: { statusCode?: number; cancelled?: true } = {},
	): IDataObject {
		const statusCode = extra.statusCode === undefined ? {} : { statusCode: extra.statusCode };
		const cancelled = extra.cancelled === undefined ? {} : { cancelled: true };
		return {
			success: false,
			...this.idField(id),
			error,
			...statusCode,
			...cancelled,
			confirmedAt: null,
			attempts,
		};
	}

	/**
	 * The items as they leave the node. An item that is not done leaves by the error output as
	 * `error` (the message), `message` (what to do) and `details` (the rest of its result); n8n
	 * merges the paired input item's fields into it. A model gets the message without the item
	 * number, and what it can do.
	 */
	routed(
		results: ReadonlyArray<INodeExecutionData | undefined>,
		remedies: ReadonlyMap<number, Remedy>,
	): INodeExecutionData[] {
		const routes = this.route === 'errorOutput' || this.route === 'toolAnswer';
		const items: INodeExecutionData[] = [];
		results.forEach((item, itemIndex) => {
			if (item === undefined) return;
			const remedy = routes ? remedies.get(itemIndex) : undefined;
			items.push(remedy ? { ...item, json: this.routedJson(item.json, remedy, itemIndex) } : item);
		});
		return items;
	}

	private routedJson(json: IDataObject, remedy: Remedy, itemIndex: number): IDataObject {
		const { error, ...details } = json;
		if (this.route === 'errorOutput') {
			delete details.success;
			const message = remedy.description ?? NOTHING_CONFIRMED;
			return this.errorDetails ? { error, message, details } : { error, message };
		}
		const message = String(error).replace(new RegExp(` \\(item ${itemIndex}\\)$`), '');
		return { ...json, error: message, whatToDo: remedy.whatToDo };
	}
}
