/**
 * The queue-mode checks: executions started by production webhooks on the main and run by the
 * workers. What was erased, and how often, is read from the simulator's record; which worker ran
 * an execution, from the workers' own logs and the shared database.
 */
import {
	ERASE_WORKFLOWS,
	FINISH_WORKFLOW,
	WORKER_NAMES,
	type QueueCluster,
	type WorkerName,
} from './queueCluster';
import { N8nRest } from './n8nRest';
import { delay } from './proc';
import { step, type Checks } from './report';
import { isObject, runCount, type JsonObject } from './runData';
import type { SimulatorRecord } from './simulator';

const SCOPE = 'queue mode';
const RATE_LIMIT = 250;
const IDS_PER_EXECUTION = 2000;
/** The killed run is paced slower, so that there is time to kill its worker mid-run. */
const KILL_RUN_RATE_LIMIT = 100;
const KILL_AFTER_ERASURES = 300;
const MARKED_FAILED_TIMEOUT_MS = 6 * 60_000;
const TERMINAL_FAILURES = new Set(['error', 'crashed', 'failed', 'canceled']);

/** What the pass measured, for the summary and the README. */
export interface QueueFigures {
	fourExecutionsMs?: number;
	floorMs: number;
	rateLimited?: number;
	workersOfFour?: string;
	killedAtErasures?: number;
	killToFailedMs?: number;
	failedStatus?: string;
	rerunNotFound?: number;
	rerunErased?: number;
	rerunMs?: number;
	/** What "Retry" in the executions list did with the killed execution. */
	retryOutcome?: string;
}

/** The Twin24 node of the queue-mode workflows (the CRM webhook example's). */
const TWIN24_NODE = 'Depersonalize call';

interface WorkflowRef {
	id: string;
	path: string;
}

interface ExecutionRow {
	id: number;
	workflowId: string;
	status: string;
}

interface WebhookAnswer {
	status: number;
	items: JsonObject[];
	text: string;
}

interface FinishedExecution {
	workflow: WorkflowRef;
	ids: string[];
	answer: WebhookAnswer;
	execution: ExecutionRow | undefined;
	workers: WorkerName[];
}

type Expect = (name: string, passed: boolean, detail?: string) => boolean;

export function callIds(prefix: string, count: number): string[] {
	return Array.from({ length: count }, (_, index) => `${prefix}-${String(index).padStart(5, '0')}`);
}

async function postErasure(
	cluster: QueueCluster,
	workflow: WorkflowRef,
	ids: string[],
	signal?: AbortSignal,
): Promise<WebhookAnswer> {
	const response = await fetch(cluster.webhookUrl(workflow.path), {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ requestId: `${workflow.path}-${ids.length}`, callIds: ids }),
		signal,
	});
	const text = await response.text();
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch {
		parsed = undefined;
	}
	const items = Array.isArray(parsed) ? parsed.filter(isObject) : [];
	return { status: response.status, items, text: text.slice(0, 500) };
}

async function executionRows(cluster: QueueCluster, afterId: number): Promise<ExecutionRow[]> {
	const rows = await cluster.postgres.rows(
		`SELECT id, "workflowId", status FROM execution_entity WHERE id > ${afterId} ORDER BY id`,
	);
	return rows.map(([id, workflowId, status]) => ({
		id: Number(id),
		workflowId: workflowId ?? '',
		status: status ?? '',
	}));
}

async function lastExecutionId(cluster: QueueCluster): Promise<number> {
	const rows = await cluster.postgres.rows('SELECT COALESCE(MAX(id), 0) FROM execution_entity');
	return Number(rows[0]?.[0] ?? 0);
}

/**
 * The Respond to Webhook node answers before the worker has saved the execution's end, so the
 * rows are read again until each has left `new`/`running` (or a minute has passed).
 */
async function settledExecutionRows(
	cluster: QueueCluster,
	afterId: number,
	count: number,
): Promise<ExecutionRow[]> {
	const deadline = Date.now() + 60_000;
	for (;;) {
		const rows = await executionRows(cluster, afterId);
		const settled = rows.filter((row) => row.status !== 'new' && row.status !== 'running');
		if ((rows.length >= count && settled.length === rows.length) || Date.now() > deadline)
			return rows;
		await delay(500);
	}
}

/** The workers whose log says they started this execution (exactly one, when all is well). */
function workersThatStarted(cluster: QueueCluster, executionId: number): WorkerName[] {
	const line = `Worker started execution ${executionId} (`;
	return cluster.workers
		.filter((worker) => worker.n8n.serverOutput.includes(line))
		.map((worker) => worker.name);
}

/** Posts every run at once; each run uses its own workflow, so each execution maps to one run. */
async function runConcurrently(
	cluster: QueueCluster,
	runs: { workflow: WorkflowRef; ids: string[] }[],
): Promise<{ wallMs: number; finished: FinishedExecution[] }> {
	const mark = await lastExecutionId(cluster);
	const startedAt = Date.now();
	const answers = await Promise.all(runs.map((run) => postErasure(cluster, run.workflow, run.ids)));
	const wallMs = Date.now() - startedAt;
	const rows = await settledExecutionRows(cluster, mark, runs.length);
	const finished = runs.map((run, index) => {
		const execution = rows.find((row) => row.workflowId === run.workflow.id);
		return {
			...run,
			answer: answers[index],
			execution,
			workers: execution ? workersThatStarted(cluster, execution.id) : [],
		};
	});
	return { wallMs, finished };
}

function describeRun(run: FinishedExecution): string {
	const execution = run.execution
		? `execution ${run.execution.id} (${run.execution.status})`
		: 'no execution row';
	return `${run.workflow.path}: ${execution} on ${run.workers.join('+') || 'no worker'}`;
}

/** Each execution succeeded, on exactly one worker, and answered one successful item per ID. */
function checkRuns(expect: Expect, what: string, runs: FinishedExecution[]): void {
	for (const run of runs) {
		expect(
			`${what}: ${describeRun(run)}`,
			run.execution?.status === 'success' && run.workers.length === 1,
			`webhook answered ${run.answer.status}: ${run.answer.text}`,
		);
		checkItems(expect, `${what}, ${run.workflow.path}`, run.answer.items, run.ids);
	}
}

/** One output item per ID, in order, each `success: true` (the contract fields only). */
function checkItems(expect: Expect, what: string, items: JsonObject[], ids: string[]): void {
	const outOfOrder = items.filter((item, index) => item.callId !== ids[index]).length;
	const failed = items.filter((item) => item.success !== true);
	expect(
		`${what}: ${items.length} items for ${ids.length} IDs, in order, ${failed.length} failed`,
		items.length === ids.length && outOfOrder === 0 && failed.length === 0,
		`${outOfOrder} out of order; failed: ${JSON.stringify(failed.slice(0, 3))}`,
	);
}

function erasureCounts(record: SimulatorRecord): Map<string, number> {
	const counts = new Map<string, number>();
	for (const id of record.erasedIds) counts.set(id, (counts.get(id) ?? 0) + 1);
	return counts;
}

/** The simulator erased each of `ids` exactly once and nothing else. */
function checkErasedOnce(
	expect: Expect,
	what: string,
	record: SimulatorRecord,
	ids: string[],
): void {
	const counts = erasureCounts(record);
	const missing = ids.filter((id) => counts.get(id) === undefined);
	const twice = ids.filter((id) => (counts.get(id) ?? 0) > 1);
	const wanted = new Set(ids);
	const strays = [...counts.keys()].filter((id) => !wanted.has(id));
	expect(
		`${what}: simulator erased all ${ids.length} IDs exactly once (${missing.length} missing, ${twice.length} twice, ${strays.length} others)`,
		missing.length === 0 && twice.length === 0 && strays.length === 0,
		`missing ${missing.slice(0, 3).join(', ')}; twice ${twice.slice(0, 3).join(', ')}`,
	);
}

/** `logHeaders` keeps the Authorization headers, to learn the tokens n8n must never print. */
async function prepareSimulator(
	cluster: QueueCluster,
	ids: string[],
	requestsPerSecond: number,
	logHeaders = false,
): Promise<void> {
	await cluster.sim.reset();
	await cluster.sim.configure({
		rateLimit: { requestsPerSecond },
		logBodies: false,
		logHeaders,
	});
	await cluster.sim.seed({ calls: ids, hasRecord: true });
}

function otherWorker(name: WorkerName | undefined): WorkerName | undefined {
	return WORKER_NAMES.find((candidate) => candidate !== name);
}

function seconds(ms: number): string {
	return `${(ms / 1000).toFixed(1)} s`;
}

export class QueueScenarios {
	readonly figures: QueueFigures = {
		floorMs: ((4 * IDS_PER_EXECUTION) / RATE_LIMIT) * 1000,
	};
	private readonly expect: Expect;
	private readonly tokens = new Set<string>();

	constructor(
		private readonly cluster: QueueCluster,
		private readonly checks: Checks,
	) {
		this.expect = (name, passed, detail) => checks.check(SCOPE, name, passed, detail);
	}

	private async learnTokens(): Promise<void> {
		for (const request of await this.cluster.sim.requests()) {
			const header = request.headers.authorization;
			if (typeof header === 'string' && header.startsWith('Bearer '))
				this.tokens.add(header.slice(7));
		}
	}

	/** No password or token in anything the main and the workers printed. */
	checkNoSecretsPrinted(): void {
		const printed = [this.cluster.main, ...this.cluster.workers.map((worker) => worker.n8n)]
			.map((n8n) => n8n.serverOutput)
			.join('\n');
		const secrets = [this.cluster.sim.info.password, ...this.tokens];
		const leaked = secrets.filter((secret) => secret.length > 0 && printed.includes(secret));
		this.expect(
			`no password or token (${this.tokens.size} seen at the simulator) in the main's and the workers' logs`,
			this.tokens.size > 0 && leaked.length === 0,
			`${leaked.length} secret(s) printed`,
		);
	}

	/** The first execution logs in; the token goes into the shared credential. */
	async firstLogin(): Promise<WorkerName | undefined> {
		const ids = callIds('login', 20);
		await prepareSimulator(this.cluster, ids, RATE_LIMIT, true);
		this.checks.noteRun(`${SCOPE}: one execution (20 IDs) that logs in`);
		const { finished } = await runConcurrently(this.cluster, [
			{ workflow: ERASE_WORKFLOWS[0], ids },
		]);
		checkRuns(this.expect, 'first execution', finished);
		const record = await this.cluster.sim.record();
		this.expect(
			`first execution: 1 login at the simulator (got ${record.logins})`,
			record.logins === 1,
		);
		checkErasedOnce(this.expect, 'first execution', record, ids);
		await this.learnTokens();
		return finished[0]?.workers[0];
	}

	/** Check 1, and the token fetched by one worker reused by the other (no login at all). */
	async fourExecutions(loggedInOn: WorkerName | undefined): Promise<void> {
		const runs = ERASE_WORKFLOWS.map((workflow, index) => ({
			workflow,
			ids: callIds(`bulk${index + 1}`, IDS_PER_EXECUTION),
		}));
		const allIds = runs.flatMap((run) => run.ids);
		await prepareSimulator(this.cluster, allIds, RATE_LIMIT);
		step(`queue mode: 4 executions × ${IDS_PER_EXECUTION} IDs under one ${RATE_LIMIT} req/s limit`);
		this.checks.noteRun(
			`${SCOPE}: 4 concurrent webhook executions × ${IDS_PER_EXECUTION} IDs, ${RATE_LIMIT} req/s`,
		);
		const { wallMs, finished } = await runConcurrently(this.cluster, runs);
		checkRuns(this.expect, '4 executions', finished);
		const used = new Set(finished.flatMap((run) => run.workers));
		this.figures.workersOfFour = finished.map((run) => run.workers.join('+')).join(', ');
		this.expect(
			`4 executions: both workers ran executions (${this.figures.workersOfFour})`,
			used.size === WORKER_NAMES.length,
		);
		const record = await this.cluster.sim.record();
		checkErasedOnce(this.expect, '4 executions', record, allIds);
		this.expect(
			`4 executions: simulator counted ${record.duplicateErasures} duplicate erasure requests`,
			record.duplicateErasures === 0,
		);
		this.figures.fourExecutionsMs = wallMs;
		this.figures.rateLimited = record.rateLimited;
		this.expect(
			`4 executions: ${seconds(wallMs)} = ${(wallMs / this.figures.floorMs).toFixed(2)} × the ${seconds(this.figures.floorMs)} floor (not below it: the limit held); ${record.rateLimited} of ${record.requests} requests answered 429`,
			wallMs >= this.figures.floorMs,
		);
		const other = otherWorker(loggedInOn);
		this.expect(
			`login token fetched on ${loggedInOn ?? '?'} reused by ${other ?? '?'}: ${record.logins} logins during the 4 executions`,
			record.logins === 0 && other !== undefined && used.has(other),
		);
	}

	/** After the tokens expire, one execution logs in again; the other worker reuses that token. */
	async refreshReused(): Promise<void> {
		const first = callIds('refresh', 20);
		const runs = ERASE_WORKFLOWS.map((workflow, index) => ({
			workflow,
			ids: callIds(`reuse${index + 1}`, 250),
		}));
		await this.cluster.sim.expireTokens();
		await prepareSimulator(
			this.cluster,
			[...first, ...runs.flatMap((run) => run.ids)],
			RATE_LIMIT,
			true,
		);
		this.checks.noteRun(`${SCOPE}: tokens expired; 1 execution, then 4 executions × 250 IDs`);
		const refreshed = await runConcurrently(this.cluster, [
			{ workflow: ERASE_WORKFLOWS[0], ids: first },
		]);
		checkRuns(this.expect, 'after expiry', refreshed.finished);
		const afterRefresh = await this.cluster.sim.record();
		const refreshedOn = refreshed.finished[0]?.workers[0];
		this.expect(
			`after expiry: the first execution (on ${refreshedOn ?? '?'}) logged in once (got ${afterRefresh.logins})`,
			afterRefresh.logins === 1,
		);
		const { finished } = await runConcurrently(this.cluster, runs);
		checkRuns(this.expect, 'refreshed token', finished);
		const record = await this.cluster.sim.record();
		await this.learnTokens();
		const other = otherWorker(refreshedOn);
		const usedByOther = finished.some((run) => other !== undefined && run.workers.includes(other));
		this.expect(
			`refreshed token reused by ${other ?? '?'}: ${record.logins - afterRefresh.logins} more logins for 4 executions on ${finished.map((run) => run.workers.join('+')).join(', ')}`,
			record.logins === afterRefresh.logins && usedByOther,
		);
	}

	/** Check 3: SIGKILL the worker running an execution; n8n fails it; a re-run with Ignore Not Found finishes. */
	async workerKilled(): Promise<void> {
		const ids = callIds('killed', IDS_PER_EXECUTION);
		await prepareSimulator(this.cluster, ids, KILL_RUN_RATE_LIMIT);
		this.checks.noteRun(
			`${SCOPE}: worker killed mid-run (${IDS_PER_EXECUTION} IDs, ${KILL_RUN_RATE_LIMIT} req/s), re-run with Ignore Not Found`,
		);
		const mark = await lastExecutionId(this.cluster);
		const abort = new AbortController();
		const pending = postErasure(this.cluster, ERASE_WORKFLOWS[0], ids, abort.signal).catch(
			(error: unknown) => ({ status: 0, items: [], text: String(error) }),
		);
		try {
			const victim = await this.killWhenHalfWay(mark);
			if (!victim) return;
			await this.waitUntilMarkedFailed(victim.execution);
			await this.retryKilled(victim.execution);
			const killedAnswer = await Promise.race([pending, delay(5000).then(() => undefined)]);
			this.expect(
				`killed execution: the webhook caller got no per-ID results (${killedAnswer ? `answer ${killedAnswer.status} ${killedAnswer.text.slice(0, 80)}` : 'no answer yet'})`,
				(killedAnswer?.items.length ?? 0) === 0,
				killedAnswer?.text,
			);
			await this.rerunWithIgnoreNotFound(ids, victim.worker);
		} finally {
			abort.abort();
			await pending;
		}
	}

	private async killWhenHalfWay(
		mark: number,
	): Promise<{ execution: ExecutionRow; worker: WorkerName } | undefined> {
		const deadline = Date.now() + 120_000;
		while (Date.now() < deadline) {
			const [execution] = await executionRows(this.cluster, mark);
			const record = await this.cluster.sim.record();
			const worker = execution ? workersThatStarted(this.cluster, execution.id)[0] : undefined;
			if (execution && worker && record.erasedIds.length >= KILL_AFTER_ERASURES) {
				const pid = this.cluster.worker(worker).n8n.serverPid;
				await this.cluster.worker(worker).n8n.killServer();
				const atKill = (await this.cluster.sim.record()).erasedIds.length;
				this.figures.killedAtErasures = atKill;
				step(
					`queue mode: SIGKILL ${worker} (pid ${pid}) running execution ${execution.id}, ${atKill} of ${IDS_PER_EXECUTION} IDs erased`,
				);
				this.expect(
					`worker killed mid-run: ${worker} (pid ${pid}) ran execution ${execution.id}; SIGKILL after ${atKill} of ${IDS_PER_EXECUTION} erasures`,
					atKill < IDS_PER_EXECUTION,
				);
				return { execution, worker };
			}
			await delay(100);
		}
		this.expect('worker killed mid-run: the execution started and erased IDs', false);
		return undefined;
	}

	private async waitUntilMarkedFailed(execution: ExecutionRow): Promise<void> {
		const killedAt = Date.now();
		let status = '';
		while (Date.now() - killedAt < MARKED_FAILED_TIMEOUT_MS) {
			const rows = await executionRows(this.cluster, execution.id - 1);
			status = rows.find((row) => row.id === execution.id)?.status ?? '';
			if (TERMINAL_FAILURES.has(status) || status === 'success') break;
			await delay(1000);
		}
		const elapsed = Date.now() - killedAt;
		this.figures.killToFailedMs = elapsed;
		this.figures.failedStatus = status;
		this.expect(
			`killed execution ${execution.id}: n8n marked it "${status}" ${seconds(elapsed)} after the kill`,
			TERMINAL_FAILURES.has(status),
		);
	}

	/**
	 * "Retry" in the executions list, which n8n offers for the failed execution: what n8n kept of
	 * it, and what the retry sent. The node cannot help here: n8n kept no run of it to go on from.
	 */
	private async retryKilled(execution: ExecutionRow): Promise<void> {
		const rest = await N8nRest.signIn(this.cluster.main.baseUrl);
		const kept = await rest.execution(String(execution.id));
		const runs = runCount(kept.run, TWIN24_NODE);
		const sentBefore = (await this.cluster.sim.requests()).length;
		let outcome: string;
		try {
			const answer = await rest.post(`/executions/${execution.id}/retry`, { loadWorkflow: false });
			const retried = await rest.execution(isObject(answer) ? String(answer.id) : '');
			outcome = `retry "${retried.status}", the Twin24 node ran ${runCount(retried.run, TWIN24_NODE)} time(s)`;
		} catch (error) {
			outcome = `retry refused: ${error instanceof Error ? error.message.slice(0, 160) : String(error)}`;
		}
		const sent = (await this.cluster.sim.requests()).length - sentBefore;
		this.figures.retryOutcome = `kept ${runs} run(s) of the node; ${outcome}; ${sent} requests to Twin24`;
		step(`queue mode: Retry of the killed execution ${execution.id}: ${this.figures.retryOutcome}`);
		this.expect(
			`Retry of the killed execution: n8n kept no run of the node (${runs}) and the retry sent nothing (${sent}): ${outcome}`,
			runs === 0 && sent === 0,
		);
	}

	private async rerunWithIgnoreNotFound(ids: string[], killed: WorkerName): Promise<void> {
		const before = await this.cluster.sim.record();
		const erasedBefore = new Set(before.erasedIds);
		step(`queue mode: re-run of the same ${ids.length} IDs with Ignore Not Found`);
		const startedAt = Date.now();
		const { finished } = await runConcurrently(this.cluster, [{ workflow: FINISH_WORKFLOW, ids }]);
		this.figures.rerunMs = Date.now() - startedAt;
		const [rerun] = finished;
		checkRuns(this.expect, 're-run', finished);
		this.expect(
			`re-run ran on the surviving worker (${rerun?.workers.join('+') || 'none'})`,
			rerun !== undefined && rerun.workers.length === 1 && !rerun.workers.includes(killed),
		);
		const items = rerun?.answer.items ?? [];
		const reportedNotFound = items.filter((item) => item.notFound === true);
		const wronglyNotFound = reportedNotFound.filter(
			(item) => !erasedBefore.has(String(item.callId)),
		);
		this.figures.rerunNotFound = reportedNotFound.length;
		this.figures.rerunErased = items.length - reportedNotFound.length;
		this.expect(
			`re-run: ${reportedNotFound.length} items notFound (erased before the kill: ${erasedBefore.size}), ${this.figures.rerunErased} erased now`,
			reportedNotFound.length === erasedBefore.size && wronglyNotFound.length === 0,
		);
		const record = await this.cluster.sim.record();
		checkErasedOnce(this.expect, 'killed run + re-run', record, ids);
	}
}
