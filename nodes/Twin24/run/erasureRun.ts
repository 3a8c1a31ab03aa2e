import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	NodeApiError,
} from 'n8n-workflow';
import { NodeOperationError, sleep } from 'n8n-workflow';

import type { ErasureOperation } from '../actions/erasure';
import type { Slot } from '../transport/client';
import type { SendResult } from '../transport/retryPolicy';
import { Twin24Client, executionCancelSignal } from '../transport/client';
import type { Failure } from '../transport/failures';
import { toNodeError } from './failureMessages';
import {
	cancelledResult,
	failedRunError,
	logCancelled,
	unusableCredentialResults,
} from './endings';
import type { RunSettings, SendPlan } from './itemPlan';
import { planItem } from './itemPlan';
import type { Remedy } from './outcomes';
import {
	ItemResults,
	doneBy,
	errorOutputTakesDetails,
	failureRouteOf,
	whatToDoAbout,
} from './outcomes';
import { EarlierRuns, Repeats, erasureKey } from './repeats';

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

/**
 * Concurrency: an item holds a slot while it is read, waits for its turn and is in flight, but
 * not while it waits out a Retry-After or a backoff (the transport gives it back meanwhile).
 */
class ConcurrencySlots implements Slot {
	private free: number;
	private readonly waiting: Array<(taken: boolean) => void> = [];
	private closed = false;

	constructor(size: number) {
		this.free = size;
	}

	/** Takes a free slot at once, without yielding, so that a free slot changes no order. */
	tryTake(): boolean {
		if (this.closed || this.free === 0) return false;
		this.free--;
		return true;
	}

	/** Resolves true with the next slot given back, or false once the slots are closed. */
	async wait(): Promise<boolean> {
		if (this.closed) return false;
		return await new Promise<boolean>((resolve) => this.waiting.push(resolve));
	}

	async take(): Promise<boolean> {
		return this.tryTake() || (await this.wait());
	}

	give(): void {
		if (this.closed) return;
		const next = this.waiting.shift();
		if (next) next(true);
		else this.free++;
	}

	close(): void {
		this.closed = true;
		for (const waiter of this.waiting.splice(0)) waiter(false);
	}
}

/**
 * Workers per Concurrency slot: while an item waits out a Retry-After or a backoff it gives its
 * slot back, and another worker reads and sends the next item in it.
 */
const WORKERS_PER_SLOT = 2;

/**
 * One run of the node over its input items: each item is read when its turn comes, so sending
 * starts at once; at most Concurrency requests are in flight; each item gets one result, in input
 * order, with `pairedItem`. Sending ends early when the user stops the execution, or at the first
 * failure when the run fails on it.
 */
class ErasureRun {
	private readonly results: Array<INodeExecutionData | undefined>;
	/** What people and models can do about the items that are not done. */
	private readonly remedies = new Map<number, Remedy>();
	private readonly repeats = new Repeats();
	private readonly failed = new Set<number>();
	/** Items with no result yet (not sent, interrupted, or a repeat waiting for its first item), and their IDs. */
	private readonly unfinished = new Map<number, { id: string; attempts: number }>();
	private firstFailure: NodeApiError | NodeOperationError | undefined;
	private nextItem = 0;
	private itemsHandled = 0;
	private readonly slots: ConcurrencySlots;
	/** Items that need no request (dry runs, invalid items, repeats) must not hold the event loop. */
	private readonly yieldToEventLoop = eventLoopYielder();
	private readonly itemCount: number;

	constructor(
		private readonly ctx: IExecuteFunctions,
		private readonly operation: ErasureOperation,
		private readonly client: Twin24Client,
		private readonly settings: RunSettings,
		private readonly itemResults: ItemResults,
		private readonly earlierRuns: EarlierRuns,
		/** Aborted at the user's Stop or at the first failure that fails the run: nothing new is sent. */
		private readonly sending: AbortController,
	) {
		this.itemCount = ctx.getInputData().length;
		this.results = new Array<INodeExecutionData | undefined>(this.itemCount);
		this.slots = new ConcurrencySlots(settings.concurrency);
		sending.signal.addEventListener('abort', () => this.slots.close(), { once: true });
	}

	async run(): Promise<INodeExecutionData[]> {
		const cancel = executionCancelSignal(this.ctx);
		const endSending = () => this.sending.abort();
		if (cancel?.aborted) endSending();
		cancel?.addEventListener('abort', endSending, { once: true });
		try {
			this.client.setBacklog(this.itemCount);
			const workers = Math.min(WORKERS_PER_SLOT * this.settings.concurrency, this.itemCount);
			await Promise.all(Array.from({ length: workers }, async () => await this.work()));
		} finally {
			cancel?.removeEventListener('abort', endSending);
		}
		this.ctx.logger.debug('Twin24: run finished', {
			items: this.itemCount,
			failed: this.failed.size,
			...this.client.stats,
		});
		if (cancel?.aborted === true) return this.resultsAfterCancel();
		if (this.firstFailure !== undefined) throw this.failedRun(this.firstFailure);
		return this.itemResults.routed(this.results, this.remedies);
	}

	private async work(): Promise<void> {
		while (this.nextItem < this.itemCount && !this.sending.signal.aborted) {
			if (!this.slots.tryTake() && !(await this.slots.wait())) return;
			const item = this.nextItem++;
			try {
				if (item < this.itemCount && !this.sending.signal.aborted) await this.handle(item);
			} finally {
				this.slots.give();
			}
			this.client.setBacklog(this.itemCount - ++this.itemsHandled);
			await this.yieldToEventLoop();
		}
	}

	private async handle(itemIndex: number): Promise<void> {
		const plan = planItem(this.ctx, this.operation, itemIndex, this.client);
		if (plan.kind === 'invalid') return this.invalidItem(itemIndex, plan.error, plan.rawId);
		if (plan.kind === 'dryRun')
			return this.setResult(itemIndex, this.itemResults.dryRun(plan.id, plan.request));
		const key = erasureKey(plan.id, plan.request.body);
		const firstItem = this.repeats.claim(key, itemIndex);
		if (firstItem !== undefined) return this.repeat(itemIndex, firstItem, plan.id);
		const earlier = this.earlierRuns.find(key);
		const known = this.itemResults.fromEarlierRun(plan, earlier);
		if (known !== undefined) return this.setResult(itemIndex, known);
		await this.erase(itemIndex, plan, key, earlier?.kind === 'mayBeDone');
	}

	private async erase(
		itemIndex: number,
		plan: SendPlan,
		key: string,
		mayBeDone: boolean,
	): Promise<void> {
		for (
			let earlier = this.repeats.inFlight(plan.id);
			earlier;
			earlier = this.repeats.inFlight(plan.id)
		) {
			// The earlier request may itself need a slot back to finish.
			this.slots.give();
			await earlier;
			if (!this.slots.tryTake() && !(await this.slots.wait())) {
				this.unfinished.set(itemIndex, { id: plan.id, attempts: 0 });
				return;
			}
		}
		const item = { index: itemIndex, slot: this.slots, mayBeDone };
		const result = await this.repeats.track(plan.id, this.client.send(plan.request, item));
		this.conclude(itemIndex, plan, key, result);
	}

	private conclude(itemIndex: number, plan: SendPlan, key: string, result: SendResult): void {
		const done = doneBy(plan, result, this.earlierRuns.continuesInterruptedRun);
		if (done !== undefined) {
			this.earlierRuns.remember(key, done);
			return this.setResult(itemIndex, this.itemResults.done(plan, done));
		}
		switch (result.outcome) {
			case 'interrupted':
				this.rememberMayBeDone(key, result.mayBeDone);
				this.unfinished.set(itemIndex, { id: plan.id, attempts: result.attempts });
				return;
			case 'failed':
				this.rememberMayBeDone(key, result.mayBeDone);
				return this.fail(itemIndex, plan.id, result.failure, result.attempts, result.retries);
			case 'notFound':
				return this.fail(itemIndex, plan.id, result.failure, result.attempts, result.retries);
		}
	}

	/** A later run sends it again, and counts a 404 as done: Twin24 may have carried it out. */
	private rememberMayBeDone(key: string, mayBeDone: boolean): void {
		if (mayBeDone) this.earlierRuns.remember(key, { kind: 'mayBeDone' });
	}

	private fail(
		itemIndex: number,
		id: string,
		failure: Failure,
		attempts: number,
		retries: number,
	): void {
		this.failed.add(itemIndex);
		const what = `${this.operation.action} "${id}"`;
		const context = { what, itemIndex, retries };
		const error = toNodeError(this.ctx.getNode(), failure, context, this.settings.timeoutMs);
		if (this.itemResults.route === 'failRun') return this.failRunAt(error);
		const statusCode = 'statusCode' in failure ? failure.statusCode : undefined;
		const json = this.itemResults.notDone(id, error.message, attempts, { statusCode });
		this.setResult(itemIndex, json, {
			description: error.description ?? undefined,
			whatToDo: whatToDoAbout(failure),
		});
	}

	private invalidItem(itemIndex: number, error: NodeOperationError, rawId: unknown): void {
		this.failed.add(itemIndex);
		if (this.itemResults.route === 'failRun') return this.failRunAt(error);
		const { idLabel, idExample } = this.operation;
		const whatToDo = `Nothing was sent. ${idLabel} must be the exact Twin24 ID: ${idExample}. Ask the user for the exact ID; do not guess or change it.`;
		const json = this.itemResults.notDone(rawId, error.message, 0);
		this.setResult(itemIndex, json, { description: error.description ?? undefined, whatToDo });
	}

	/** Without Continue On Fail the first failure fails the run: nothing new is sent. */
	private failRunAt(error: NodeApiError | NodeOperationError): void {
		this.firstFailure ??= error;
		this.sending.abort();
	}

	/** A repeat of an erasure asked for by an earlier item gets that item's result. */
	private repeat(itemIndex: number, firstItem: number, id: string): void {
		const first = this.results[firstItem];
		if (first !== undefined) {
			const remedy = this.remedies.get(firstItem);
			return this.setResult(itemIndex, this.itemResults.repeat(first.json, id, firstItem), remedy);
		}
		this.repeats.waitFor(itemIndex, firstItem);
		// Should sending end before the first item is done, this one is reported with its ID.
		this.unfinished.set(itemIndex, { id, attempts: 0 });
	}

	private setResult(itemIndex: number, json: IDataObject, remedy?: Remedy): void {
		this.results[itemIndex] = { json, pairedItem: { item: itemIndex } };
		if (remedy !== undefined) this.remedies.set(itemIndex, remedy);
		const id = json[this.operation.idParameter] as string;
		for (const repeat of this.repeats.takeWaiting(itemIndex)) this.repeat(repeat, itemIndex, id);
	}

	/**
	 * After Stop (or the workflow timeout) every item still gets a result; items not read yet
	 * have no ID to show.
	 */
	private resultsAfterCancel(): INodeExecutionData[] {
		const unsent = [...this.results.keys()].filter((index) => this.results[index] === undefined);
		for (const itemIndex of unsent) {
			const { id, attempts } = this.unfinished.get(itemIndex) ?? { id: null, attempts: 0 };
			const { json, remedy } = cancelledResult(this.itemResults, itemIndex, id, attempts);
			this.setResult(itemIndex, json, remedy);
		}
		logCancelled(this.ctx.logger, this.doneCount(), this.itemCount, unsent);
		return this.itemResults.routed(this.results, this.remedies);
	}

	private failedRun(first: NodeApiError | NodeOperationError): NodeApiError | NodeOperationError {
		const notSent = [...this.results.keys()].filter(
			(index) => this.results[index] === undefined && !this.failed.has(index),
		);
		const counts = {
			itemCount: this.itemCount,
			done: this.doneCount(),
			failed: this.failed.size,
			notSent,
		};
		return failedRunError(first, counts);
	}

	private doneCount(): number {
		return this.results.filter((item) => item?.json.success === true).length;
	}
}

/** Opens the client for the run, runs the erasures and lets go of the client. */
export async function runErasures(
	ctx: IExecuteFunctions,
	operation: ErasureOperation,
	operationName: string,
	settings: RunSettings,
): Promise<INodeExecutionData[]> {
	const itemResults = new ItemResults(operation, failureRouteOf(ctx), errorOutputTakesDetails(ctx));
	const sending = new AbortController();
	let client: Twin24Client;
	try {
		client = await Twin24Client.open(ctx, settings, sending.signal);
	} catch (error) {
		if (itemResults.route !== 'failRun') {
			return await unusableCredentialResults(
				ctx,
				operation,
				itemResults,
				error as Error,
				eventLoopYielder(),
			);
		}
		// A NodeOperationError (a credential problem found by the transport) comes back as it is.
		throw new NodeOperationError(ctx.getNode(), error as Error);
	}
	try {
		const earlierRuns = new EarlierRuns(ctx, `${operationName} ${client.account}`);
		if (earlierRuns.continuesInterruptedRun) {
			ctx.logger.info(
				'Twin24: this execution goes on from a run n8n could not finish; a 404 counts as done (mayHaveBeenErasedByInterruptedRun)',
			);
		}
		const run = new ErasureRun(ctx, operation, client, settings, itemResults, earlierRuns, sending);
		return await run.run();
	} finally {
		client.close();
	}
}
