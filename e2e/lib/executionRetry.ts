/**
 * A failed production execution, retried the way n8n's executions list does it: as the logged-in
 * owner, `POST /rest/executions/:id/retry` with `{ loadWorkflow: false }` ("Retry with original
 * workflow") and `{ loadWorkflow: true }` ("Retry with currently saved workflow"). n8n starts a
 * new execution (mode `retry`) from the failed node with the failed execution's saved data, the
 * node's execution context included. Checked: what the simulator received on each execution, what
 * the retried execution reported, and what n8n's list shows.
 */
import { delay } from './proc';
import { callIds } from './queueScenarios';
import { TWIN24_NODE, rerunWorkflowDocument, type RerunWorkflow } from './rerunWorkflows';
import { checkEarlierResultsKept } from './reruns';
import { answersPerId, printTrace, sameAnswers, timed, type AnswersPerId } from './rerunTrace';
import { isObject, nodeItems, parsedJson, runCount, runStatus, type JsonObject } from './runData';
import {
	checkNoSecrets,
	checkPairing,
	expecter,
	postToWebhook,
	prepare,
	secretsFor,
	type Expect,
	type ScenarioContext,
} from './scenarios';
import type { LoggedRequest } from './simulator';
import { ensureOwner } from './typesCheck';

const WEBHOOK_PATH = 'twin24-e2e-retry';

export const EXECUTION_RETRY_WORKFLOW: RerunWorkflow = {
	id: 'tw24ExecRetry0001',
	name: 'a failed production execution, retried from the executions list',
	source: { kind: 'webhook', path: WEBHOOK_PATH },
	settings: {},
	concurrency: 1,
};

export function executionRetryWorkflows(): JsonObject[] {
	return [rerunWorkflowDocument(EXECUTION_RETRY_WORKFLOW)];
}

const ITEMS = 10;
/** Answered 500 once: without Continue On Fail the execution fails there, items 0–5 done. */
const FAILING_ITEM = 6;
const SETTLE_TIMEOUT_MS = 60_000;

interface RetryVariant {
	loadWorkflow: boolean;
	menuEntry: string;
	idPrefix: string;
}

const VARIANTS: readonly RetryVariant[] = [
	{ loadWorkflow: false, menuEntry: 'Retry with original workflow', idPrefix: 'xorig' },
	{ loadWorkflow: true, menuEntry: 'Retry with currently saved workflow', idPrefix: 'xsaved' },
];

interface ExecutionSummary {
	id: string;
	status: string;
	mode: string;
	retryOf: unknown;
	retrySuccessId: unknown;
}

interface RestAnswer {
	status: number;
	text: string;
	/** What n8n's REST API wraps in `{ data }`. */
	data: unknown;
}

/** n8n's REST API as the editor calls it, with the owner's session cookie. */
class OwnerSession {
	private constructor(
		private readonly baseUrl: string,
		private readonly cookie: string,
	) {}

	static async open(baseUrl: string): Promise<OwnerSession> {
		return new OwnerSession(baseUrl, await ensureOwner(baseUrl));
	}

	async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<RestAnswer> {
		const headers: Record<string, string> = { cookie: this.cookie };
		if (body !== undefined) headers['content-type'] = 'application/json';
		const response = await fetch(`${this.baseUrl}/rest/${path}`, {
			method,
			headers,
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const text = await response.text();
		const parsed = parsedJson(text);
		return { status: response.status, text, data: isObject(parsed) ? parsed.data : undefined };
	}

	async executions(workflowId: string): Promise<ExecutionSummary[]> {
		const filter = encodeURIComponent(JSON.stringify({ workflowId }));
		const answer = await this.call('GET', `executions?filter=${filter}&limit=50`);
		const results = isObject(answer.data) ? answer.data.results : undefined;
		if (!Array.isArray(results))
			throw new Error(`GET /rest/executions: ${answer.status} ${answer.text.slice(0, 300)}`);
		return results.filter(isObject).map((entry) => ({
			id: String(entry.id),
			status: String(entry.status),
			mode: String(entry.mode),
			retryOf: entry.retryOf,
			retrySuccessId: entry.retrySuccessId,
		}));
	}
}

const FINISHED = new Set(['success', 'error', 'crashed', 'canceled']);

/** The first execution of the workflow not in `known` that has finished. */
async function newFinishedExecution(
	session: OwnerSession,
	known: ReadonlySet<string>,
): Promise<ExecutionSummary> {
	const deadline = Date.now() + SETTLE_TIMEOUT_MS;
	for (;;) {
		const list = await session.executions(EXECUTION_RETRY_WORKFLOW.id);
		const found = list.find((entry) => !known.has(entry.id) && FINISHED.has(entry.status));
		if (found) return found;
		if (Date.now() > deadline) throw new Error(`no finished execution: ${JSON.stringify(list)}`);
		await delay(500);
	}
}

function expectedOn(ids: readonly string[], statuses: Record<number, number[]>): AnswersPerId {
	return Object.fromEntries(ids.map((id, index) => [id, statuses[index] ?? [200]]));
}

interface RetryObservation {
	failed: ExecutionSummary;
	firstRequests: LoggedRequest[];
	savedText: string;
	retry: RestAnswer;
	retryRequests: LoggedRequest[];
	listed: ExecutionSummary[];
}

async function failThenRetry(
	ctx: ScenarioContext,
	session: OwnerSession,
	ids: readonly string[],
	variant: RetryVariant,
): Promise<RetryObservation> {
	const known = new Set((await session.executions(EXECUTION_RETRY_WORKFLOW.id)).map((e) => e.id));
	const reply = await postToWebhook(ctx.n8n.baseUrl, WEBHOOK_PATH, { callIds: ids }, 60_000);
	console.log(`         webhook answered ${reply.status}: ${JSON.stringify(reply.body)}`);
	const failed = await newFinishedExecution(session, known);
	const firstRequests = await ctx.sim.requests();
	const saved = await session.call('GET', `executions/${failed.id}`);
	const startedAt = Date.now();
	const retry = await session.call('POST', `executions/${failed.id}/retry`, {
		loadWorkflow: variant.loadWorkflow,
	});
	console.log(
		`         POST /rest/executions/${failed.id}/retry ${JSON.stringify({ loadWorkflow: variant.loadWorkflow })} → ${retry.status} in ${((Date.now() - startedAt) / 1000).toFixed(2)} s`,
	);
	const retryRequests = (await ctx.sim.requests()).slice(firstRequests.length);
	const listed = await session.executions(EXECUTION_RETRY_WORKFLOW.id);
	return { failed, firstRequests, savedText: saved.text, retry, retryRequests, listed };
}

function checkFailedExecution(
	expect: Expect,
	seen: RetryObservation,
	ids: readonly string[],
): void {
	expect(
		`the webhook's execution failed and is in the executions list (mode webhook, status error)`,
		seen.failed.status === 'error' && seen.failed.mode === 'webhook',
		JSON.stringify(seen.failed),
	);
	expect(
		`failed execution: simulator answered items 0–${FAILING_ITEM - 1} 200, item ${FAILING_ITEM} 500, nothing after`,
		sameAnswers(
			answersPerId(seen.firstRequests),
			expectedOn(ids.slice(0, FAILING_ITEM + 1), { [FAILING_ITEM]: [500] }),
		),
		JSON.stringify(answersPerId(seen.firstRequests)),
	);
	expect(
		"the saved execution holds the node's execution context (what Twin24 confirmed, by ID)",
		seen.savedText.includes('twin24Erasures') && seen.savedText.includes(ids[FAILING_ITEM - 1]),
		seen.savedText.slice(0, 300),
	);
}

function checkRetriedExecution(
	expect: Expect,
	seen: RetryObservation,
	ids: readonly string[],
): void {
	const retried = isObject(seen.retry.data) ? seen.retry.data : {};
	expect(
		'the retry answered 200 with a new execution: mode retry, retryOf the failed one, status success',
		seen.retry.status === 200 &&
			retried.mode === 'retry' &&
			String(retried.retryOf) === seen.failed.id &&
			runStatus(retried) === 'success',
		seen.retry.text.slice(0, 500),
	);
	expect(
		`retry: simulator answered only items ${FAILING_ITEM}–${ITEMS - 1}, 200 each (nothing sent twice)`,
		sameAnswers(answersPerId(seen.retryRequests), expectedOn(ids.slice(FAILING_ITEM), {})),
		JSON.stringify(answersPerId(seen.retryRequests)),
	);
	const items = nodeItems(retried, TWIN24_NODE);
	expect(
		'the retried run of the node is its only run in the execution',
		runCount(retried, TWIN24_NODE) === 1,
	);
	checkPairing(expect, TWIN24_NODE, items);
	expect(
		`retried execution: items 0–${FAILING_ITEM - 1} success with fromEarlierRun (the failed execution's erasures), ${FAILING_ITEM}–${ITEMS - 1} success, newly erased`,
		items.length === ITEMS &&
			items.every(
				(item, index) =>
					item.json.success === true &&
					item.json.callId === ids[index] &&
					(item.json.fromEarlierRun === true) === index < FAILING_ITEM,
			),
		JSON.stringify(items.map((item) => [item.json.callId, item.json.fromEarlierRun])),
	);
	checkEarlierResultsKept(expect, items);
	const retriedId = String(retried.id);
	const listedRetry = seen.listed.find((entry) => entry.id === retriedId);
	const listedFailed = seen.listed.find((entry) => entry.id === seen.failed.id);
	expect(
		'executions list: the retry listed with retryOf, the failed execution with retrySuccessId',
		listedRetry?.status === 'success' &&
			String(listedRetry.retryOf) === seen.failed.id &&
			String(listedFailed?.retrySuccessId) === retriedId,
		JSON.stringify({ listedRetry, listedFailed }),
	);
}

async function runRetryVariant(
	ctx: ScenarioContext,
	session: OwnerSession,
	variant: RetryVariant,
): Promise<void> {
	const expect = expecter(ctx.checks, `${ctx.label} reruns/execution retry (${variant.menuEntry})`);
	const ids = callIds(variant.idPrefix, ITEMS);
	await prepare(ctx.sim, { calls: ids, hasRecord: true });
	await ctx.sim.respondFor(ids[FAILING_ITEM], { status: 500 });
	ctx.checks.noteRun(
		`${ctx.label}: ${EXECUTION_RETRY_WORKFLOW.name} (POST /webhook/${WEBHOOK_PATH}, then ${variant.menuEntry})`,
	);
	const seen = await failThenRetry(ctx, session, ids, variant);
	const retried = isObject(seen.retry.data) ? seen.retry.data : {};
	printTrace(
		`failed execution ${seen.failed.id} (${seen.failed.status})`,
		answersPerId(seen.firstRequests),
		[],
	);
	printTrace(
		`retried execution ${String(retried.id)} (${runStatus(retried)})`,
		answersPerId(seen.retryRequests),
		[{ name: 'its Twin24 output', items: nodeItems(retried, TWIN24_NODE) }],
	);
	checkFailedExecution(expect, seen, ids);
	checkRetriedExecution(expect, seen, ids);
	const record = await ctx.sim.record();
	expect(
		`every ID erased exactly once over both executions (${ITEMS})`,
		new Set(record.erasedIds).size === ITEMS &&
			record.erasedIds.length === ITEMS &&
			record.duplicateErasures === 0,
		JSON.stringify(record),
	);
	const requests = [...seen.firstRequests, ...seen.retryRequests];
	checkNoSecrets(
		expect,
		`${seen.savedText}\n${seen.retry.text}\n${ctx.n8n.serverOutput}`,
		secretsFor(ctx, requests),
	);
}

/** Pass 3, with `n8n start` running and the webhook workflow published. */
export async function runExecutionRetryPass(
	ctx: ScenarioContext,
	guard: (name: string, action: () => Promise<void>) => Promise<void>,
): Promise<void> {
	const session = await OwnerSession.open(ctx.n8n.baseUrl);
	for (const variant of VARIANTS) {
		const name = `execution retry (${variant.menuEntry})`;
		await guard(name, () => timed(name, () => runRetryVariant(ctx, session, variant)));
	}
}
