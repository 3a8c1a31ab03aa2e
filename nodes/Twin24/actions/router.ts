import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	NodeApiError,
} from 'n8n-workflow';
import { NodeOperationError, sleep } from 'n8n-workflow';

import type { Failure, PlannedRequest, SendResult, TransportSettings } from '../transport';
import { Twin24Client, toNodeError } from '../transport';
import { depersonalizeAutoCallCandidate } from './autoCallCandidate/depersonalize.operation';
import { deleteCallRecord } from './call/deleteRecord.operation';
import { depersonalizeCall } from './call/depersonalize.operation';
import {
	DEFAULT_CONCURRENCY,
	DEFAULT_MAX_RETRIES,
	DEFAULT_MAX_WAIT_SECONDS,
	DEFAULT_TIMEOUT_MS,
} from './descriptions';
import type { ErasureOperation } from './erasure';
import { readId, readParameter } from './erasure';
import { SETUP_FAILURE, answerForTool, runsAsTool } from './toolAnswer';

export const operations: Record<string, Record<string, ErasureOperation>> = {
	call: { depersonalize: depersonalizeCall, deleteRecord: deleteCallRecord },
	autoCallCandidate: { depersonalize: depersonalizeAutoCallCandidate },
};

/** How long handling items may hold the event loop before the node lets other work run. */
const YIELD_EVERY_MS = 20;

/** Lets other work run once the caller has held the event loop for YIELD_EVERY_MS. */
function eventLoopYielder(): () => Promise<void> {
	let lastYieldAt = Date.now();
	return async () => {
		if (Date.now() - lastYieldAt < YIELD_EVERY_MS) return;
		await sleep(0);
		lastYieldAt = Date.now();
	};
}

interface ItemOptions {
	dryRun?: boolean;
	ignoreNotFound?: boolean;
	concurrency?: number;
	maxRetries?: number;
	timeout?: number;
	maxWait?: number;
}

/** What the node will do for one item, decided when the item's turn comes. */
type ItemPlan =
	| {
			kind: 'send';
			id: string;
			request: PlannedRequest;
			recordDeleted: boolean;
			ignoreNotFound: boolean;
	  }
	| { kind: 'dryRun'; id: string; request: PlannedRequest }
	| { kind: 'refused'; error: NodeOperationError; rawId: unknown };

function itemOptions(ctx: IExecuteFunctions, itemIndex: number): ItemOptions {
	return readParameter(ctx, 'options', itemIndex, {}) as ItemOptions;
}

function wholeNumber(value: unknown, fallback: number, min: number, max: number): number {
	const number = typeof value === 'number' && Number.isFinite(value) ? Math.floor(value) : fallback;
	return Math.min(max, Math.max(min, number));
}

/** Run-wide options are read once, from the first item: one run has one pace. */
function runSettings(ctx: IExecuteFunctions): TransportSettings {
	const options = itemOptions(ctx, 0);
	return {
		concurrency: wholeNumber(options.concurrency, DEFAULT_CONCURRENCY, 1, 50),
		maxRetries: wholeNumber(options.maxRetries, DEFAULT_MAX_RETRIES, 0, 10),
		timeoutMs: wholeNumber(options.timeout, DEFAULT_TIMEOUT_MS, 1000, 600000),
		maxWaitMs: wholeNumber(options.maxWait, DEFAULT_MAX_WAIT_SECONDS, 0, 86400) * 1000,
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

/** Reads one item's parameters, each once, and decides what to do for it. */
function planItem(
	ctx: IExecuteFunctions,
	operation: ErasureOperation,
	itemIndex: number,
	client: Twin24Client,
): ItemPlan {
	let rawId: unknown = null;
	try {
		rawId = readParameter(ctx, operation.idParameter, itemIndex, '');
		const id = readId(ctx, itemIndex, operation, rawId);
		const { path, method, body, recordDeleted } = operation.buildRequest.call(ctx, itemIndex, id);
		const options = itemOptions(ctx, itemIndex);
		const request = { method, url: client.url(path), body };
		if (options.dryRun === true) return { kind: 'dryRun', id, request };
		return {
			kind: 'send',
			id,
			request,
			recordDeleted,
			ignoreNotFound: options.ignoreNotFound === true,
		};
	} catch (error) {
		// An expression that fails for one item (e.g. a missing field) fails that item only.
		const refusal =
			error instanceof NodeOperationError
				? error
				: new NodeOperationError(ctx.getNode(), error as Error, { itemIndex });
		return { kind: 'refused', error: refusal, rawId };
	}
}

/**
 * One request per distinct erasure. A run has one operation, so the ID and the body tell two
 * erasures apart; the key stays short, as the run keeps one per item.
 */
function requestKey(id: string, request: PlannedRequest): string {
	return `${String(request.body?.skipDeleteRecord ?? '-')} ${id}`;
}

/** Nothing was confirmed for an item that failed, was refused, was a dry run or was not sent. */
const NOT_CONFIRMED = { confirmedAt: null };

/**
 * Workers per Concurrency slot: while an item waits out a Retry-After or a backoff it gives its
 * slot back (see the transport), and another worker reads and sends the next item in it.
 */
const WORKERS_PER_SLOT = 2;

/**
 * One execution of the node over its input items: each item is read when its turn comes, so
 * sending starts at once; at most Concurrency requests are in flight; each item gets one result,
 * in input order, with `pairedItem`.
 */
class ErasureRun {
	private readonly results: Array<INodeExecutionData | undefined>;
	/** The first item that asked for each distinct erasure; later ones share its result. */
	private readonly firstItemOfRequest = new Map<string, number>();
	private readonly repeatsWaiting = new Map<number, number[]>();
	/** The request in flight for an ID, so that two different erasures of one ID never race. */
	private readonly inFlightById = new Map<string, Promise<unknown>>();
	private readonly failed = new Set<number>();
	/** What went wrong for each item that failed after it was planned (a refused ID has none). */
	readonly failures = new Map<number, Failure>();
	/** Items with no result yet (stopped, or a repeat waiting for its first item), and their IDs. */
	private readonly unfinished = new Map<number, { id: string; attempts: number }>();
	private firstFailure: NodeApiError | NodeOperationError | undefined;
	private nextItem = 0;
	private itemsHandled = 0;
	/** Items that need no request (dry runs, refusals, repeats) must not hold the event loop. */
	private readonly yieldToEventLoop = eventLoopYielder();

	constructor(
		private readonly ctx: IExecuteFunctions,
		private readonly operation: ErasureOperation,
		private readonly client: Twin24Client,
		private readonly settings: TransportSettings,
		private readonly continueOnFail: boolean,
		private readonly itemCount: number,
	) {
		this.results = new Array<INodeExecutionData | undefined>(itemCount);
	}

	async run(): Promise<INodeExecutionData[]> {
		this.client.expectRequests(this.itemCount);
		const workers = Math.min(WORKERS_PER_SLOT * this.settings.concurrency, this.itemCount);
		await Promise.all(Array.from({ length: workers }, async () => await this.work()));
		this.ctx.logger.debug('Twin24: run finished', {
			items: this.itemCount,
			failed: this.failed.size,
			...this.client.stats,
		});
		if (this.client.cancelled) return this.resultsAfterCancel();
		if (this.firstFailure !== undefined) throw this.stoppedRunError(this.firstFailure);
		return this.results.filter((item): item is INodeExecutionData => item !== undefined);
	}

	private get halted(): boolean {
		return this.firstFailure !== undefined || this.client.cancelled;
	}

	private async work(): Promise<void> {
		while (this.nextItem < this.itemCount && !this.halted) {
			if (!this.client.tryTakeSlot() && !(await this.client.waitForSlot())) return;
			const item = this.nextItem++;
			try {
				if (item < this.itemCount && !this.halted) await this.handle(item);
			} finally {
				this.client.giveSlot();
			}
			this.client.expectRequests(this.itemCount - ++this.itemsHandled);
			await this.yieldToEventLoop();
		}
	}

	private async handle(itemIndex: number): Promise<void> {
		const plan = planItem(this.ctx, this.operation, itemIndex, this.client);
		if (plan.kind === 'refused') return this.refuse(itemIndex, plan.error, plan.rawId);
		if (plan.kind === 'dryRun') {
			const { method, url, body } = plan.request;
			const request = { method, url, body: body ?? null };
			const dryRun = { success: false, ...this.idOutput(plan.id), dryRun: true, request };
			return this.record(itemIndex, { ...dryRun, ...NOT_CONFIRMED, attempts: 0 });
		}
		const key = requestKey(plan.id, plan.request);
		const firstItem = this.firstItemOfRequest.get(key);
		if (firstItem !== undefined) return this.repeat(itemIndex, firstItem, plan.id);
		this.firstItemOfRequest.set(key, itemIndex);
		await this.send(itemIndex, plan);
	}

	private async send(itemIndex: number, plan: Extract<ItemPlan, { kind: 'send' }>): Promise<void> {
		for (
			let earlier = this.inFlightById.get(plan.id);
			earlier;
			earlier = this.inFlightById.get(plan.id)
		) {
			// The earlier request may itself need a slot back to finish.
			this.client.giveSlot();
			await earlier;
			if (!this.client.tryTakeSlot() && !(await this.client.waitForSlot())) {
				this.unfinished.set(itemIndex, { id: plan.id, attempts: 0 });
				return;
			}
		}
		const sending = this.client.send(plan.request, itemIndex);
		this.inFlightById.set(plan.id, sending);
		const result = await sending;
		this.inFlightById.delete(plan.id);
		this.settle(itemIndex, plan, result);
	}

	private settle(
		itemIndex: number,
		plan: Extract<ItemPlan, { kind: 'send' }>,
		result: SendResult,
	): void {
		const id = this.idOutput(plan.id);
		if (result.outcome === 'done') {
			const { confirmedAt, attempts } = result;
			const done = { recordDeleted: plan.recordDeleted, confirmedAt, attempts };
			return this.record(itemIndex, { success: true, ...id, ...done });
		}
		if (result.outcome === 'notFound' && result.answerLost) {
			const { confirmedAt, attempts } = result;
			const done = { recordDeleted: plan.recordDeleted, answerLost: true, confirmedAt, attempts };
			return this.record(itemIndex, { success: true, ...id, ...done });
		}
		if (result.outcome === 'notFound' && plan.ignoreNotFound) {
			const { confirmedAt, attempts } = result;
			const notFound = { recordDeleted: false, notFound: true, confirmedAt, attempts };
			return this.record(itemIndex, { success: true, ...id, ...notFound });
		}
		const { failure, attempts, retries } = result;
		if (failure.kind === 'notSent' || failure.kind === 'cancelled') {
			this.unfinished.set(itemIndex, { id: plan.id, attempts });
			return;
		}
		this.fail(itemIndex, plan.id, failure, attempts, retries);
	}

	private fail(
		itemIndex: number,
		id: string,
		failure: Failure,
		attempts: number,
		retries: number,
	): void {
		this.failed.add(itemIndex);
		this.failures.set(itemIndex, failure);
		const what = `${this.operation.action} "${id}"`;
		const context = { what, itemIndex, retries };
		const error = toNodeError(this.ctx.getNode(), failure, context, this.settings.timeoutMs);
		if (!this.continueOnFail) return this.stopAt(error);
		const statusCode = 'statusCode' in failure ? { statusCode: failure.statusCode } : {};
		const failed = { success: false, ...this.idOutput(id), error: error.message, ...statusCode };
		this.record(itemIndex, { ...failed, ...NOT_CONFIRMED, attempts });
	}

	private refuse(itemIndex: number, error: NodeOperationError, rawId: unknown): void {
		this.failed.add(itemIndex);
		if (!this.continueOnFail) return this.stopAt(error);
		const refused = { success: false, ...this.idOutput(rawId), error: error.message };
		this.record(itemIndex, { ...refused, ...NOT_CONFIRMED, attempts: 0 });
	}

	/** Without Continue On Fail the first failure ends the run: nothing new is sent. */
	private stopAt(error: NodeApiError | NodeOperationError): void {
		this.firstFailure ??= error;
		this.client.stop();
	}

	/** A repeat of an erasure asked for by an earlier item gets that item's result. */
	private repeat(itemIndex: number, firstItem: number, id: string): void {
		const first = this.results[firstItem];
		if (first !== undefined) {
			this.record(itemIndex, {
				...first.json,
				...this.idOutput(id),
				repeatOf: firstItem,
				attempts: 0,
			});
			return;
		}
		const waiting = this.repeatsWaiting.get(firstItem) ?? [];
		waiting.push(itemIndex);
		this.repeatsWaiting.set(firstItem, waiting);
		// Should the run stop before the first item is done, this one is reported with its ID.
		this.unfinished.set(itemIndex, { id, attempts: 0 });
	}

	private record(itemIndex: number, json: IDataObject): void {
		this.results[itemIndex] = { json, pairedItem: { item: itemIndex } };
		const repeats = this.repeatsWaiting.get(itemIndex);
		if (repeats === undefined) return;
		this.repeatsWaiting.delete(itemIndex);
		const id = json[this.operation.idParameter];
		for (const repeat of repeats) this.repeat(repeat, itemIndex, id as string);
	}

	private idOutput(id: unknown): IDataObject {
		return { [this.operation.idParameter]: id as IDataObject[string] };
	}

	/**
	 * After Stop (or the workflow timeout) every item still gets an answer; items not read yet
	 * have no ID to show. n8n may already have saved the execution, so the log says it too.
	 */
	private resultsAfterCancel(): INodeExecutionData[] {
		const unsent = [...this.results.keys()].filter((index) => this.results[index] === undefined);
		for (const itemIndex of unsent) {
			const { id, attempts } = this.unfinished.get(itemIndex) ?? { id: null, attempts: 0 };
			const error =
				attempts === 0
					? `Not sent: the execution was stopped before this item's request went out (item ${itemIndex})`
					: `Not confirmed: the execution was stopped before Twin24 answered, so it may have carried the erasure out. Run this item again with Ignore Not Found (item ${itemIndex})`;
			const notDone = { success: false, ...this.idOutput(id), error, cancelled: true };
			this.record(itemIndex, { ...notDone, ...NOT_CONFIRMED, attempts });
		}
		const done = this.results.filter((item) => item?.json.success === true).length;
		this.ctx.logger.warn(
			`Twin24: the execution was stopped; ${done} of ${this.itemCount} items were done, ${unsent.length} not sent` +
				(unsent.length > 0 ? ` (the first is item ${unsent[0]})` : ''),
		);
		return this.results as INodeExecutionData[];
	}

	/** The error thrown when a run stops at its first failure, saying where to resume. */
	private stoppedRunError(
		first: NodeApiError | NodeOperationError,
	): NodeApiError | NodeOperationError {
		const done = this.results.filter((item) => item?.json.success === true).length;
		const notSent = [...this.results.keys()].filter(
			(index) => this.results[index] === undefined && !this.failed.has(index),
		);
		const resume =
			notSent.length > 0
				? `Not sent: ${notSent.length} (the first is item ${notSent[0]}).`
				: 'Not sent: 0.';
		first.description =
			`${first.description ?? ''} Stopped at this failure: ${done} of ${this.itemCount} items were done, ${this.failed.size} failed. ${resume} ` +
			'Turn on Continue On Fail (Settings) to get a result for every item instead.';
		return first;
	}
}

/** With Continue On Fail, a credential the node cannot use fails every item, and sends nothing. */
async function everyItemFailed(
	ctx: IExecuteFunctions,
	operation: ErasureOperation,
	error: Error,
): Promise<INodeExecutionData[]> {
	const rawIdOf = (itemIndex: number): IDataObject[string] => {
		try {
			return readParameter(ctx, operation.idParameter, itemIndex, '') as IDataObject[string];
		} catch {
			return null;
		}
	};
	const yieldToEventLoop = eventLoopYielder();
	const failed: INodeExecutionData[] = [];
	for (let itemIndex = 0; itemIndex < ctx.getInputData().length; itemIndex++) {
		failed.push({
			json: {
				success: false,
				[operation.idParameter]: rawIdOf(itemIndex),
				error: `${error.message} (item ${itemIndex})`,
				...NOT_CONFIRMED,
				attempts: 0,
			},
			pairedItem: { item: itemIndex },
		});
		await yieldToEventLoop();
	}
	return failed;
}

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = operationFor(this);
	const settings = runSettings(this);
	const asTool = runsAsTool(this);
	const continueOnFail = asTool || this.continueOnFail();
	const itemCount = this.getInputData().length;
	let client: Twin24Client;
	try {
		client = await Twin24Client.open(this, settings);
	} catch (error) {
		if (continueOnFail) {
			const failed = await everyItemFailed(this, operation, error as Error);
			if (!asTool) return [failed];
			return [failed.map((item) => answerForTool(item, operation.idParameter, SETUP_FAILURE))];
		}
		// A NodeOperationError (a credential problem found by the transport) comes back as it is.
		throw new NodeOperationError(this.getNode(), error as Error);
	}
	try {
		const run = new ErasureRun(this, operation, client, settings, continueOnFail, itemCount);
		const items = await run.run();
		if (!asTool) return [items];
		// Continuing on failure, the run answers every item, in input order; a repeat shares its first item's failure.
		const failureOf = (item: INodeExecutionData, itemIndex: number) =>
			run.failures.get(typeof item.json.repeatOf === 'number' ? item.json.repeatOf : itemIndex);
		return [
			items.map((item, itemIndex) =>
				answerForTool(item, operation.idParameter, failureOf(item, itemIndex)),
			),
		];
	} finally {
		client.close();
	}
}
