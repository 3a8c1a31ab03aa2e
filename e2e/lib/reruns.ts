/**
 * When n8n runs the Twin24 node again, inside real n8n, with `n8n execute`: Settings → Retry On
 * Fail with an item that fails once (with and without Continue On Fail), and Settings → On Error →
 * "Continue (using error output)" with a branch on each output. Each checked by what the simulator
 * answered per ID and by every item n8n delivered on every output.
 */
import { callIds } from './queueScenarios';
import { BRANCHES, TWIN24_NODE, rerunWorkflowDocument, type RerunWorkflow } from './rerunWorkflows';
import { answersPerId, printTrace, sameAnswers, timed, type AnswersPerId } from './rerunTrace';
import {
	nodeExecutionTimeMs,
	nodeItems,
	pairedIndex,
	runCount,
	type JsonObject,
	type OutputItem,
} from './runData';
import {
	checkNoSecrets,
	checkPairing,
	executeWorkflow,
	expecter,
	prepare,
	secretsFor,
	type Expect,
	type ScenarioContext,
} from './scenarios';

const RETRY_ON_FAIL = { retryOnFail: true, maxTries: 3, waitBetweenTries: 100 } as const;

interface RetryOnFailCase {
	workflow: RerunWorkflow;
	/** What the simulator knows; the other IDs answer 404. */
	seeded: string[];
	/** Answered 500 once, before it is erased. */
	failsOnce?: string;
	expectedAnswers: AnswersPerId;
	/** Per output item: done, and reported from an earlier try. */
	expectedItems: Array<{ success: boolean; fromEarlierRun: boolean }>;
}

function answered(ids: readonly string[], overrides: AnswersPerId = {}): AnswersPerId {
	return { ...Object.fromEntries(ids.map((id) => [id, [200]])), ...overrides };
}

/**
 * Ten IDs Twin24 knows, item `failing` answered 500 once. Without Continue On Fail the first try
 * stops there, so the items before it come from that try; with it, n8n runs the node again for
 * the failed first item, and every other item comes from the first try.
 */
function failsOnce(
	id: string,
	prefix: string,
	failing: number,
	continueOnFail: boolean,
): RetryOnFailCase {
	const ids = callIds(prefix, 10);
	const onError = continueOnFail ? { onError: 'continueRegularOutput' as const } : {};
	const name = `Retry On Fail${continueOnFail ? ' + Continue On Fail' : ''}, item ${failing} answered 500 once`;
	return {
		workflow: {
			id,
			name,
			source: { kind: 'code', ids },
			settings: { ...RETRY_ON_FAIL, ...onError },
			concurrency: 1,
		},
		seeded: ids,
		failsOnce: ids[failing],
		expectedAnswers: answered(ids, { [ids[failing]]: [500, 200] }),
		expectedItems: ids.map((_, index) => ({
			success: true,
			fromEarlierRun: continueOnFail ? index !== failing : index < failing,
		})),
	};
}

const UNKNOWN_FIRST_IDS = ['unknown-1', ...callIds('runknown', 4)];

const RETRY_ON_FAIL_CASES: readonly RetryOnFailCase[] = [
	failsOnce('tw24RetryOnFail01', 'rof', 5, false),
	failsOnce('tw24RetryOnFail02', 'rfirst', 0, true),
	{
		workflow: {
			id: 'tw24RetryOnFail03',
			name: 'Retry On Fail (3 tries) + Continue On Fail, item 0 an ID Twin24 does not know',
			source: { kind: 'code', ids: UNKNOWN_FIRST_IDS },
			settings: { ...RETRY_ON_FAIL, onError: 'continueRegularOutput' },
			concurrency: 1,
		},
		seeded: UNKNOWN_FIRST_IDS.slice(1),
		expectedAnswers: answered(UNKNOWN_FIRST_IDS, { [UNKNOWN_FIRST_IDS[0]]: [404, 404, 404] }),
		expectedItems: UNKNOWN_FIRST_IDS.map((_, index) => ({
			success: index > 0,
			fromEarlierRun: index > 0,
		})),
	},
];

const ERROR_OUTPUT_IDS = ['rerr-0', 'rerr-unknown', 'rerr-2', 'bad/id', 'rerr-4'];
const ERROR_OUTPUT_WORKFLOW: RerunWorkflow = {
	id: 'tw24ErrorOutput01',
	name: 'error output wired to its own branch',
	source: { kind: 'code', ids: ERROR_OUTPUT_IDS },
	settings: { onError: 'continueErrorOutput' },
	concurrency: 2,
	branches: true,
};

/** The workflows these passes run, for `n8n import:workflow`. */
export function rerunPassWorkflows(): JsonObject[] {
	return [
		...RETRY_ON_FAIL_CASES.map((pass) => rerunWorkflowDocument(pass.workflow)),
		rerunWorkflowDocument(ERROR_OUTPUT_WORKFLOW),
	];
}

function describeFlags(items: readonly OutputItem[]): string {
	return JSON.stringify(items.map((item) => [item.json.success, item.json.fromEarlierRun ?? null]));
}

/** An item an earlier run confirmed keeps that run's result: its time is before the later run's. */
export function checkEarlierResultsKept(expect: Expect, items: readonly OutputItem[]): void {
	const earlier = items.filter((item) => item.json.fromEarlierRun === true);
	const fresh = items.filter((item) => item.json.success === true && !item.json.fromEarlierRun);
	const times = (list: readonly OutputItem[]) =>
		list.map((item) => Date.parse(String(item.json.confirmedAt)));
	expect(
		'items from an earlier run keep its result (recordDeleted, attempts 1, confirmedAt before the next run)',
		earlier.every((item) => item.json.recordDeleted === true && item.json.attempts === 1) &&
			Math.max(...times(earlier)) < Math.min(...times(fresh)),
		JSON.stringify(earlier.map((item) => item.json).slice(0, 2)),
	);
}

async function runRetryOnFailCase(ctx: ScenarioContext, pass: RetryOnFailCase): Promise<void> {
	const expect = expecter(ctx.checks, `${ctx.label} reruns/${pass.workflow.id}`);
	await prepare(ctx.sim, { calls: pass.seeded, hasRecord: true });
	if (pass.failsOnce !== undefined) await ctx.sim.respondFor(pass.failsOnce, { status: 500 });
	ctx.checks.noteRun(`${ctx.label}: ${pass.workflow.name} via n8n execute`);
	const executed = await executeWorkflow(ctx, expect, pass.workflow.id);
	const requests = executed?.requests ?? (await ctx.sim.requests());
	const answers = answersPerId(requests);
	const items = nodeItems(executed?.run, TWIN24_NODE);
	printTrace('n8n execute', answers, [{ name: 'Twin24 output', items }]);
	if (!executed) return;
	console.log(
		`         the node's run, tries and waits included (n8n's executionTime): ${nodeExecutionTimeMs(executed.run, TWIN24_NODE) ?? '?'} ms`,
	);
	expect(
		`simulator answered per ID exactly as expected (only what was not done sent again)`,
		sameAnswers(answers, pass.expectedAnswers),
		JSON.stringify(answers),
	);
	const record = await ctx.sim.record();
	expect(
		`every known ID erased exactly once (${pass.seeded.length})`,
		[...record.erasedIds].sort().join() === [...pass.seeded].sort().join() &&
			record.duplicateErasures === 0,
		JSON.stringify(record),
	);
	expect(
		'n8n recorded one run of the node (its tries are inside it)',
		runCount(executed.run, TWIN24_NODE) === 1,
	);
	checkPairing(expect, TWIN24_NODE, items);
	expect(
		'every item: success and fromEarlierRun as expected',
		describeFlags(items) ===
			JSON.stringify(pass.expectedItems.map((item) => [item.success, item.fromEarlierRun || null])),
		describeFlags(items),
	);
	if (pass.failsOnce !== undefined) checkEarlierResultsKept(expect, items);
	checkNoSecrets(expect, executed.printed, secretsFor(ctx, requests));
}

function keysOf(json: JsonObject): string {
	return Object.keys(json).sort().join(',');
}

interface ExpectedErrorItem {
	index: number;
	message: RegExp;
	details: JsonObject;
}

const EXPECTED_ERROR_ITEMS: readonly ExpectedErrorItem[] = [
	{
		index: 1,
		message: /^Could not depersonalize call "rerr-unknown": HTTP 404 – .* \(item 1\)$/,
		details: { callId: 'rerr-unknown', statusCode: 404, confirmedAt: null, attempts: 1 },
	},
	{
		index: 3,
		message: /^Call ID \("bad\/id"\) contains "\/", which no Twin24 ID has \(item 3\)$/,
		details: { callId: 'bad/id', confirmedAt: null, attempts: 0 },
	},
];

/**
 * Whether this n8n routes an item with `details` to the error output (n8n 2.34 on), so that the
 * node sends them: it does where its node contexts have `isConsoleOutputRedacted` (n8n 2.35 on).
 */
function takesDetails(version: string): boolean {
	const [major, minor] = version.split('.').map(Number);
	return major > 2 || (major === 2 && minor >= 35);
}

/**
 * What the error output must carry for one item: the input's `id`, `error` (the message) and
 * `message` (what to do), and `details` where this n8n routes them.
 */
function errorItemMatches(
	item: OutputItem | undefined,
	expected: ExpectedErrorItem,
	withDetails: boolean,
): boolean {
	if (item === undefined || pairedIndex(item.pairedItem) !== expected.index) return false;
	const { json } = item;
	const shape = withDetails ? 'details,error,id,message' : 'error,id,message';
	return (
		keysOf(json) === shape &&
		json.id === ERROR_OUTPUT_IDS[expected.index] &&
		expected.message.test(String(json.error)) &&
		typeof json.message === 'string' &&
		json.message.length > 0 &&
		(!withDetails || JSON.stringify(json.details) === JSON.stringify(expected.details))
	);
}

function checkErrorOutputRouting(
	expect: Expect,
	main: readonly OutputItem[],
	errors: readonly OutputItem[],
	withDetails: boolean,
): void {
	expect(
		'main output: the done items 0, 2, 4 (success, recording deleted), pairedItem kept',
		main.map((item) => pairedIndex(item.pairedItem)).join() === '0,2,4' &&
			main.every((item) => item.json.success === true && item.json.recordDeleted === true),
		JSON.stringify(main.map((item) => item.json)),
	);
	expect(
		'error output: the 404 (item 1) and the refused bad/id (item 3), nothing else',
		errors.map((item) => pairedIndex(item.pairedItem)).join() === '1,3',
		JSON.stringify(errors),
	);
	EXPECTED_ERROR_ITEMS.forEach((expected, position) =>
		expect(
			`error item ${expected.index}: { id (the input's, merged by n8n), error, message${withDetails ? `, details: ${keysOf(expected.details)}` : ''} }`,
			errorItemMatches(errors[position], expected, withDetails),
			JSON.stringify(errors[position]),
		),
	);
}

async function runErrorOutputPass(ctx: ScenarioContext): Promise<void> {
	const expect = expecter(ctx.checks, `${ctx.label} reruns/${ERROR_OUTPUT_WORKFLOW.id}`);
	const known = ERROR_OUTPUT_IDS.filter((id) => id.startsWith('rerr-') && id !== 'rerr-unknown');
	await prepare(ctx.sim, { calls: known, hasRecord: true });
	ctx.checks.noteRun(`${ctx.label}: ${ERROR_OUTPUT_WORKFLOW.name} via n8n execute`);
	const executed = await executeWorkflow(ctx, expect, ERROR_OUTPUT_WORKFLOW.id);
	const requests = executed?.requests ?? (await ctx.sim.requests());
	const answers = answersPerId(requests);
	const main = nodeItems(executed?.run, TWIN24_NODE, 0);
	const errors = nodeItems(executed?.run, TWIN24_NODE, 1);
	const erased = nodeItems(executed?.run, BRANCHES.main);
	const alerted = nodeItems(executed?.run, BRANCHES.error);
	printTrace('n8n execute', answers, [
		{ name: 'Twin24 main output', items: main },
		{ name: 'Twin24 error output', items: errors },
	]);
	for (const item of errors) console.log(`           as delivered: ${JSON.stringify(item)}`);
	if (!executed) return;
	expect(
		'simulator: one request per sendable ID (404 for the unknown one), none for bad/id',
		sameAnswers(answers, answered(known, { 'rerr-unknown': [404] })),
		JSON.stringify(answers),
	);
	checkErrorOutputRouting(expect, main, errors, takesDetails(ctx.n8n.install.version));
	expect(
		`"${BRANCHES.main}" (main branch) received exactly the main output, "${BRANCHES.error}" (error branch) the error output`,
		JSON.stringify(erased.map((item) => item.json)) === JSON.stringify(main.map((i) => i.json)) &&
			JSON.stringify(alerted.map((item) => item.json)) ===
				JSON.stringify(errors.map((i) => i.json)),
		`${BRANCHES.main}: ${erased.length} items, ${BRANCHES.error}: ${alerted.length} items`,
	);
	checkNoSecrets(expect, executed.printed, secretsFor(ctx, requests));
}

/** Passes 1 and 2: Retry On Fail with an item that fails once, and the error output's branch. */
export async function runRerunPasses(
	ctx: ScenarioContext,
	guard: (name: string, action: () => Promise<void>) => Promise<void>,
): Promise<void> {
	for (const pass of RETRY_ON_FAIL_CASES) {
		await guard(pass.workflow.name, () =>
			timed(pass.workflow.name, () => runRetryOnFailCase(ctx, pass)),
		);
	}
	await guard(ERROR_OUTPUT_WORKFLOW.name, () =>
		timed(ERROR_OUTPUT_WORKFLOW.name, () => runErrorOutputPass(ctx)),
	);
}
