/**
 * The pacing part of `npm run bench`: the machine's no-limit capacity, each shape of rate limit
 * the simulator has, two executions sharing one account, runs of the node that follow one another
 * (executions back to back, Loop Over Items), and the longest event-loop stall at 20,000 items.
 * Figures come from the simulator's own log, not from the node; the full suite also draws them
 * (docs/images/pacing.svg).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { RateLimitSetting, RecordedRequest } from '../test/simulator/simulator';
import type { ChartPanel } from './pacing-chart';
import { pacingChart } from './pacing-chart';

export interface PacingJob {
	items: number;
	concurrency: number;
	executions?: Array<{ prefix: string; items: number; concurrency: number }>;
	/** Executions one after another, `items` split evenly between them. */
	runs?: number;
	/** One execution looping over `items` in batches of this size. */
	loopBatchSize?: number;
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
	...[20, 100].map((burst): Shape => ({
		title: `429 without Retry-After (bucket 100/s, burst ${burst})`,
		concurrency: 50,
		items: 800,
		rateLimit: { requestsPerSecond: 100, shape: 'tokenBucket', burst, retryAfter: 'none' },
		limitFloor: (items) => (items - burst) / 100,
	})),
];

/** The same IDs as one run of the node, as runs one after another, and as a loop in one execution. */
const FOLLOWING = { items: 1000, runs: 20, limit: 100, burst: 10, concurrency: 10 };
const FOLLOWING_LIMIT: RateLimitSetting = {
	requestsPerSecond: FOLLOWING.limit,
	shape: 'tokenBucket',
	burst: FOLLOWING.burst,
};
const FOLLOWING_SIZE = FOLLOWING.items / FOLLOWING.runs;
const FOLLOWING_JOBS: Array<{ title: string; job: Partial<PacingJob> }> = [
	{
		title: `one execution of ${FOLLOWING.items.toLocaleString('en')} (bucket ${FOLLOWING.limit}/s, burst ${FOLLOWING.burst})`,
		job: {},
	},
	{
		title: `${FOLLOWING.runs} executions of ${FOLLOWING_SIZE}, one after another`,
		job: { runs: FOLLOWING.runs },
	},
	{
		title: `Loop Over Items: ${FOLLOWING.runs} rounds of ${FOLLOWING_SIZE}, one execution`,
		job: { loopBatchSize: FOLLOWING_SIZE },
	},
];

const FOLLOWING_TARGET = 'target ≤ 1.10 × the one execution';

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
	/** Where to write the chart; default docs/images/pacing.svg for the full suite, none with `only`. */
	chart?: string;
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
	const measured: Measured[] = [];
	for (const shape of SHAPES.filter((candidate) => wanted(candidate.title)))
		measured.push(await measureShape(tools, shape, capacity, trace));
	if (wanted(SHARED_TITLE)) measured.push(await measureShared(tools));
	measured.push(...(await measureFollowing(tools, capacity, wanted)));
	printTable(measured.map((entry) => entry.row));
	const chartPath = choice.chart ?? (only === undefined ? DEFAULT_CHART : undefined);
	if (chartPath !== undefined) {
		writeFileSync(chartPath, pacingChart(measured.map((entry) => entry.panel)));
		console.log(`  chart: ${chartPath}`);
	}
	if (only === undefined) await printStall(tools, STALL_ITEMS);
}

/** Compiled to .dev/scripts/: the project's docs/images. */
const DEFAULT_CHART = join(__dirname, '..', '..', 'docs', 'images', 'pacing.svg');

interface Measured {
	row: Row;
	panel: ChartPanel;
}

function panelOf(
	row: Row,
	log: readonly RecordedRequest[],
	limitAt: (ms: number) => number,
): ChartPanel {
	const [title, concurrency, , , , , ratio, refused] = row;
	return {
		title: `${title} (Concurrency ${concurrency})`,
		note: `${ratio} × floor, ${refused} answered 429`,
		log: log.slice(1),
		limitAt,
	};
}

function shapeLimitAt(shape: Shape): (ms: number) => number {
	const { change } = shape;
	if (change === undefined) return () => shape.rateLimit.requestsPerSecond;
	return (ms) => (ms < change.afterMs ? change.from : change.to);
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
): Promise<Measured> {
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
	const measured = row(what, result, figures, floorSeconds, note);
	return { row: measured, panel: panelOf(measured, figures.log, shapeLimitAt(shape)) };
}

/**
 * The same IDs through the same limit as one execution, as executions one after another, and as
 * Loop Over Items rounds in one execution: each run after the first takes up the pace the runs
 * before it found.
 */
async function measureFollowing(
	tools: BenchTools,
	capacity: ReadonlyMap<number, number>,
	wanted: (title: string) => boolean,
): Promise<Measured[]> {
	// All three or none: the one execution is what the others are measured against.
	if (!FOLLOWING_JOBS.some(({ title }) => wanted(title))) return [];
	const measured: Measured[] = [];
	let oneExecutionMs: number | undefined;
	for (const { title, job } of FOLLOWING_JOBS) {
		await prepare(tools, FOLLOWING_LIMIT, LATENCY_MS);
		const result = await tools.measure({
			items: FOLLOWING.items,
			concurrency: FOLLOWING.concurrency,
			...job,
		});
		const figures = await simulatorFigures(tools);
		const isReference = oneExecutionMs === undefined;
		oneExecutionMs ??= result.wallMs;
		const floorSeconds = Math.max(
			(FOLLOWING.items - FOLLOWING.burst) / FOLLOWING.limit,
			FOLLOWING.items / (capacity.get(FOLLOWING.concurrency) ?? Number.POSITIVE_INFINITY),
		);
		const versus = isReference
			? ''
			: `${(result.wallMs / oneExecutionMs).toFixed(3)} × the one execution (${FOLLOWING_TARGET})`;
		const what = { title, concurrency: String(FOLLOWING.concurrency), items: FOLLOWING.items };
		const entry = row(what, result, figures, floorSeconds, result.error ?? versus);
		measured.push({ row: entry, panel: panelOf(entry, figures.log, () => FOLLOWING.limit) });
	}
	return measured;
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

async function measureShared(tools: BenchTools): Promise<Measured> {
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
	const measured = row(what, result, figures, floorSeconds, result.error ?? note);
	return { row: measured, panel: panelOf(measured, figures.log, () => SHARED.limit) };
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
