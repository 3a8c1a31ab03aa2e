import type { IExecuteFunctions, JsonObject } from 'n8n-workflow';

/**
 * Nothing Twin24 confirmed is sent again. Within a run, one request goes out per distinct erasure
 * and its repeats share its result; two different erasures of one ID go one after the other. And
 * n8n itself runs a node again within one execution (Retry On Fail, the re-run after the first
 * item's error, Loop Over Items, an agent's tool calls, and the retry of a failed execution, which
 * carries the execution's data over): what the earlier runs learned is read back from there.
 */

/** A run has one operation, so the ID and the Keep Recording flag tell two erasures apart. */
export function erasureKey(id: string, body: JsonObject | undefined): string {
	const keep = body?.skipDeleteRecord;
	return `${keep === true ? 'k' : keep === false ? 'd' : '-'}${id}`;
}

/** The erasures of one run: which item asked first, who waits for its result, what is in flight. */
export class Repeats {
	private readonly firstItemOfErasure = new Map<string, number>();
	private readonly waiting = new Map<number, number[]>();
	private readonly inFlightById = new Map<string, Promise<unknown>>();

	/** The item that asked for this erasure first in this run; none yet, and `itemIndex` is it. */
	claim(key: string, itemIndex: number): number | undefined {
		const first = this.firstItemOfErasure.get(key);
		if (first === undefined) this.firstItemOfErasure.set(key, itemIndex);
		return first;
	}

	/** `repeat` gets `first`'s result once there is one. */
	waitFor(repeat: number, first: number): void {
		const waiting = this.waiting.get(first) ?? [];
		waiting.push(repeat);
		this.waiting.set(first, waiting);
	}

	/** The repeats that waited for `first`'s result, which they get now. */
	takeWaiting(first: number): number[] {
		const waiting = this.waiting.get(first) ?? [];
		this.waiting.delete(first);
		return waiting;
	}

	/** The request in flight for `id`, if any. */
	inFlight(id: string): Promise<unknown> | undefined {
		return this.inFlightById.get(id);
	}

	async track<T>(id: string, sending: Promise<T>): Promise<T> {
		this.inFlightById.set(id, sending);
		try {
			return await sending;
		} finally {
			this.inFlightById.delete(id);
		}
	}
}

/**
 * What an earlier run of this node, in this execution, learned about one erasure. `interruptedRun`:
 * Twin24 answered 404 while this execution went on from a run n8n could not finish, which may
 * have erased it (see `continuesInterruptedRun`).
 */
export type EarlierResult =
	| {
			kind: 'done' | 'answerLost' | 'notFound' | 'interruptedRun';
			confirmedAt: string;
			attempts: number;
	  }
	/** It failed or was interrupted after an attempt Twin24 may have carried out. */
	| { kind: 'mayBeDone' };

const CONTEXT_KEY = 'twin24Erasures';
/** Set in the node's context once a run found that this execution goes on from an interrupted run. */
const INTERRUPTED_MARK = 'twin24InterruptedRun';

const CODES = {
	done: 'd',
	answerLost: 'l',
	notFound: 'n',
	interruptedRun: 'i',
	mayBeDone: 'm',
} as const;
const KINDS = new Map<string, EarlierResult['kind']>(
	Object.entries(CODES).map(([kind, code]) => [code, kind as EarlierResult['kind']]),
);

/** `d` + the confirmation time in base 36 + `.` + attempts: about 12 characters per erasure. */
function encode(result: EarlierResult): string {
	if (result.kind === 'mayBeDone') return CODES.mayBeDone;
	return `${CODES[result.kind]}${Date.parse(result.confirmedAt).toString(36)}.${result.attempts}`;
}

function decode(entry: unknown): EarlierResult | undefined {
	if (typeof entry !== 'string') return undefined;
	const kind = KINDS.get(entry.charAt(0));
	if (kind === 'mayBeDone') return { kind };
	const match = /^(\w+)\.(\d+)$/.exec(entry.slice(1));
	if (kind === undefined || match === null) return undefined;
	const confirmedAt = new Date(parseInt(match[1], 36));
	if (Number.isNaN(confirmedAt.getTime())) return undefined;
	return { kind, confirmedAt: confirmedAt.toISOString(), attempts: Number(match[2]) };
}

function objectAt(holder: Record<string, unknown>, key: string): Record<string, unknown> {
	const value = holder[key];
	if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
		return value as Record<string, unknown>;
	}
	const created: Record<string, unknown> = {};
	holder[key] = created;
	return created;
}

/** n8n's per-execution context of this node; a run-local stand-in where there is none. */
function nodeContext(ctx: IExecuteFunctions): Record<string, unknown> {
	try {
		return ctx.getContext('node') as Record<string, unknown>;
	} catch {
		return {};
	}
}

/**
 * Whether n8n's execution data holds a run of this node: true for an earlier run in this execution,
 * also one that n8n's crash recovery found started and not finished (the retry of a crashed
 * execution keeps that entry, without the node's results), false where the node never ran.
 */
function nodeRanBefore(ctx: IExecuteFunctions): boolean {
	try {
		const select: unknown = ctx.getWorkflowDataProxy(0).$;
		if (typeof select !== 'function') return false;
		const node = (select as (name: string) => unknown)(ctx.getNode().name);
		return (node as { isExecuted?: unknown } | undefined)?.isExecuted === true;
	} catch {
		return false;
	}
}

/**
 * Whether this execution goes on from a run of this node that n8n could not finish (n8n was killed
 * or restarted mid-run). n8n saves a node's context only with a node that finished, and every run
 * leaves its record there first thing (see startRecord). So a retry (mode `retry`) in which the
 * node ran before but left no record continues a run whose record was lost: that run may have
 * erased any item, and a 404 is no failure.
 */
function continuesInterruptedRun(
	ctx: IExecuteFunctions,
	context: Record<string, unknown>,
): boolean {
	if (context[INTERRUPTED_MARK] === true) return true;
	if (ctx.getMode() !== 'retry' || context[CONTEXT_KEY] !== undefined) return false;
	return nodeRanBefore(ctx);
}

/**
 * The first thing a run does, before anything can fail: it finds whether the execution goes on
 * from an interrupted run, and marks it in the node's context, so that later runs in this
 * execution (Retry On Fail, Loop Over Items, a retry of this retry) still know it; and it leaves
 * its (empty) record, so that a run that ends in any way n8n saves is never taken for interrupted.
 */
export function startRecord(ctx: IExecuteFunctions): void {
	const context = nodeContext(ctx);
	if (continuesInterruptedRun(ctx, context)) context[INTERRUPTED_MARK] = true;
	objectAt(context, CONTEXT_KEY);
}

/**
 * The results earlier runs of this node left in the node's execution context, which n8n keeps for
 * the execution and saves with it: per operation and account, one short entry per erasure. It
 * holds IDs, times and counts, never a token.
 */
export class EarlierRuns {
	private readonly entries: Record<string, unknown>;
	/** An earlier run was interrupted before n8n saved its record (marked by startRecord). */
	readonly continuesInterruptedRun: boolean;

	/** `scope` names the operation and the Twin24 account: another account has other data. */
	constructor(ctx: IExecuteFunctions, scope: string) {
		const context = nodeContext(ctx);
		this.continuesInterruptedRun = context[INTERRUPTED_MARK] === true;
		this.entries = objectAt(objectAt(context, CONTEXT_KEY), scope);
	}

	find(key: string): EarlierResult | undefined {
		return decode(this.entries[key]);
	}

	remember(key: string, result: EarlierResult): void {
		this.entries[key] = encode(result);
	}
}
