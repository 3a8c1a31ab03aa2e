import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

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
	description: INodeProperties[];
	buildRequest(this: IExecuteFunctions, itemIndex: number, id: string): ErasureRequest;
}

const MAX_ID_LENGTH = 256;
const FORBIDDEN_ID_CHARACTERS = /[/\\?#]/;
const WHITESPACE_OR_CONTROL = /[\s\u0000-\u001f\u007f-\u009f]/;
/** Half of a UTF-16 surrogate pair without the other half: no text, and no valid URL either. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function shown(value: string): string {
	return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

function kindOf(value: unknown): string {
	if (value === null) return 'null';
	if (Array.isArray(value)) return 'a list';
	return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Why a value cannot be a Twin24 ID, or undefined when it can. IDs are UUIDs or short strings;
 * anything that would change the request path (`/`, `..`, `?`, `#`) or cannot be real is refused.
 */
function idProblem(value: string): string | undefined {
	if (value === '') return 'is empty';
	if (value.length > MAX_ID_LENGTH)
		return `is ${value.length} characters long (at most ${MAX_ID_LENGTH})`;
	if (value === '.' || value === '..') return `is ${shown(value)}, a path step rather than an ID`;
	const forbidden = FORBIDDEN_ID_CHARACTERS.exec(value);
	if (forbidden) return `(${shown(value)}) contains "${forbidden[0]}", which no Twin24 ID has`;
	if (WHITESPACE_OR_CONTROL.test(value)) {
		return `(${shown(value)}) contains a space or control character, which no Twin24 ID has`;
	}
	if (LONE_SURROGATE.test(value)) return 'contains a broken Unicode character';
	return undefined;
}

/**
 * Reads an item's ID. Numbers from expressions are taken as text; surrounding spaces are
 * dropped; everything else that cannot be an ID is refused for this item before anything is sent.
 */
export function readId(
	ctx: IExecuteFunctions,
	itemIndex: number,
	idParameter: IdParameter,
	idLabel: string,
): string {
	const raw = ctx.getNodeParameter(idParameter, itemIndex, '') as unknown;
	const fix = `Set ${idLabel} to the field that holds the ID, e.g. {{ $json.${idParameter} }}.`;
	// A field missing from the item reads as undefined: that is an empty ID, not a wrong type.
	const asText = typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : (raw ?? '');
	if (typeof asText !== 'string') {
		throw new NodeOperationError(
			ctx.getNode(),
			`${idLabel} of item ${itemIndex} is ${kindOf(raw)}, not an ID`,
			{ itemIndex, description: fix },
		);
	}
	const id = asText.trim();
	const problem = idProblem(id);
	if (problem !== undefined) {
		throw new NodeOperationError(ctx.getNode(), `${idLabel} of item ${itemIndex} ${problem}`, {
			itemIndex,
			description: `Nothing was sent for this item. ${fix}`,
		});
	}
	return id;
}

/** Both depersonalization endpoints take the same body, sent explicitly either way. */
export function depersonalizationRequest(
	path: string[],
	skipDeleteRecord: boolean,
): ErasureRequest {
	return { method: 'POST', path, body: { skipDeleteRecord }, recordDeleted: !skipDeleteRecord };
}

export function readSkipDeleteRecord(ctx: IExecuteFunctions, itemIndex: number): boolean {
	const value = ctx.getNodeParameter('skipDeleteRecord', itemIndex, false) as unknown;
	if (typeof value !== 'boolean') {
		throw new NodeOperationError(
			ctx.getNode(),
			`Keep Recording of item ${itemIndex} is ${kindOf(value)}, not true or false`,
			{
				itemIndex,
				description: 'Nothing was sent for this item. Set Keep Recording to true or false.',
			},
		);
	}
	return value;
}
