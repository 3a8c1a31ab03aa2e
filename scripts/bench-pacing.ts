/**
 * The pacing part of `npm run bench`: the machine's no-limit capacity, each shape of rate limit
 * the simulator has, two executions sharing one account, and the longest event-loop stall at
 * 20,000 items. Figures come from the simulator's own log, not from the node.
 */
import type { RateLimitSetting, RecordedRequest } from '../test/simulator/simulator';

export interface PacingJob {
	items: number;
	concurrency: number;
	executions?: Array<{ prefix: string; items: number; concurrency: number }>;
	measureStall?: boolean;
}

export interface PacingResult {
	wallMs: number;
	failed: number;
	error?: string;
	stallMs?: number;
	executions?: Array<{ prefix: string; wallMs: number }>;
}

/** What bench.ts lends: the simulator's control API and a measured run in a fresh process. */
export interface BenchTools {
	control(action: string, body?: unknown): Promise<unknown>;
	measure(job: PacingJob): Promise<PacingResult>;
}

const LATENCY_MS = 20;
const TARGETS = 'targets: ≤ 1.15 × floor, ≤ 3 % answered 429, 0 failed, 0 sent twice';

interface LimitChange {
	afterMs: number;
	from: number;
	to: number;
}

interface Shape {
	title: string;
	concurrency: number;
	items: number;
	rateLimit: RateLimitSetting;
	/** Seconds the limit alone needs for the measured items, given the warm-up gap in seconds. */
	limitFloor: (items: number, gapSeconds: number) => number;
	change?: LimitChange;
}

function changingLimit(change: LimitChange, items: number): Shape {
	const direction = change.to > change.from ? 'rises' : 'falls';
	return {
		title: `limit ${direction} ${change.from}/s → ${change.to}/s after ${change.afterMs / 1000} s`,
		concurrency: 10,
		items,
		rateLimit: {
			requestsPerSecond: change.from,
			schedule: [{ afterMs: change.afterMs, requestsPerSecond: change.to }],
		},
		limitFloor: (measured, gapSeconds) => {
			const before = Math.max(0, change.afterMs / 1000 - gapSeconds);
			const first = Math.min(measured, before * change.from);
			// After a fall a sliding window full at the old rate admits nothing until it holds fewer
			// than the new limit: a sender that cannot see the fall coming waits that long.
			const drain = measured > first ? Math.max(0, (change.from - change.to) / change.from) : 0;
			return first / change.from + drain + (measured - first) / change.to;
		},
		change,
	};
}

const SHAPES: Shape[] = [
	{
		title: 'sliding window 100/s',
		concurrency: 10,
		items: 800,
		rateLimit: { requestsPerSecond: 100 },
		limitFloor: (items) => items / 100,
	},
	...[10, 50].map((concurrency): Shape => ({
		title: 'token bucket 100/s, burst 20',
		concurrency,
		items: 800,
		rateLimit: { requestsPerSecond: 100, shape: 'tokenBucket', burst: 20 },
		limitFloor: (items) => (items - 20) / 100,
	})),
	changingLimit({ afterMs: 3000, from: 30, to: 90 }, 700),
	changingLimit({ afterMs: 3000, from: 100, to: 40 }, 700),
	{
		title: '429 without Retry-After (bucket 100/s, burst 20)',
		concurrency: 50,
		items: 800,
		rateLimit: { requestsPerSecond: 100, shape: 'tokenBucket', burst: 20, retryAfter: 'none' },
		limitFloor: (items) => (items - 20) / 100,
	},
];

const SHARED = { limit: 100, first: 300, second: 900, concurrency: 10 };
const SHARED_TITLE = `two executions, one account (${SHARED.first} + ${SHARED.second} items, ${SHARED.limit}/s)`;
const STALL_ITEMS = 20000;

type Row = [string, string, string, string, string, string, string, string, string, string, string];

const HEADER: Row = [
	'situation',
	'conc.',
	'items',
	'wall',
	'sending',
	'floor',
	'× floor',
	'429s',
	'failed',
	'sent twice',
	'',
];

function seconds(ms: number): string {
	return `${(ms / 1000).toFixed(2)} s`;
}

function printTable(rows: Row[]): void {
	const widths = HEADER.map((_, column) =>
		Math.max(...[HEADER, ...rows].map((row) => row[column].length)),
	);
	for (const row of [HEADER, ...rows]) {
		console.log(`  ${row.map((cell, column) => cell.padEnd(widths[column])).join('  ')}`.trimEnd());
	}
}

/** Admitted erasures (answered 200) in the order they reached the simulator. */
function admittedTimes(log: readonly RecordedRequest[], prefix = ''): number[] {
	return log
		.filter((entry) => entry.status === 200 && entry.route !== 'login')
		.filter((entry) => (entry.id ?? '').startsWith(prefix))
		.map((entry) => entry.startedAt)
		.sort((a, b) => a - b);
}

/** How long after `from` the admitted rate over a trailing second first reached `rate`. */
function timeToReach(times: readonly number[], rate: number, from: number): number | undefined {
	let windowStart = 0;
	for (let index = 0; index < times.length; index++) {
		while (times[windowStart] <= times[index] - 1000) windowStart++;
		if (times[index] >= from && index - windowStart + 1 >= rate) return times[index] - from;
	}
	return undefined;
}

export interface PacingChoice {
	/** Run just the rows whose title contains this (and skip the stall), to try one shape. */
	only?: string;
	/** Print each shape's admitted and refused requests per half second. */
	trace?: boolean;
	/** Measure only the longest event-loop stall, with this many items. */
	stallItems?: number;
}

export async function runPacingSuite(tools: BenchTools, choice: PacingChoice): Promise<void> {
	const { only, trace = false, stallItems } = choice;
	if (stallItems !== undefined) return await printStall(tools, stallItems);
	const wanted = (title: string) => only === undefined || title.includes(only);
	console.log(
		`\nPacing: simulator latency ${LATENCY_MS} ms, the node's default options but Concurrency; ${TARGETS}`,
	);
	const capacity = await measureCapacity(tools);
	console.log(
		`  no-limit capacity of this machine: ${capacity.get(10)?.toFixed(0)} req/s at concurrency 10, ` +
			`${capacity.get(50)?.toFixed(0)} req/s at 50 (2,000 items)`,
	);
	const rows: Row[] = [];
	for (const shape of SHAPES.filter((candidate) => wanted(candidate.title)))
		rows.push(await measureShape(tools, shape, capacity, trace));
	if (wanted(SHARED_TITLE)) rows.push(await measureShared(tools));
	printTable(rows);
	if (only === undefined) await printStall(tools, STALL_ITEMS);
}

async function printStall(tools: BenchTools, items: number): Promise<void> {
	const stall = await measureStall(tools, items);
	console.log(
		`  longest event-loop stall, ${items.toLocaleString('en')} items (no latency, no limit): ${stall}`,
	);
}

async function prepare(tools: BenchTools, rateLimit: RateLimitSetting | null, latencyMs: number) {
	await tools.control('reset', {});
	await tools.control('configure', { latencyMs, rateLimit, logBodies: false, logHeaders: false });
}

async function measureCapacity(tools: BenchTools): Promise<Map<number, number>> {
	const capacity = new Map<number, number>();
	for (const concurrency of [10, 50]) {
		await prepare(tools, null, LATENCY_MS);
		const result = await tools.measure({ items: 2000, concurrency });
		capacity.set(concurrency, 2000 / (result.wallMs / 1000));
	}
	return capacity;
}

interface SimulatorState {
	stats: { requests: number; rateLimited: number };
	duplicateErasures: number;
}

async function simulatorFigures(tools: BenchTools) {
	const state = (await tools.control('state')) as SimulatorState;
	const log = (await tools.control('requests')) as RecordedRequest[];
	const measured = log.slice(1); // less the warm-up request
	return {
		state,
		log,
		requests: measured.length,
		rateLimited: measured.filter((entry) => entry.status === 429).length,
		gapSeconds: log.length > 1 ? (log[1].startedAt - log[0].startedAt) / 1000 : 0,
		/** From the first request of the measured run to its last answer, as the simulator saw it. */
		sendingMs:
			measured.length === 0
				? 0
				: Math.max(...measured.map((entry) => entry.finishedAt ?? entry.startedAt)) -
					measured[0].startedAt,
	};
}

function percent(part: number, whole: number): string {
	return `${((100 * part) / Math.max(1, whole)).toFixed(1)} %`;
}

async function measureShape(
	tools: BenchTools,
	shape: Shape,
	capacity: ReadonlyMap<number, number>,
	trace: boolean,
): Promise<Row> {
	await prepare(tools, shape.rateLimit, LATENCY_MS);
	const result = await tools.measure({ items: shape.items, concurrency: shape.concurrency });
	const figures = await simulatorFigures(tools);
	const floorSeconds = Math.max(
		shape.limitFloor(shape.items, figures.gapSeconds),
		shape.items / (capacity.get(shape.concurrency) ?? Number.POSITIVE_INFINITY),
	);
	const note = result.error ?? (shape.change ? changeNote(shape.change, figures.log) : '');
	if (trace) console.log(`  ${shape.title}: ${traceOf(figures.log)}`);
	const what = { title: shape.title, concurrency: String(shape.concurrency), items: shape.items };
	return row(what, result, figures, floorSeconds, note);
}

/** After a rise: how soon 80 % of the new limit was reached; after a fall: the rate held. */
function changeNote(change: LimitChange, log: readonly RecordedRequest[]): string {
	const changedAt = log[0].startedAt + change.afterMs;
	const admitted = admittedTimes(log);
	if (change.to > change.from) {
		const reached = timeToReach(admitted, 0.8 * change.to, changedAt);
		const when = reached === undefined ? 'never reached' : `${seconds(reached)} after the rise`;
		return `80 % of ${change.to}/s ${when}`;
	}
	// From a second after the fall to the last full second of the run.
	const from = changedAt + 1000;
	const to = admitted[admitted.length - 1] - 1000;
	const held = admitted.filter((at) => at > from && at <= to).length / ((to - from) / 1000);
	return `${held.toFixed(1)}/s admitted from 1 s after the fall`;
}

function row(
	what: { title: string; concurrency: string; items: number },
	result: PacingResult,
	figures: Awaited<ReturnType<typeof simulatorFigures>>,
	floorSeconds: number,
	note: string,
): Row {
	return [
		what.title,
		what.concurrency,
		String(what.items),
		seconds(result.wallMs),
		seconds(figures.sendingMs),
		seconds(floorSeconds * 1000),
		(result.wallMs / 1000 / floorSeconds).toFixed(3),
		percent(figures.rateLimited, figures.requests),
		String(result.failed),
		String(figures.state.duplicateErasures),
		note,
	];
}

async function measureShared(tools: BenchTools): Promise<Row> {
	await prepare(tools, { requestsPerSecond: SHARED.limit }, LATENCY_MS);
	const result = await tools.measure({
		items: 0,
		concurrency: SHARED.concurrency,
		executions: [
			{ prefix: 'first', items: SHARED.first, concurrency: SHARED.concurrency },
			{ prefix: 'second', items: SHARED.second, concurrency: SHARED.concurrency },
		],
	});
	const figures = await simulatorFigures(tools);
	const items = SHARED.first + SHARED.second;
	// Each execution alone could send several times the limit (see the capacity above).
	const floorSeconds = items / SHARED.limit;
	const firstEnded = Math.max(
		...figures.log
			.filter((entry) => (entry.id ?? '').startsWith('first-'))
			.map((entry) => entry.finishedAt ?? entry.startedAt),
	);
	const reached = timeToReach(
		admittedTimes(figures.log, 'second-'),
		0.8 * SHARED.limit,
		firstEnded,
	);
	const what = {
		title: SHARED_TITLE,
		concurrency: `${SHARED.concurrency}+${SHARED.concurrency}`,
		items,
	};
	const note = `the one left at 80 % ${reached === undefined ? 'never' : `${seconds(reached)} after the other ended`}`;
	return row(what, result, figures, floorSeconds, result.error ?? note);
}

async function measureStall(tools: BenchTools, items: number): Promise<string> {
	await prepare(tools, null, 0);
	const result = await tools.measure({
		items,
		concurrency: 10,
		measureStall: true,
	});
	return `${(result.stallMs ?? Number.NaN).toFixed(0)} ms (target ≤ 100 ms; run ${seconds(result.wallMs)}, ${result.failed} failed)`;
}

/** Admitted/refused requests per half second from the first request: "0.5s:48/1 …". */
function traceOf(log: readonly RecordedRequest[]): string {
	const start = log[0].startedAt;
	const counts: Array<{ admitted: number; refused: number }> = [];
	for (const entry of log) {
		const slot = Math.floor((entry.startedAt - start) / 500);
		counts[slot] ??= { admitted: 0, refused: 0 };
		if (entry.status === 429) counts[slot].refused++;
		else counts[slot].admitted++;
	}
	return Array.from(counts, (count, slot) => {
		const { admitted, refused } = count ?? { admitted: 0, refused: 0 };
		return `${slot / 2}s:${admitted}/${refused}`;
	}).join(' ');
}
