/**
 * When a run ends before the Twin24 node does, inside real n8n (`n8n start`, regular mode,
 * SQLite), 400 IDs through a webhook under a 50 req/s limit:
 *
 * - crash: n8n killed with SIGKILL after about 135 erasures and started again; the crashed
 *   execution retried as the executions list does it (`POST /rest/executions/:id/retry`);
 * - Stop (`POST /rest/executions/:id/stop`, the editor's button) and the workflow's Timeout, mid-run;
 *   n8n's list offers no Retry for these ("canceled"), so the IDs are sent again by the same
 *   workflow with Ignore Not Found on, as docs/interruptions.md says.
 *
 * Each case prints what n8n kept of the execution, and is checked by what the simulator answered
 * per ID and by every item; the figures are those of docs/interruptions.md.
 */
import { N8nRest, parseFlatted } from './n8nRest';
import { delay } from './proc';
import { callIds } from './queueScenarios';
import { TWIN24_NODE, rerunWorkflowDocument, type RerunWorkflow } from './rerunWorkflows';
import {
	answersPerId,
	describeAnswers,
	describeItems,
	timed,
	type AnswersPerId,
} from './rerunTrace';
import { isObject, nodeItems, type JsonObject, type OutputItem } from './runData';
import {
	checkNoSecrets,
	checkPairing,
	expecter,
	prepare,
	secretsFor,
	type Expect,
	type ScenarioContext,
} from './scenarios';
import type { LoggedRequest } from './simulator';

const IDS = 400;
const REQUESTS_PER_SECOND = 50;
/** Where the run is cut short: about a third of the way. */
const CUT_AFTER_ERASURES = 135;
/** The Timeout workflow's setting, in seconds: 400 IDs at 50 req/s take 8 s. */
const TIMEOUT_SECONDS = 3;
const SETTLE_MS = 90_000;

function workflow(id: string, path: string, extra: Partial<RerunWorkflow> = {}): RerunWorkflow {
	return {
		id,
		name: `interrupted run (${path})`,
		source: { kind: 'webhook', path },
		settings: {},
		concurrency: 10,
		...extra,
	};
}

const CRASH = workflow('tw24Interrupt0001', 'twin24-e2e-crash');
const STOP = workflow('tw24Interrupt0002', 'twin24-e2e-stop');
const TIMEOUT = workflow('tw24Interrupt0003', 'twin24-e2e-timeout', {
	workflowSettings: { executionTimeout: TIMEOUT_SECONDS },
});
/** What the user runs after Stop or Timeout: the same workflow with Ignore Not Found on. */
const AGAIN = workflow('tw24Interrupt0004', 'twin24-e2e-again', {
	options: { ignoreNotFound: true },
});
const WORKFLOWS = [CRASH, STOP, TIMEOUT, AGAIN];

export function interruptionWorkflows(): JsonObject[] {
	return WORKFLOWS.map(rerunWorkflowDocument);
}

/** Webhooks are live from the next server start. */
export async function activateInterruptionWorkflows(ctx: ScenarioContext): Promise<void> {
	for (const entry of WORKFLOWS) await ctx.n8n.activateWorkflow(entry.id);
}

function pathOf(entry: RerunWorkflow): string {
	return entry.source.kind === 'webhook' ? entry.source.path : '';
}

/**
 * Starts the webhook's execution, again while n8n has not registered the webhook yet (just after
 * it started); resolves with the webhook's answer, or with how the connection broke.
 */
async function startRun(
	ctx: ScenarioContext,
	entry: RerunWorkflow,
	ids: string[],
): Promise<string> {
	const url = `${ctx.n8n.baseUrl}/webhook/${pathOf(entry)}`;
	const deadline = Date.now() + 60_000;
	for (;;) {
		try {
			const response = await fetch(url, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ callIds: ids }),
			});
			const text = await response.text();
			const notLive = response.status === 404 || text.includes('n8n is starting up');
			if (!notLive || Date.now() > deadline) return `${response.status} ${text.slice(0, 120)}`;
		} catch (error) {
			return `no answer (${error instanceof Error ? error.message : String(error)})`;
		}
		await delay(1000);
	}
}

/** The workflow's newest execution that is not in `known` and has `status` (one of them). */
async function executionWith(
	rest: N8nRest,
	entry: RerunWorkflow,
	known: ReadonlySet<string>,
	statuses: readonly string[],
): Promise<string> {
	const deadline = Date.now() + SETTLE_MS;
	for (;;) {
		const list = await rest.executions(entry.id);
		const found = list.find((item) => !known.has(item.id) && statuses.includes(item.status));
		if (found) return found.id;
		if (Date.now() > deadline)
			throw new Error(`no ${statuses.join('/')} execution: ${JSON.stringify(list)}`);
		await delay(200);
	}
}

async function knownExecutions(rest: N8nRest, entry: RerunWorkflow): Promise<Set<string>> {
	return new Set((await rest.executions(entry.id)).map((item) => item.id));
}

/** Waits until the simulator has erased `count` IDs. */
async function erasuresReach(ctx: ScenarioContext, count: number): Promise<void> {
	const deadline = Date.now() + SETTLE_MS;
	while ((await ctx.sim.record()).erasedIds.length < count) {
		if (Date.now() > deadline) throw new Error(`fewer than ${count} erasures in time`);
		await delay(20);
	}
}

/** What the simulator erased, once the requests in flight when the run ended have landed. */
async function erasedSoFar(ctx: ScenarioContext): Promise<Set<string>> {
	await delay(1000);
	return new Set((await ctx.sim.record()).erasedIds);
}

/** What n8n kept of an execution: its status, its nodes' runs, the Twin24 node's context. */
interface Kept {
	status: string;
	runs: Record<string, number>;
	lastNodeExecuted: unknown;
	twin24Items: OutputItem[];
	/** The Twin24 node's execution context as saved (what the node left for a later run). */
	context: string;
	text: string;
}

async function kept(rest: N8nRest, id: string): Promise<Kept> {
	const raw = await rest.get(`/executions/${encodeURIComponent(id)}`);
	const text = isObject(raw) && typeof raw.data === 'string' ? raw.data : '';
	const data = text === '' ? {} : parseFlatted(text);
	const resultData = isObject(data) && isObject(data.resultData) ? data.resultData : {};
	const runData = isObject(resultData.runData) ? resultData.runData : {};
	const contextData = isObject(data) && isObject(data.executionData) ? data.executionData : {};
	const contexts = isObject(contextData.contextData) ? contextData.contextData : {};
	return {
		status: isObject(raw) ? String(raw.status) : 'unknown',
		runs: Object.fromEntries(
			Object.entries(runData).map(([name, runs]) => [name, Array.isArray(runs) ? runs.length : 0]),
		),
		lastNodeExecuted: resultData.lastNodeExecuted,
		twin24Items: nodeItems({ data }, TWIN24_NODE),
		context: JSON.stringify(contexts[`node:${TWIN24_NODE}`] ?? null),
		text,
	};
}

function printKept(what: string, id: string, seen: Kept): void {
	const context = seen.context.length > 160 ? `${seen.context.slice(0, 160)}…` : seen.context;
	console.log(
		`         ${what}: execution ${id} "${seen.status}", runs ${JSON.stringify(seen.runs)}, lastNodeExecuted ${String(seen.lastNodeExecuted)}, ${seen.twin24Items.length} Twin24 items, Twin24 context (${seen.context.length} chars) ${context}`,
	);
	for (const line of describeItems(seen.twin24Items)) console.log(`           ${line}`);
}

/** The answers other than the simulator's 429s (the pace's own business), per ID. */
function withoutRateLimited(answers: AnswersPerId): AnswersPerId {
	return Object.fromEntries(
		Object.entries(answers)
			.map(([id, statuses]) => [id, statuses.filter((status) => status !== 429)] as const)
			.filter(([, statuses]) => statuses.length > 0),
	);
}

function printAnswers(what: string, requests: readonly LoggedRequest[]): void {
	const answers = describeAnswers(withoutRateLimited(answersPerId(requests)));
	console.log(
		`         ${what}: the simulator answered per ID (${rateLimitedCount(requests)} 429s aside): ${answers}`,
	);
}

function rateLimitedCount(requests: readonly LoggedRequest[]): number {
	return requests.filter((request) => request.status === 429).length;
}

/** Per ID: 404 for what was erased before, 200 for the rest, one request each (429s aside). */
function checkSentOnce(
	expect: Expect,
	what: string,
	ids: readonly string[],
	erasedBefore: ReadonlySet<string>,
	requests: readonly LoggedRequest[],
): void {
	const seen = withoutRateLimited(answersPerId(requests));
	const wrong = ids.filter((id) => {
		const expected = erasedBefore.has(id) ? 404 : 200;
		return JSON.stringify(seen[id] ?? []) !== JSON.stringify([expected]);
	});
	expect(
		`${what}: one request per ID (429s aside): ${erasedBefore.size} answered 404 (erased before), ${ids.length - erasedBefore.size} answered 200`,
		wrong.length === 0 && Object.keys(seen).length === ids.length,
		JSON.stringify(wrong.slice(0, 5).map((id) => [id, seen[id]])),
	);
}

async function checkErasedOnce(ctx: ScenarioContext, expect: Expect, ids: readonly string[]) {
	const record = await ctx.sim.record();
	const unique = new Set(record.erasedIds);
	expect(
		`every ID erased exactly once over both executions (${ids.length})`,
		unique.size === ids.length && record.erasedIds.length === ids.length,
		`${record.erasedIds.length} erasures of ${unique.size} IDs`,
	);
}

/** Every item: done; what was erased before says how the node knows (`flag`), the rest erased now. */
function checkItems(
	expect: Expect,
	items: OutputItem[],
	ids: readonly string[],
	erasedBefore: ReadonlySet<string>,
	before: { what: string; fields: JsonObject },
): void {
	checkPairing(expect, TWIN24_NODE, items);
	const wrong = items.filter((item, index) => {
		const { json } = item;
		if (json.callId !== ids[index] || json.success !== true) return true;
		if (!erasedBefore.has(ids[index])) return json.recordDeleted !== true;
		return Object.entries(before.fields).some(([key, value]) => json[key] !== value);
	});
	expect(
		`${items.length} items, all success; the ${erasedBefore.size} erased before with ${before.what}, the rest recordDeleted true`,
		items.length === ids.length && wrong.length === 0,
		JSON.stringify(wrong.slice(0, 3).map((item) => item.json)),
	);
}

interface CrashFigures {
	erasedAtKill: number;
	restartMs: number;
	retryMs: number;
	rateLimited: number;
}

/** Kills n8n mid-run, starts it again, and finds the execution it marked crashed. */
async function crash(ctx: ScenarioContext, ids: string[]) {
	let rest = await N8nRest.signIn(ctx.n8n.baseUrl);
	const known = await knownExecutions(rest, CRASH);
	const reply = startRun(ctx, CRASH, ids);
	await erasuresReach(ctx, CUT_AFTER_ERASURES);
	await ctx.n8n.killServer();
	const erasedBefore = await erasedSoFar(ctx);
	console.log(
		`         n8n (pid group) killed with SIGKILL after ${erasedBefore.size} erasures; the webhook caller got ${String(await reply)}`,
	);
	const restartedAt = Date.now();
	await ctx.n8n.startServer();
	rest = await N8nRest.signIn(ctx.n8n.baseUrl);
	const crashedId = await executionWith(rest, CRASH, known, ['crashed', 'error']);
	return { rest, erasedBefore, crashedId, restartMs: Date.now() - restartedAt };
}

/** "Retry" in the executions list ("with the original workflow"); its execution's id. */
async function retryCrashed(rest: N8nRest, crashedId: string): Promise<string> {
	const answer = await rest.post(`/executions/${crashedId}/retry`, { loadWorkflow: false });
	return isObject(answer) ? String(answer.id) : '';
}

/** The user's next step (a retry, a new run): its execution, and what Twin24 received meanwhile. */
interface FollowUp {
	what: string;
	id: string;
	ms: number;
	seen: Kept;
	requests: LoggedRequest[];
}

async function sentDuring(
	ctx: ScenarioContext,
	what: string,
	action: () => Promise<string>,
): Promise<FollowUp> {
	const requestsBefore = (await ctx.sim.requests()).length;
	const startedAt = Date.now();
	const id = await action();
	const ms = Date.now() - startedAt;
	const rest = await N8nRest.signIn(ctx.n8n.baseUrl);
	const seen = await kept(rest, id);
	return { what, id, ms, seen, requests: (await ctx.sim.requests()).slice(requestsBefore) };
}

/** The next step finished the job: one request per ID, every item done, each ID erased once. */
async function checkFollowUp(
	ctx: ScenarioContext,
	expect: Expect,
	ids: readonly string[],
	erasedBefore: ReadonlySet<string>,
	next: FollowUp,
	before: { what: string; fields: JsonObject },
): Promise<void> {
	printKept(`${next.what} (${(next.ms / 1000).toFixed(1)} s)`, next.id, next.seen);
	printAnswers(next.what, next.requests);
	expect(`${next.what} succeeded`, next.seen.status === 'success', next.seen.status);
	checkSentOnce(expect, next.what, ids, erasedBefore, next.requests);
	checkItems(expect, next.seen.twin24Items, ids, erasedBefore, before);
	await checkErasedOnce(ctx, expect, ids);
}

async function runCrash(ctx: ScenarioContext): Promise<CrashFigures> {
	const expect = expecter(ctx.checks, `${ctx.label} interruptions/crash`);
	const ids = callIds('crash', IDS);
	await prepareRun(ctx, ids);
	ctx.checks.noteRun(
		`${ctx.label}: n8n killed mid-run (${IDS} IDs, ${REQUESTS_PER_SECOND} req/s), the crashed execution retried`,
	);
	const { rest, erasedBefore, crashedId, restartMs } = await crash(ctx, ids);
	const crashed = await kept(rest, crashedId);
	printKept('after the restart', crashedId, crashed);
	checkCrashedKept(expect, crashed);
	const retry = await sentDuring(ctx, 'the retry', () => retryCrashed(rest, crashedId));
	await checkFollowUp(ctx, expect, ids, erasedBefore, retry, {
		what: 'mayHaveBeenErasedByInterruptedRun, recordDeleted null',
		fields: { mayHaveBeenErasedByInterruptedRun: true, recordDeleted: null },
	});
	await checkRetryListed(expect, rest, crashedId, retry.id);
	const printed = `${crashed.text}\n${retry.seen.text}\n${ctx.n8n.serverOutput}`;
	checkNoSecrets(expect, printed, secretsFor(ctx, retry.requests));
	const rateLimited = rateLimitedCount(await ctx.sim.requests());
	return { erasedAtKill: erasedBefore.size, restartMs, retryMs: retry.ms, rateLimited };
}

function checkCrashedKept(expect: Expect, crashed: Kept): void {
	expect(
		'after the restart n8n marked the execution crashed, with a run of the Twin24 node and no record of it',
		crashed.status === 'crashed' &&
			(crashed.runs[TWIN24_NODE] ?? 0) > 0 &&
			!crashed.context.includes('twin24Erasures'),
		JSON.stringify({ status: crashed.status, runs: crashed.runs, context: crashed.context }),
	);
}

async function checkRetryListed(
	expect: Expect,
	rest: N8nRest,
	crashedId: string,
	retryId: string,
): Promise<void> {
	const list = await rest.get(
		`/executions?filter=${encodeURIComponent(JSON.stringify({ workflowId: CRASH.id }))}&limit=50`,
	);
	const results = isObject(list) && Array.isArray(list.results) ? list.results : [];
	const entries = results.filter(isObject);
	const crashed = entries.find((entry) => String(entry.id) === crashedId);
	const retry = entries.find((entry) => String(entry.id) === retryId);
	expect(
		'executions list: the retry with retryOf the crashed execution, which has retrySuccessId',
		String(retry?.retryOf) === crashedId && String(crashed?.retrySuccessId) === retryId,
		JSON.stringify({ crashed, retry }),
	);
}

async function prepareRun(ctx: ScenarioContext, ids: string[]): Promise<void> {
	await prepare(ctx.sim, { calls: ids, hasRecord: true });
	await ctx.sim.configure({ rateLimit: { requestsPerSecond: REQUESTS_PER_SECOND } });
}

interface CanceledFigures {
	erasedAtCut: number;
	status: string;
	itemsKept: number;
	doneKept: number;
	againMs: number;
}

/** How the run is cut short: the Stop button, or the workflow's own Timeout. */
interface Cut {
	name: string;
	workflow: RerunWorkflow;
	prefix: string;
	cut: (rest: N8nRest, executionId: string) => Promise<void>;
	/** Erasures to wait for before `cut`; 0: the cut comes by itself. */
	after: number;
}

const STOP_CUT: Cut = {
	name: 'Stop',
	workflow: STOP,
	prefix: 'stop',
	after: CUT_AFTER_ERASURES,
	cut: async (rest, executionId) => void (await rest.post(`/executions/${executionId}/stop`, {})),
};

const TIMEOUT_CUT: Cut = {
	name: `workflow Timeout (${TIMEOUT_SECONDS} s)`,
	workflow: TIMEOUT,
	prefix: 'timeout',
	after: 0,
	cut: async () => undefined,
};

/** Runs the workflow and cuts it short; returns what the simulator had erased by then. */
async function cutShort(ctx: ScenarioContext, rest: N8nRest, cut: Cut, ids: string[]) {
	const known = await knownExecutions(rest, cut.workflow);
	const reply = startRun(ctx, cut.workflow, ids);
	const runningId = await executionWith(rest, cut.workflow, known, ['running', 'new']);
	await erasuresReach(ctx, cut.after);
	await cut.cut(rest, runningId);
	const endedId = await executionWith(rest, cut.workflow, known, ['canceled', 'error', 'success']);
	const erasedBefore = await erasedSoFar(ctx);
	console.log(
		`         ${cut.name}: ${erasedBefore.size} erased when the execution ended; the webhook caller got ${String(await reply)}`,
	);
	return { erasedBefore, endedId };
}

/** Sends the same IDs again with Ignore Not Found on, as the docs tell the user. */
async function runAgain(ctx: ScenarioContext, rest: N8nRest, ids: string[]): Promise<string> {
	const known = await knownExecutions(rest, AGAIN);
	const reply = await startRun(ctx, AGAIN, ids);
	console.log(`         run again with Ignore Not Found: the webhook answered ${String(reply)}`);
	return await executionWith(rest, AGAIN, known, ['success', 'error', 'canceled']);
}

async function runCut(ctx: ScenarioContext, cut: Cut): Promise<CanceledFigures> {
	const expect = expecter(ctx.checks, `${ctx.label} interruptions/${cut.name}`);
	const ids = callIds(cut.prefix, IDS);
	await prepareRun(ctx, ids);
	ctx.checks.noteRun(
		`${ctx.label}: ${cut.name} mid-run (${IDS} IDs), run again with Ignore Not Found`,
	);
	const rest = await N8nRest.signIn(ctx.n8n.baseUrl);
	const { erasedBefore, endedId } = await cutShort(ctx, rest, cut, ids);
	const ended = await kept(rest, endedId);
	printKept(`after ${cut.name}`, endedId, ended);
	expect(`n8n marked the execution canceled`, ended.status === 'canceled', ended.status);
	const again = await sentDuring(ctx, 'the run with Ignore Not Found', () =>
		runAgain(ctx, rest, ids),
	);
	await checkFollowUp(ctx, expect, ids, erasedBefore, again, {
		what: 'notFound, recordDeleted false',
		fields: { notFound: true, recordDeleted: false },
	});
	const done = ended.twin24Items.filter((item) => item.json.success === true).length;
	const status = ended.status;
	return {
		erasedAtCut: erasedBefore.size,
		status,
		itemsKept: ended.twin24Items.length,
		doneKept: done,
		againMs: again.ms,
	};
}

/** The pass, with `n8n start` running; it leaves n8n running again after the crash. */
export async function runInterruptionPass(
	ctx: ScenarioContext,
	guard: (name: string, action: () => Promise<void>) => Promise<void>,
): Promise<void> {
	for (const cut of [STOP_CUT, TIMEOUT_CUT]) {
		await guard(`interruptions: ${cut.name}`, () =>
			timed(cut.name, async () => {
				const figures = await runCut(ctx, cut);
				console.log(`         figures (${cut.name}): ${JSON.stringify(figures)}`);
			}),
		);
	}
	await guard('interruptions: crash', () =>
		timed('crash', async () => {
			const figures = await runCrash(ctx);
			console.log(`         figures (crash): ${JSON.stringify(figures)}`);
		}),
	);
}
