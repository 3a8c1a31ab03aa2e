import type { IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { NumericOption } from '../actions/descriptions';
import { OPTION_BOUNDS } from '../actions/descriptions';
import type { ErasureOperation } from '../actions/erasure';
import type { Twin24Client, TransportSettings } from '../transport/client';
import type { PlannedRequest } from '../transport/http';

/**
 * Reading one item: its parameters (each once), its ID and what the node will do for it. An item
 * that cannot become a request (an invalid ID, a Keep Recording that is not true or false, an
 * expression that fails for it) is found invalid here, before anything is sent.
 */

function holdsExpression(value: unknown): boolean {
	if (typeof value === 'string') return value.startsWith('=');
	if (typeof value !== 'object' || value === null) return false;
	return Object.values(value).some(holdsExpression);
}

/** Per execution: the parameters without an expression, read once, as they are the same for every item. */
const constantParameters = new WeakMap<IExecuteFunctions, Map<string, unknown>>();

/**
 * A parameter's value for one item. In n8n every read costs time, item after item, so a parameter
 * that holds no expression is read once for the whole run.
 */
export function readParameter(
	ctx: IExecuteFunctions,
	name: string,
	itemIndex: number,
	fallback: unknown,
): unknown {
	if (holdsExpression(ctx.getNode().parameters[name])) {
		return ctx.getNodeParameter(name, itemIndex, fallback) as unknown;
	}
	const known = constantParameters.get(ctx) ?? new Map<string, unknown>();
	constantParameters.set(ctx, known);
	if (!known.has(name)) known.set(name, ctx.getNodeParameter(name, itemIndex, fallback));
	return known.get(name);
}

const MAX_ID_LENGTH = 256;
const FORBIDDEN_ID_CHARACTERS = /[/\\?#]/;
const WHITESPACE_OR_CONTROL = /[\s\p{Cc}]/u;
/** Invisible format and bidi characters (zero-width space, soft hyphen, BOM…): they survive copy and paste unseen. */
const FORMAT_CHARACTER = /\p{Cf}/u;
/** Half of a UTF-16 surrogate pair without the other half: no text, and no valid URL either. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const FORMAT_CHARACTER_NAMES: Record<number, string> = {
	0x00ad: 'soft hyphen',
	0x061c: 'Arabic letter mark',
	0x200b: 'zero-width space',
	0x200c: 'zero-width non-joiner',
	0x200d: 'zero-width joiner',
	0x200e: 'left-to-right mark',
	0x200f: 'right-to-left mark',
	0x202a: 'left-to-right embedding',
	0x202b: 'right-to-left embedding',
	0x202c: 'pop directional formatting',
	0x202d: 'left-to-right override',
	0x202e: 'right-to-left override',
	0x2060: 'word joiner',
	0x2066: 'left-to-right isolate',
	0x2067: 'right-to-left isolate',
	0x2068: 'first strong isolate',
	0x2069: 'pop directional isolate',
	0xfeff: 'zero-width no-break space (BOM)',
};

function shown(value: string): string {
	return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

function kindOf(value: unknown): string {
	if (value === null) return 'null';
	if (Array.isArray(value)) return 'a list';
	return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** The first invisible format character, as "U+200B (zero-width space) at position 9". */
function formatCharacterProblem(value: string): string | undefined {
	let position = 0;
	for (const character of value) {
		position++;
		if (!FORMAT_CHARACTER.test(character)) continue;
		const codePoint = character.codePointAt(0) ?? 0;
		const hex = codePoint.toString(16).toUpperCase().padStart(4, '0');
		const name = FORMAT_CHARACTER_NAMES[codePoint] ?? 'an invisible format character';
		return `contains U+${hex} (${name}) at position ${position}, an invisible character no Twin24 ID has; remove it from the source data`;
	}
	return undefined;
}

/**
 * Why a value cannot be a Twin24 ID, or undefined when it can. IDs are UUIDs or short strings;
 * anything that would change the request path (`/`, `..`, `?`, `#`) or cannot be real is invalid.
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
 * An ID given as a number: only a safe whole number is exact, and it is sent in plain decimal.
 * Anything else has already lost digits (9007199254740993 arrives as …992) or is no ID at all.
 */
function numericIdProblem(value: number): string | undefined {
	if (Number.isSafeInteger(value)) return undefined;
	const why = Number.isInteger(value)
		? 'too large to be held exactly as a number, so its last digits may already be wrong'
		: 'not a whole number';
	return `is the number ${String(value)}, ${why}; nothing was sent, so that no other record is erased. Pass the ID as text (a string), e.g. keep it quoted in the source data`;
}

/** The ID as text, or why the value cannot be one. */
function idOrProblem(raw: unknown): { id: string } | { problem: string } {
	if (typeof raw === 'number') {
		const problem = numericIdProblem(raw);
		return problem === undefined ? { id: String(raw) } : { problem };
	}
	if (typeof raw === 'bigint') return { id: raw.toString() };
	// A field missing from the item reads as undefined: that is an empty ID, not a wrong type.
	if (raw === undefined || raw === null) return { problem: 'is empty' };
	if (typeof raw !== 'string') return { problem: `is ${kindOf(raw)}, not an ID` };
	// Checked before trimming: trim() would silently drop a BOM and keep a zero-width space.
	const invisible = formatCharacterProblem(raw);
	if (invisible !== undefined) return { problem: invisible };
	const id = raw.trim();
	const problem = idProblem(id);
	return problem === undefined ? { id } : { problem };
}

/**
 * Reads an item's ID. Safe whole numbers are taken as text; surrounding spaces are dropped;
 * everything else that cannot be an ID makes the item invalid before anything is sent.
 */
function readId(
	ctx: IExecuteFunctions,
	itemIndex: number,
	{ idParameter, idLabel }: Pick<ErasureOperation, 'idParameter' | 'idLabel'>,
	rawId: unknown,
): string {
	const reading = idOrProblem(rawId);
	if ('id' in reading) return reading.id;
	const fix = `Set ${idLabel} to the field that holds the ID, e.g. {{ $json.${idParameter} }}.`;
	throw new NodeOperationError(ctx.getNode(), `${idLabel} ${reading.problem} (item ${itemIndex})`, {
		itemIndex,
		description: `Nothing was sent for this item. ${fix}`,
	});
}

export function readSkipDeleteRecord(ctx: IExecuteFunctions, itemIndex: number): boolean {
	const value = readParameter(ctx, 'skipDeleteRecord', itemIndex, false);
	if (typeof value !== 'boolean') {
		throw new NodeOperationError(
			ctx.getNode(),
			`Keep Recording is ${kindOf(value)}, not true or false (item ${itemIndex})`,
			{
				itemIndex,
				description: 'Nothing was sent for this item. Set Keep Recording to true or false.',
			},
		);
	}
	return value;
}

interface ItemOptions {
	dryRun?: boolean;
	ignoreNotFound?: boolean;
	concurrency?: number;
	maxRetries?: number;
	timeout?: number;
	maxWait?: number;
}

function itemOptions(ctx: IExecuteFunctions, itemIndex: number): ItemOptions {
	return readParameter(ctx, 'options', itemIndex, {}) as ItemOptions;
}

export interface RunSettings extends TransportSettings {
	/** Items worked on at once: read, waiting for their turn, or in flight. */
	concurrency: number;
}

/** A numeric option as a whole number within its bounds; its default when it is no number. */
function bounded(name: NumericOption, value: unknown): number {
	const { min, max, default: fallback } = OPTION_BOUNDS[name];
	const number = typeof value === 'number' && Number.isFinite(value) ? Math.floor(value) : fallback;
	return Math.min(max, Math.max(min, number));
}

/** Run-wide options are read once, from the first item: one run has one pace. */
export function readRunSettings(ctx: IExecuteFunctions): RunSettings {
	const options = itemOptions(ctx, 0);
	return {
		concurrency: bounded('concurrency', options.concurrency),
		maxRetries: bounded('maxRetries', options.maxRetries),
		timeoutMs: bounded('timeout', options.timeout),
		maxWaitMs: bounded('maxWait', options.maxWait) * 1000,
	};
}

/** What the node will do for one item, decided when the item's turn comes. */
export type ItemPlan =
	| {
			kind: 'send';
			id: string;
			request: PlannedRequest;
			recordDeleted: boolean;
			ignoreNotFound: boolean;
	  }
	| { kind: 'dryRun'; id: string; request: PlannedRequest }
	| { kind: 'invalid'; error: NodeOperationError; rawId: unknown };

export type SendPlan = Extract<ItemPlan, { kind: 'send' }>;

/** Reads one item's parameters, each once, and decides what to do for it. */
export function planItem(
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
		const invalid =
			error instanceof NodeOperationError
				? error
				: new NodeOperationError(ctx.getNode(), error as Error, { itemIndex });
		return { kind: 'invalid', error: invalid, rawId };
	}
}
