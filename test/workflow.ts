/**
 * The Twin24 node in a workflow: its parameters for one operation, items that carry IDs, running
 * it through n8n's engine, and reading what it put out.
 */
import type { IDataObject, INodeExecutionData, INodeParameters } from 'n8n-workflow';

import type { RunTwin24Options, Twin24RunResult } from './harness/engine';
import { runTwin24 } from './harness/engine';

/** Node parameters for one operation; IDs come from each item's `id` field unless given. */
export function operationParameters(
	resource: 'call' | 'autoCallCandidate',
	operation: 'depersonalize' | 'deleteRecord',
	extra: INodeParameters = {},
): INodeParameters {
	const idParameter = resource === 'call' ? 'callId' : 'autoCallCandidateId';
	return { resource, operation, [idParameter]: '={{ $json.id }}', ...extra };
}

export function idItems(ids: readonly unknown[]): IDataObject[] {
	return ids.map((id) => ({ id }) as IDataObject);
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The proof-of-erasure fields of a done item: when Twin24 confirmed it, and in how many requests. */
export function confirmed(attempts = 1): IDataObject {
	return { confirmedAt: expect.stringMatching(ISO_8601) as unknown as string, attempts };
}

/** The proof-of-erasure fields of an item nothing was confirmed for. */
export const NOT_CONFIRMED: IDataObject = { confirmedAt: null, attempts: 0 };

export async function run(options: RunTwin24Options): Promise<Twin24RunResult> {
	return await runTwin24(options);
}

/** The `json` of each output item (none for no output). */
export function jsonOf(output: INodeExecutionData[] | undefined): IDataObject[] {
	return (output ?? []).map((item) => item.json);
}
