/**
 * The pacing part of `npm run bench`: the machine's no-limit capacity, each way the simulator has
 * of saying "slow down" (the shapes of rate limit, nginx's limit_req, 503 overload, Retry-After
 * forms, announced windows, a cap on requests in flight, a shared limit, a burst of executions,
 * refusal bodies), two executions sharing one account, runs of the node that follow one another
 * (executions back to back, Loop Over Items), and the longest event-loop stall at 20,000 items.
 * Figures come from the simulator's own log, not from the node; the full suite also draws them
 * (docs/images/pacing.svg). `--rows` lists the rows with their settings, floors and targets.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { RateLimitSetting, RecordedRequest } from '../test/simulator/simulator';
import type { ChartPanel } from './pacing-chart';
import { isRefusal, pacingChart } from './pacing-chart';

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

/** The simulator's latency in every row: a nearby API, and what the floors above assume. */
const LATENCY_MS = 20;
/** The node's default Concurrency, which the issue's rows use. */
const DEFAULT_CONCURRENCY = 10;
/** IDs per row of the issue's table: several seconds at 100/s, long enough to find a pace in. */
const ISSUE_ITEMS = 600;

/** What a row must reach: its ratio to the floor and its share of refused requests at most. */
interface Targets {
	floorRatio: number;
	refusedPercent: number;
}

/** Any limit: 1.20 × its floor, 5 % refused (0 failed, 0 sent twice for every row). */
const ANY_LIMIT: Targets = { floorRatio: 1.2, refusedPercent: 5 };
/** A server that announces its limit leaves little reason to be refused. */
const ANNOUNCED: Targets = { floorRatio: 1.2, refusedPercent: 2 };
/** A token bucket admits its rate from the start: nothing to find out but the rate. */
const BUCKET: Targets = { floorRatio: 1.1, refusedPercent: 3 };
/** Runs after the first take up the pace it found: at most this much slower than one run. */
const FOLLOWING_RATIO = 1.15;

function targetsOf(shape: Shape): Targets {
	if (shape.targets !== undefined) return shape.targets;
	const setting = shape.rateLimit;
	const announced = (setting.headers ?? 'none') !== 'none';
	const bucket = setting.shape === 'tokenBucket';
	return {
		floorRatio: bucket ? BUCKET.floorRatio : ANY_LIMIT.floorRatio,
		refusedPercent: Math.min(
			bucket ? BUCKET.refusedPercent : ANY_LIMIT.refusedPercent,
			announced ? ANNOUNCED.refusedPercent : ANY_LIMIT.refusedPercent,
		),
	};
}

function targetText(targets: Targets, versus = 'floor'): string {
	return `≤ ${targets.floorRatio.toFixed(2)} × ${versus}, ≤ ${targets.refusedPercent} %`;
}

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
	/** How `limitFloor` is worked out, for `--rows`. */
	floorFormula: string;
	/**
	 * The targets, when not the shape's own: the issue's new bucket rows get those of any limit; the
	 * tighter token-bucket ones are kept by the rows that met them before.
	 */
	targets?: Targets;
	/** The no-limit capacity the floor is also held to, at this concurrency (default the row's). */
	capacityConcurrency?: number;
	change?: LimitChange;
	/** `items` executions of one ID each, started at once on one account, instead of one execution. */
	crowd?: boolean;
	/** The rate the chart draws, when not the setting's: what is left to the node, or a cap's. */
	chartRate?: number;
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
		floorFormula:
			direction === 'rises'
				? 'the items the old rate admits until the rise (less the warm-up gap) at it, the rest at the new rate'
				: 'the items the old rate admits until the fall (less the warm-up gap) at it, (old − new) / old s for the full window to drain, the rest at the new rate',
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

/**
 * A fixed window counted from the warm-up request: the measured run starts `gapSeconds` into it,
 * the warm-up took one of the first window's. The limit alone sends the last item at the start of
 * the window it falls in.
 */
function fixedWindowFloor(
	items: number,
	perWindow: number,
	windowSeconds: number,
	gapSeconds: number,
): number {
	let window = Math.floor(gapSeconds / windowSeconds);
	let left = items - (perWindow - (window === 0 ? 1 : 0));
	// Bounded: one turn per window the items need.
	for (; left > 0; left -= perWindow) window++;
	return Math.max(0, window * windowSeconds - gapSeconds);
}

const FIXED_WINDOW_FORMULA =
	'start of the window the last item falls in − the warm-up gap (windows count from the warm-up request, which took one)';

function fixedWindow(
	title: string,
	perWindow: number,
	windowSeconds: number,
	extra: Partial<RateLimitSetting>,
): Shape {
	return {
		title,
		concurrency: DEFAULT_CONCURRENCY,
		items: ISSUE_ITEMS,
		rateLimit: {
			requestsPerSecond: perWindow / windowSeconds,
			shape: 'fixedWindow',
			windowSeconds,
			...extra,
		},
		limitFloor: (items, gap) => fixedWindowFloor(items, perWindow, windowSeconds, gap),
		floorFormula: FIXED_WINDOW_FORMULA,
	};
}

/** A token bucket of 100/s, burst 5, refusing as `refusal` says: the issue's Retry-After rows. */
function smallBucket(title: string, refusal: Partial<RateLimitSetting>, forcedWait = 0): Shape {
	const burst = 5;
	return {
		title,
		concurrency: DEFAULT_CONCURRENCY,
		items: ISSUE_ITEMS,
		rateLimit: { requestsPerSecond: 100, shape: 'tokenBucket', burst, ...refusal },
		targets: ANY_LIMIT,
		limitFloor: (items) => (items - burst) / 100 + forcedWait,
		floorFormula:
			forcedWait > 0
				? `(N − burst) / rate + ${forcedWait} s (the first refusal's Retry-After, whatever the bucket's wait)`
				: '(N − burst) / rate',
	};
}

/** A sliding window of 100/s, refusing as `refusal` says. */
function slidingWindow(title: string, refusal: Partial<RateLimitSetting>, forcedWait = 0): Shape {
	return {
		title,
		concurrency: DEFAULT_CONCURRENCY,
		items: ISSUE_ITEMS,
		rateLimit: { requestsPerSecond: 100, ...refusal },
		limitFloor: (items) => items / 100 + forcedWait,
		floorFormula:
			forcedWait > 0
				? `N / rate + ${forcedWait} s (the first refusal's Retry-After, whatever the window's wait)`
				: 'N / rate',
	};
}

/** A common limit_req setting (`rate=50r/s burst=5 nodelay`): half the other rows' rate, a small burst. */
const NGINX = { rate: 50, burst: 5 };
/** A cap of 4: the 5th request in flight is refused. */
const IN_FLIGHT_CAP = 4;
/** The CRM's burst: one execution per ID, all at once, and the limit they share (the issue's 30 s). */
const CRM = { executions: 300, limit: 10 };
/** Another client of the same account uses half of a 100/s sliding window. */
const SHARED_LIMIT = { limit: 100, background: 50 };

/** The ways of saying "slow down" the project's issue lists, each a row. */
const ISSUE_SHAPES: Shape[] = [
	{
		title: `nginx limit_req ${NGINX.rate} r/s, burst ${NGINX.burst} nodelay (503, HTML page, no Retry-After)`,
		concurrency: DEFAULT_CONCURRENCY,
		items: ISSUE_ITEMS,
		rateLimit: { requestsPerSecond: NGINX.rate, shape: 'leakyBucket', burst: NGINX.burst },
		limitFloor: (items) => (items - NGINX.burst - 1) / NGINX.rate,
		floorFormula: '(N − burst − 1) / rate (1 + burst pass at once, then one per 1/rate)',
	},
	slidingWindow(
		'overload: 503 + Retry-After 1, JSON (sliding window 100/s)',
		{
			status: 503,
			retryAfterSeconds: 1,
		},
		1,
	),
	smallBucket(
		'429 + HTTP-date Retry-After 2 s ahead (bucket 100/s, burst 5)',
		{
			retryAfter: 'http-date',
			retryAfterSeconds: 2,
		},
		2,
	),
	fixedWindow('fixed window 100 per 1 s announced by X-RateLimit-*', 100, 1, { headers: 'x' }),
	fixedWindow('fixed window 100 per 1 s announced by the IETF RateLimit field', 100, 1, {
		headers: 'ietf-combined',
	}),
	{
		title: `at most ${IN_FLIGHT_CAP} in flight: the ${IN_FLIGHT_CAP + 1}th gets 429, no Retry-After, no rate`,
		concurrency: DEFAULT_CONCURRENCY,
		items: ISSUE_ITEMS,
		// The cap has no rate: the setting's is not read; the chart draws what the cap lets through.
		rateLimit: { requestsPerSecond: 1, shape: 'inFlight', maxInFlight: IN_FLIGHT_CAP },
		limitFloor: (items) => (items * LATENCY_MS) / 1000 / IN_FLIGHT_CAP,
		// What this machine sends with the cap's number in flight and no limit: its own overhead
		// per request (a new connection, the engine) comes on top of the latency.
		capacityConcurrency: IN_FLIGHT_CAP,
		floorFormula: `max(N × latency / cap, N / the no-limit capacity at concurrency ${IN_FLIGHT_CAP})`,
		chartRate: (IN_FLIGHT_CAP * 1000) / LATENCY_MS,
	},
	{
		title: `CRM burst: ${CRM.executions} one-ID executions at once, sliding window ${CRM.limit}/s`,
		concurrency: DEFAULT_CONCURRENCY,
		items: CRM.executions,
		rateLimit: { requestsPerSecond: CRM.limit },
		limitFloor: (items) => items / CRM.limit,
		floorFormula: 'executions / rate',
		crowd: true,
	},
	fixedWindow('per-"minute" fixed window: 250 per 10 s, Retry-After to its end', 250, 10, {}),
	{
		title: `sliding window ${SHARED_LIMIT.limit}/s, another client using ${SHARED_LIMIT.background}/s of it`,
		concurrency: DEFAULT_CONCURRENCY,
		items: ISSUE_ITEMS,
		rateLimit: {
			requestsPerSecond: SHARED_LIMIT.limit,
			backgroundPerSecond: SHARED_LIMIT.background,
		},
		limitFloor: (items) => items / (SHARED_LIMIT.limit - SHARED_LIMIT.background),
		floorFormula: 'N / (rate − the other client’s rate)',
		chartRate: SHARED_LIMIT.limit - SHARED_LIMIT.background,
	},
	smallBucket('429 HTML page + Retry-After 0 (bucket 100/s, burst 5)', {
		body: 'html',
		retryAfterSeconds: 0,
	}),
	slidingWindow('503 text/plain + Retry-After in seconds (sliding window 100/s)', {
		status: 503,
		body: 'text',
	}),
	slidingWindow('429 empty body, no Retry-After (sliding window 100/s)', {
		body: 'empty',
		retryAfter: 'none',
	}),
	smallBucket(
		'429 JSON + Retry-After 10 whatever the wait (bucket 100/s, burst 5)',
		{
			retryAfterSeconds: 10,
		},
		10,
	),
];

const SHAPES: Shape[] = [
	{
		title: 'sliding window 100/s',
		concurrency: 10,
		items: 800,
		rateLimit: { requestsPerSecond: 100 },
		limitFloor: (items) => items / 100,
		floorFormula: 'N / rate',
	},
	...[10, 50].map((concurrency): Shape => ({
		title: 'token bucket 100/s, burst 20',
		concurrency,
		items: 800,
		rateLimit: { requestsPerSecond: 100, shape: 'tokenBucket', burst: 20 },
		limitFloor: (items) => (items - 20) / 100,
		floorFormula: '(N − burst) / rate',
	})),
	changingLimit({ afterMs: 3000, from: 30, to: 90 }, ISSUE_ITEMS),
	changingLimit({ afterMs: 3000, from: 100, to: 40 }, 700),
	...[20, 100].map((burst): Shape => ({
		title: `429 without Retry-After (bucket 100/s, burst ${burst})`,
		concurrency: 50,
		items: 800,
		rateLimit: { requestsPerSecond: 100, shape: 'tokenBucket', burst, retryAfter: 'none' },
		limitFloor: (items) => (items - burst) / 100,
		floorFormula: '(N − burst) / rate',
	})),
	...ISSUE_SHAPES,
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

const SHARED = { limit: 100, first: 300, second: 900, concurrency: 10 };
const SHARED_TITLE = `two executions, one account (${SHARED.first} + ${SHARED.second} items, ${SHARED.limit}/s)`;
const STALL_ITEMS = 20000;

const HEADER = [
	'situation',
	'conc.',
	'items',
	'wall',
	'sending',
	'floor',
	'× floor',
	'refused',
	'failed',
	'sent twice',
	'targets (0 failed, 0 twice)',
	'met',
	'',
] as const;

/** A row of the table: a cell under each heading. */
type Row = Cells<typeof HEADER>;
/** A string for each element of a tuple (mapped over a type parameter, so it stays a tuple). */
type Cells<Headings extends readonly string[]> = { -readonly [Column in keyof Headings]: string };

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
	/** List the rows (title, setting, floor, targets) and run nothing. */
	listRows?: boolean;
}

export async function runPacingSuite(tools: BenchTools, choice: PacingChoice): Promise<void> {
	const { only, trace = false, stallItems } = choice;
	if (stallItems !== undefined) return await printStall(tools, stallItems);
	const wanted = (title: string) => only === undefined || title.includes(only);
	if (choice.listRows === true) return printRows(wanted);
	console.log(
		`\nPacing: simulator latency ${LATENCY_MS} ms, the node's default options but Concurrency; each row's targets beside it`,
	);
	const capacity = await measureCapacity(tools);
	console.log(
		`  no-limit capacity of this machine: ${capacity.get(10)?.toFixed(0)} req/s at concurrency 10, ` +
			`${capacity.get(50)?.toFixed(0)} req/s at 50 (2,000 items), ` +
			`${capacity.get(IN_FLIGHT_CAP)?.toFixed(0)} req/s at ${IN_FLIGHT_CAP} (500 items)`,
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

/** `--rows`: each row's title (what `--shape` matches), setting, floor and targets. */
function printRows(wanted: (title: string) => boolean): void {
	console.log(
		`\nPacing rows (simulator latency ${LATENCY_MS} ms; floor = max(limit alone, N / no-limit capacity)):`,
	);
	for (const shape of SHAPES.filter((candidate) => wanted(candidate.title))) {
		const what = shape.crowd === true ? `${shape.items} executions of 1` : `${shape.items} items`;
		console.log(
			`  ${shape.title}\n    ${what}, Concurrency ${shape.concurrency}, rateLimit ${JSON.stringify(shape.rateLimit)}`,
		);
		console.log(`    floor: ${shape.floorFormula}; targets: ${targetText(targetsOf(shape))}`);
	}
	if (wanted(SHARED_TITLE))
		console.log(`  ${SHARED_TITLE}\n    floor: N / rate; targets: ${targetText(ANY_LIMIT)}`);
	for (const { title } of FOLLOWING_JOBS.filter((job) => wanted(job.title)))
		console.log(`  ${title}\n    floor: (N − burst) / rate; targets: ${followingTargets(title)}`);
}

function followingTargets(title: string): string {
	if (title === FOLLOWING_JOBS[0].title) return targetText(BUCKET);
	return `≤ ${FOLLOWING_RATIO.toFixed(2)} × the one execution, ≤ ${BUCKET.refusedPercent} %`;
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
		note: `${ratio} × floor, ${refused} refused`,
		log: log.slice(1),
		limitAt,
	};
}

function shapeLimitAt(shape: Shape): (ms: number) => number {
	const { change } = shape;
	const rate = shape.chartRate ?? shape.rateLimit.requestsPerSecond;
	if (change === undefined) return () => rate;
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
	// Fewer items at the cap's concurrency: at 4 in flight 2,000 would take a quarter minute.
	for (const [concurrency, items] of [
		[10, 2000],
		[50, 2000],
		[IN_FLIGHT_CAP, 500],
	]) {
		await prepare(tools, null, LATENCY_MS);
		const result = await tools.measure({ items, concurrency });
		capacity.set(concurrency, items / (result.wallMs / 1000));
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
		/** Every refusal, whatever its status (429, or 503 for some limits). */
		refused: measured.filter((entry) => isRefusal(entry.status)).length,
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
	const result = await tools.measure(jobOf(shape));
	const figures = await simulatorFigures(tools);
	const floorSeconds = Math.max(
		shape.limitFloor(shape.items, figures.gapSeconds),
		shape.items /
			(capacity.get(shape.capacityConcurrency ?? shape.concurrency) ?? Number.POSITIVE_INFINITY),
	);
	const note = result.error ?? (shape.change ? changeNote(shape.change, figures.log) : '');
	if (trace) console.log(`  ${shape.title}: ${traceOf(figures.log)}`);
	const what = { title: shape.title, concurrency: String(shape.concurrency), items: shape.items };
	const check = { targets: targetsOf(shape) };
	const measured = row(what, result, figures, floorSeconds, note, check);
	return { row: measured, panel: panelOf(measured, figures.log, shapeLimitAt(shape)) };
}

/** One execution of the shape's items, or (a crowd) as many executions of one ID each, at once. */
function jobOf(shape: Shape): PacingJob {
	if (shape.crowd !== true) return { items: shape.items, concurrency: shape.concurrency };
	const executions = Array.from({ length: shape.items }, (_, index) => ({
		prefix: `crowd${index}`,
		items: 1,
		concurrency: shape.concurrency,
	}));
	return { items: 0, concurrency: shape.concurrency, executions };
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
		const versusOne = result.wallMs / oneExecutionMs;
		const versus = isReference ? '' : `${versusOne.toFixed(3)} × the one execution`;
		const what = { title, concurrency: String(FOLLOWING.concurrency), items: FOLLOWING.items };
		const check = isReference
			? { targets: BUCKET }
			: {
					targets: { floorRatio: FOLLOWING_RATIO, refusedPercent: BUCKET.refusedPercent },
					ratio: versusOne,
					versus: 'the one execution',
				};
		const entry = row(what, result, figures, floorSeconds, result.error ?? versus, check);
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

/** A row's targets, and the ratio they hold against when it is not wall / floor. */
interface Check {
	targets: Targets;
	ratio?: number;
	versus?: string;
}

function row(
	what: { title: string; concurrency: string; items: number },
	result: PacingResult,
	figures: Awaited<ReturnType<typeof simulatorFigures>>,
	floorSeconds: number,
	note: string,
	check: Check,
): Row {
	const ratio = result.wallMs / 1000 / floorSeconds;
	const refusedPercent = (100 * figures.refused) / Math.max(1, figures.requests);
	const met =
		(check.ratio ?? ratio) <= check.targets.floorRatio &&
		refusedPercent <= check.targets.refusedPercent &&
		result.failed === 0 &&
		figures.state.duplicateErasures === 0;
	return [
		what.title,
		what.concurrency,
		String(what.items),
		seconds(result.wallMs),
		seconds(figures.sendingMs),
		seconds(floorSeconds * 1000),
		ratio.toFixed(3),
		percent(figures.refused, figures.requests),
		String(result.failed),
		String(figures.state.duplicateErasures),
		targetText(check.targets, check.versus),
		met ? 'yes' : 'NO',
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
	const check = { targets: ANY_LIMIT };
	const measured = row(what, result, figures, floorSeconds, result.error ?? note, check);
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
		if (isRefusal(entry.status)) counts[slot].refused++;
		else counts[slot].admitted++;
	}
	return Array.from(counts, (count, slot) => {
		const { admitted, refused } = count ?? { admitted: 0, refused: 0 };
		return `${slot / 2}s:${admitted}/${refused}`;
	}).join(' ');
}
