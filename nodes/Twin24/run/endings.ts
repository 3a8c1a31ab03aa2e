import type {
	IExecuteFunctions,
	INodeExecutionData,
	Logger,
	NodeApiError,
	NodeOperationError,
} from 'n8n-workflow';

import type { ErasureOperation } from '../actions/erasure';
import { readParameter } from './itemPlan';
import type { ItemResults, Remedy } from './outcomes';
import { WHAT_TO_DO_ABOUT_THE_CREDENTIAL, WHAT_TO_DO_WHEN_CANCELLED } from './outcomes';

/**
 * How a run ends before every item is done: the user's Stop (n8n cancels the execution), the
 * first failure without Continue On Fail (the run fails), or a credential the node cannot use.
 */

/** After Stop (or the workflow timeout), an item not done: its request never went out, or went unanswered. */
export function cancelledResult(
	itemResults: ItemResults,
	itemIndex: number,
	id: string | null,
	attempts: number,
): { json: ReturnType<ItemResults['notDone']>; remedy: Remedy } {
	const error =
		attempts === 0
			? `Not sent: the execution was stopped before this item's request went out (item ${itemIndex})`
			: `Not confirmed: the execution was stopped before Twin24 answered, so it may have carried the erasure out. Run this item again with Ignore Not Found (item ${itemIndex})`;
	const json = itemResults.notDone(id, error, attempts, { cancelled: true });
	const description =
		'Run it again with the option Ignore Not Found on, so that what Twin24 may already have erased counts as done.';
	return { json, remedy: { description, whatToDo: WHAT_TO_DO_WHEN_CANCELLED } };
}

/** n8n may have saved the execution before the node returns, so the log says what was done too. */
export function logCancelled(logger: Logger, done: number, itemCount: number, unsent: number[]) {
	logger.warn(
		`Twin24: the execution was stopped; ${done} of ${itemCount} items were done, ${unsent.length} not sent` +
			(unsent.length > 0 ? ` (the first is item ${unsent[0]})` : ''),
	);
}

export interface FailedRunCounts {
	itemCount: number;
	done: number;
	failed: number;
	/** Items that got nothing: not sent, or not answered, once the run failed. */
	notSent: number[];
}

/** The error a run fails with at its first failure, saying how far it got and where to resume. */
export function failedRunError(
	first: NodeApiError | NodeOperationError,
	{ itemCount, done, failed, notSent }: FailedRunCounts,
): NodeApiError | NodeOperationError {
	const resume =
		notSent.length > 0
			? `Not sent: ${notSent.length} (the first is item ${notSent[0]}).`
			: 'Not sent: 0.';
	first.description =
		`${first.description ?? ''} Stopped at this failure: ${done} of ${itemCount} items were done, ${failed} failed. ${resume} ` +
		'Turn on Continue On Fail (Settings) to get a result for every item instead.';
	return first;
}

/** With Continue On Fail, a credential the node cannot use fails every item, and sends nothing. */
export async function unusableCredentialResults(
	ctx: IExecuteFunctions,
	operation: ErasureOperation,
	itemResults: ItemResults,
	error: Error,
	yieldToEventLoop: () => Promise<void>,
): Promise<INodeExecutionData[]> {
	const rawIdOf = (itemIndex: number): unknown => {
		try {
			return readParameter(ctx, operation.idParameter, itemIndex, '');
		} catch {
			return null;
		}
	};
	const remedy: Remedy = {
		description: descriptionOf(error),
		whatToDo: WHAT_TO_DO_ABOUT_THE_CREDENTIAL,
	};
	const results: INodeExecutionData[] = [];
	const remedies = new Map<number, Remedy>();
	for (let itemIndex = 0; itemIndex < ctx.getInputData().length; itemIndex++) {
		const json = itemResults.notDone(rawIdOf(itemIndex), `${error.message} (item ${itemIndex})`, 0);
		results.push({ json, pairedItem: { item: itemIndex } });
		remedies.set(itemIndex, remedy);
		await yieldToEventLoop();
	}
	return itemResults.routed(results, remedies);
}

function descriptionOf(error: Error): string | undefined {
	const { description } = error as { description?: unknown };
	return typeof description === 'string' ? description : undefined;
}
