import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	JsonObject,
	NodeApiError,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { Failure, TransportSettings } from '../transport';
import { Twin24Client, toNodeError } from '../transport';
import { depersonalizeAutoCallCandidate } from './autoCallCandidate/depersonalize.operation';
import { deleteCallRecord } from './call/deleteRecord.operation';
import { depersonalizeCall } from './call/depersonalize.operation';
import { DEFAULT_CONCURRENCY, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_MS } from './descriptions';
import type { ErasureOperation } from './erasure';
import { readId } from './erasure';

export const operations: Record<string, Record<string, ErasureOperation>> = {
	call: { depersonalize: depersonalizeCall, deleteRecord: deleteCallRecord },
	autoCallCandidate: { depersonalize: depersonalizeAutoCallCandidate },
};

interface ItemOptions {
	dryRun?: boolean;
	ignoreNotFound?: boolean;
	concurrency?: number;
	maxRetries?: number;
	timeout?: number;
}

/** What the node will do for one item, decided before anything is sent. */
type ItemPlan =
	| {
			kind: 'send';
			id: string;
			method: 'POST' | 'DELETE';
			url: string;
			body?: JsonObject;
			recordDeleted: boolean;
			ignoreNotFound: boolean;
	  }
	| { kind: 'dryRun'; id: string; method: 'POST' | 'DELETE'; url: string; body?: JsonObject }
	| { kind: 'refused'; error: NodeOperationError; rawId: unknown };

interface BatchSettings extends TransportSettings {
	concurrency: number;
}

function itemOptions(ctx: IExecuteFunctions, itemIndex: number): ItemOptions {
	return ctx.getNodeParameter('options', itemIndex, {}) as ItemOptions;
}

function wholeNumber(value: unknown, fallback: number, min: number, max: number): number {
	const number = typeof value === 'number' && Number.isFinite(value) ? Math.floor(value) : fallback;
	return Math.min(max, Math.max(min, number));
}

/** Batch-wide options are read from the first item: one run has one pace. */
function batchSettings(ctx: IExecuteFunctions): BatchSettings {
	const options = itemOptions(ctx, 0);
	return {
		concurrency: wholeNumber(options.concurrency, DEFAULT_CONCURRENCY, 1, 50),
		maxRetries: wholeNumber(options.maxRetries, DEFAULT_MAX_RETRIES, 0, 10),
		timeoutMs: wholeNumber(options.timeout, DEFAULT_TIMEOUT_MS, 1000, 600000),
	};
}

function operationFor(ctx: IExecuteFunctions): ErasureOperation {
	const resource = ctx.getNodeParameter('resource', 0) as string;
	const operation = ctx.getNodeParameter('operation', 0) as string;
	const found = operations[resource]?.[operation];
	if (found === undefined) {
		throw new NodeOperationError(
			ctx.getNode(),
			`The operation "${operation}" is not supported for "${resource}"`,
		);
	}
	return found;
}

function rawIdOf(ctx: IExecuteFunctions, operation: ErasureOperation, itemIndex: number): unknown {
	try {
		return ctx.getNodeParameter(operation.idParameter, itemIndex, '');
	} catch {
		return null;
	}
}

function planItem(
	ctx: IExecuteFunctions,
	operation: ErasureOperation,
	itemIndex: number,
	urlOf: (path: readonly string[]) => string,
): ItemPlan {
	try {
		const id = readId(ctx, itemIndex, operation.idParameter, operation.idLabel);
		const request = operation.buildRequest.call(ctx, itemIndex, id);
		const options = itemOptions(ctx, itemIndex);
		const planned = { id, method: request.method, url: urlOf(request.path), body: request.body };
		if (options.dryRun === true) return { kind: 'dryRun', ...planned };
		return {
			kind: 'send',
			...planned,
			recordDeleted: request.recordDeleted,
			ignoreNotFound: options.ignoreNotFound === true,
		};
	} catch (error) {
		// An expression that fails for one item (e.g. a missing field) fails that item only.
		const refusal =
			error instanceof NodeOperationError
				? error
				: new NodeOperationError(ctx.getNode(), error as Error, { itemIndex });
		return { kind: 'refused', error: refusal, rawId: rawIdOf(ctx, operation, itemIndex) };
	}
}

/**
 * Runs `task` for indexes 0..count-1, at most `concurrency` at a time, starting them in order.
 * Once `stopped()` is true no new task starts; those in flight finish.
 */
async function forEachConcurrently(
	count: number,
	concurrency: number,
	stopped: () => boolean,
	task: (index: number) => Promise<void>,
): Promise<void> {
	let next = 0;
	const worker = async () => {
		while (next < count && !stopped()) await task(next++);
	};
	await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

type Results = Array<INodeExecutionData | undefined>;

/** Output for the items decided before sending: refused IDs and dry runs. */
function resultsBeforeSending(plans: ItemPlan[], idOutput: (id: unknown) => IDataObject): Results {
	return plans.map((plan, itemIndex) => {
		const pairedItem = { item: itemIndex };
		if (plan.kind === 'refused') {
			return {
				json: { success: false, ...idOutput(plan.rawId), error: plan.error.message },
				pairedItem,
			};
		}
		if (plan.kind === 'dryRun') {
			const request = { method: plan.method, url: plan.url, body: plan.body ?? null };
			return { json: { success: false, ...idOutput(plan.id), dryRun: true, request }, pairedItem };
		}
		return undefined;
	});
}

/** The error thrown when a run stops at its first failure, saying where to resume. */
function stoppedRunError(
	first: NodeApiError,
	results: Results,
	plans: ItemPlan[],
	failed: Set<number>,
): NodeApiError {
	const done = results.filter((item) => item?.json.success === true).length;
	const notSent = plans.flatMap((plan, index) =>
		plan.kind === 'send' && results[index] === undefined && !failed.has(index) ? [index] : [],
	);
	const resume =
		notSent.length > 0
			? `Not sent: ${notSent.length} (the first is item ${notSent[0]}).`
			: 'Not sent: 0.';
	first.description =
		`${first.description ?? ''} Stopped at this failure: ${done} of ${plans.length} items were done, ${failed.size} failed. ${resume} ` +
		'Turn on Continue On Fail (Settings) to get a result for every item instead.';
	return first;
}

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = operationFor(this);
	const settings = batchSettings(this);
	const continueOnFail = this.continueOnFail();
	const client = await Twin24Client.open(this, settings);
	const plans = this.getInputData().map((_, itemIndex) =>
		planItem(this, operation, itemIndex, (path) => client.url(path)),
	);
	const firstRefused = plans.find((plan) => plan.kind === 'refused');
	if (firstRefused !== undefined && !continueOnFail) throw firstRefused.error;

	const idOutput = (id: unknown): IDataObject => ({
		[operation.idParameter]: id as IDataObject[string],
	});
	const results = resultsBeforeSending(plans, idOutput);
	const failed = new Set<number>();
	let firstFailure: NodeApiError | undefined;

	await forEachConcurrently(
		plans.length,
		settings.concurrency,
		() => firstFailure !== undefined,
		async (itemIndex) => {
			const plan = plans[itemIndex];
			if (plan.kind !== 'send') return;
			const outcome = await client.send(plan, itemIndex);
			const pairedItem = { item: itemIndex };
			if (outcome.ok || (plan.ignoreNotFound && isNotFound(outcome.failure))) {
				const notFound = outcome.ok ? {} : { notFound: true };
				const recordDeleted = outcome.ok && plan.recordDeleted;
				results[itemIndex] = {
					json: { success: true, ...idOutput(plan.id), recordDeleted, ...notFound },
					pairedItem,
				};
				return;
			}
			if (outcome.failure.kind === 'notSent') return;
			failed.add(itemIndex);
			const what = `${operation.action} "${plan.id}"`;
			const error = toNodeError(
				this.getNode(),
				outcome.failure,
				{ what, itemIndex, retries: outcome.retries },
				settings.timeoutMs,
			);
			if (!continueOnFail) {
				firstFailure ??= error;
				client.stop();
				return;
			}
			const statusCode =
				'statusCode' in outcome.failure ? { statusCode: outcome.failure.statusCode } : {};
			results[itemIndex] = {
				json: { success: false, ...idOutput(plan.id), error: error.message, ...statusCode },
				pairedItem,
			};
		},
	);

	this.logger.debug('Twin24: run finished', {
		items: plans.length,
		failed: failed.size,
		...client.stats,
	});
	if (firstFailure !== undefined) throw stoppedRunError(firstFailure, results, plans, failed);
	return [results.filter((item): item is INodeExecutionData => item !== undefined)];
}

function isNotFound(failure: Failure): boolean {
	return failure.kind === 'http' && failure.statusCode === 404;
}
