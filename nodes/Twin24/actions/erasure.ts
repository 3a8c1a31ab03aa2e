import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

export type IdParameter = 'callId' | 'autoCallCandidateId';

/** One irreversible request, as an operation asks for it for one item. */
export interface ErasureRequest {
	method: 'POST' | 'DELETE';
	/** Path segments below the CIS base URL; each is encoded as exactly one segment. */
	path: string[];
	body?: { skipDeleteRecord: boolean };
	/** Whether the audio recording is gone once this request succeeds. */
	recordDeleted: boolean;
}

/** What each operation file provides: its fields and how one item becomes one request. */
export interface ErasureOperation {
	/** Names the action in messages, e.g. 'depersonalize call'. */
	action: string;
	idParameter: IdParameter;
	idLabel: string;
	/** What an ID looks like, for whoever has to find the right one. */
	idExample: string;
	description: INodeProperties[];
	buildRequest(this: IExecuteFunctions, itemIndex: number, id: string): ErasureRequest;
}

/** Both depersonalization endpoints take the same body, sent explicitly either way. */
export function depersonalizationRequest(
	path: string[],
	skipDeleteRecord: boolean,
): ErasureRequest {
	return { method: 'POST', path, body: { skipDeleteRecord }, recordDeleted: !skipDeleteRecord };
}
