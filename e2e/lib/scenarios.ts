/**
 * The example workflows run inside real n8n, each checked twice: by what n8n printed (run data,
 * webhook response) and by what reached the Twin24 simulator (method, path, Authorization, body).
 */
import {
	BULK,
	LOGIN_CREDENTIAL,
	PATHS,
	RECORDING_CALL,
	TOKEN_CREDENTIAL,
	WEBHOOK,
	type CredentialRef,
} from './examples';
import type { N8nInstance } from './n8n';
import { tail } from './proc';
import type { Checks } from './report';
import {
	executionError,
	isObject,
	nodeItems,
	pairedIndex,
	runStatus,
	type JsonObject,
	type OutputItem,
} from './runData';
import type { LoggedRequest, SeedRequest, Simulator } from './simulator';

export interface ScenarioContext {
	label: string;
	n8n: N8nInstance;
	sim: Simulator;
	checks: Checks;
}

/** Workflow ids the e2e gives to the imported examples (n8n accepts ids of up to 21 characters). */
export const WORKFLOW_IDS = {
	bulkToken: 'tw24BulkToken001',
	bulkLogin: 'tw24BulkLogin001',
	recordingToken: 'tw24RecToken0001',
	recordingLogin: 'tw24RecLogin0001',
	webhook: 'tw24HookLogin001',
} as const;

interface ExpectedRequest {
	method: 'POST' | 'DELETE';
	path: string;
	/** For depersonalization: the skipDeleteRecord flag the body must carry (absent counts as false). */
	skipDeleteRecord?: boolean;
}

export type Expect = (name: string, passed: boolean, detail?: string) => boolean;

export function expecter(checks: Checks, scope: string): Expect {
	return (name, passed, detail) => checks.check(scope, name, passed, detail);
}

const isCis = (request: LoggedRequest): boolean => request.path.startsWith('/cis/api/v1/');
const isLogin = (request: LoggedRequest): boolean =>
	request.method === 'POST' && request.path === PATHS.login;

function authorizationOf(request: LoggedRequest): string {
	const value = request.headers.authorization;
	return Array.isArray(value) ? value.join(',') : (value ?? '');
}

function describeRequests(requests: LoggedRequest[]): string {
	return (
		requests.map((request) => `${request.method} ${request.path} → ${request.status}`).join('; ') ||
		'(none)'
	);
}

function bodyMatches(request: LoggedRequest, expected: ExpectedRequest): boolean {
	if (expected.method === 'DELETE') return request.body.trim() === '';
	if (!isObject(request.json)) return false;
	const flag = request.json.skipDeleteRecord ?? false;
	return flag === (expected.skipDeleteRecord ?? false);
}

/** The successful CIS requests must be exactly `expected` (in any order: the node runs them concurrently). */
function checkErasureRequests(
	expect: Expect,
	requests: LoggedRequest[],
	expected: ExpectedRequest[],
): void {
	const answered = requests.filter((request) => isCis(request) && request.status !== 401);
	const seen = answered.map((request) => `${request.method} ${request.path}`).sort();
	const wanted = expected.map((request) => `${request.method} ${request.path}`).sort();
	expect(
		`simulator received exactly ${wanted.length} erasure request(s), with the right methods and paths`,
		JSON.stringify(seen) === JSON.stringify(wanted),
		`expected ${wanted.join(', ')}; got ${describeRequests(answered)}`,
	);
	for (const want of expected) {
		const request = answered.find(
			(candidate) => candidate.method === want.method && candidate.path === want.path,
		);
		if (!request) continue;
		expect(
			`${want.method} ${want.path}: body ${want.method === 'DELETE' ? 'is empty' : `has skipDeleteRecord=${String(want.skipDeleteRecord ?? false)}`}`,
			bodyMatches(request, want),
			`body was ${JSON.stringify(request.body).slice(0, 200)}`,
		);
	}
}

function checkAuthorization(
	expect: Expect,
	requests: LoggedRequest[],
	credential: CredentialRef,
	accessToken: string,
): void {
	const cis = requests.filter(isCis);
	const headers = cis.map(authorizationOf);
	expect(
		'every CIS request carries Authorization: Bearer <token>',
		cis.length > 0 && headers.every((header) => /^Bearer \S{8,}$/.test(header)),
		`Authorization headers: ${JSON.stringify(headers.map((header) => header.slice(0, 12)))}`,
	);
	if (credential.mode === 'accessToken') {
		expect(
			'access-token mode: the pasted token is sent as-is, and no login happens',
			headers.every((header) => header === `Bearer ${accessToken}`) && !requests.some(isLogin),
			describeRequests(requests),
		);
	}
}

export function checkNoSecrets(expect: Expect, printed: string, secrets: string[]): void {
	const leaked = secrets.filter((secret) => secret.length > 0 && printed.includes(secret));
	expect(
		'no password or token in what n8n printed (run data and logs)',
		leaked.length === 0,
		`${leaked.length} secret(s) printed`,
	);
}

/** Bearer tokens the simulator saw (the ones issued by logins too), to look for in n8n's output. */
function tokensSeen(requests: LoggedRequest[]): string[] {
	return requests
		.map(authorizationOf)
		.filter((header) => header.startsWith('Bearer '))
		.map((header) => header.slice(7));
}

export function checkPairing(expect: Expect, nodeName: string, items: OutputItem[]): void {
	const misPaired = items.filter((item, index) => pairedIndex(item.pairedItem) !== index);
	expect(
		`${nodeName}: one output item per input item, in order, pairedItem set`,
		misPaired.length === 0,
		`${misPaired.length} item(s) unpaired`,
	);
}

function jsonOf(items: OutputItem[], key: string, value: string): JsonObject | undefined {
	return items.find((item) => item.json[key] === value)?.json;
}

export async function prepare(sim: Simulator, seed: SeedRequest): Promise<void> {
	await sim.reset();
	await sim.seed(seed);
}

export interface ExecutedRun {
	run: unknown;
	requests: LoggedRequest[];
	printed: string;
}

/** `n8n execute --id … --rawOutput`, then the simulator's log of what it received meanwhile. */
export async function executeWorkflow(
	ctx: ScenarioContext,
	expect: Expect,
	workflowId: string,
): Promise<ExecutedRun | undefined> {
	const { result, output } = await ctx.n8n.execute(workflowId);
	const printed = `${result.stdout}\n${result.stderr}`;
	const requests = await ctx.sim.requests();
	expect(
		'`n8n execute` exits with 0',
		result.code === 0,
		`exit code ${result.code}; stderr: ${tail(result.stderr, 1500)}`,
	);
	if (
		!expect(
			'`n8n execute --rawOutput` printed the run data as JSON',
			output !== undefined,
			tail(printed, 1500),
		)
	)
		return undefined;
	expect(
		'execution finished without a workflow error',
		executionError(output) === undefined && runStatus(output) !== 'error',
		executionError(output),
	);
	return { run: output, requests, printed };
}

export function secretsFor(ctx: ScenarioContext, requests: LoggedRequest[]): string[] {
	return [ctx.sim.info.password, ctx.sim.info.accessToken, ...tokensSeen(requests)];
}

/** scheduled-bulk-erasure.json: calls and candidates in bulk, Continue On Fail, IF branch for failures. */
export async function runBulkExample(
	ctx: ScenarioContext,
	credential: CredentialRef,
): Promise<void> {
	const scope = `${ctx.label} bulk/${credential.mode}`;
	const expect = expecter(ctx.checks, scope);
	await prepare(ctx.sim, {
		calls: [...BULK.seededCalls],
		candidates: [...BULK.candidates],
		hasRecord: true,
	});
	const workflowId =
		credential.mode === 'accessToken' ? WORKFLOW_IDS.bulkToken : WORKFLOW_IDS.bulkLogin;
	ctx.checks.noteRun(
		`${ctx.label}: scheduled-bulk-erasure.json (${credential.mode}) via n8n execute`,
	);
	const executed = await executeWorkflow(ctx, expect, workflowId);
	if (!executed) return;
	const { run, requests } = executed;

	const calls = nodeItems(run, 'Depersonalize calls');
	expect(
		'Depersonalize calls: 4 items out',
		calls.length === 4,
		`got ${calls.length}: ${JSON.stringify(calls.map((item) => item.json))}`,
	);
	checkPairing(expect, 'Depersonalize calls', calls);
	for (const id of BULK.seededCalls) {
		const json = jsonOf(calls, 'callId', id);
		expect(
			`call ${id}: success, recording deleted`,
			json?.success === true && json.recordDeleted === true,
			JSON.stringify(json),
		);
	}
	const unknown = jsonOf(calls, 'callId', BULK.unknownCall);
	expect(
		`unknown call: success with notFound (Ignore Not Found)`,
		unknown?.success === true && unknown.notFound === true,
		JSON.stringify(unknown),
	);
	const blank = jsonOf(calls, 'callId', BULK.blankCall);
	expect(
		'blank call ID: success false with an error message (Continue On Fail)',
		blank?.success === false && typeof blank.error === 'string' && blank.error.length > 0,
		JSON.stringify(blank),
	);

	const candidates = nodeItems(run, 'Depersonalize candidates');
	expect(
		'Depersonalize candidates: 2 items out',
		candidates.length === 2,
		JSON.stringify(candidates.map((item) => item.json)),
	);
	for (const id of BULK.candidates) {
		const json = jsonOf(candidates, 'autoCallCandidateId', id);
		expect(`candidate ${id}: success`, json?.success === true, JSON.stringify(json));
	}

	const erased = nodeItems(run, 'Erased?', 0);
	const failed = nodeItems(run, 'Erased?', 1);
	expect(
		'IF "Erased?": 5 items on true, 1 on false',
		erased.length === 5 && failed.length === 1,
		`true ${erased.length}, false ${failed.length}`,
	);
	const report = nodeItems(run, 'Failure report');
	expect(
		'Failure report built one alert for the failed item',
		report.length === 1 &&
			String(report[0]?.json.alert ?? '').startsWith('Twin24 erasure failed for call ""'),
		JSON.stringify(report.map((item) => item.json)),
	);

	checkErasureRequests(expect, requests, [
		...BULK.seededCalls.map((id) => ({
			method: 'POST' as const,
			path: PATHS.callDepersonalize(id),
			skipDeleteRecord: false,
		})),
		{ method: 'POST', path: PATHS.callDepersonalize(BULK.unknownCall), skipDeleteRecord: false },
		...BULK.candidates.map((id) => ({
			method: 'POST' as const,
			path: PATHS.candidateDepersonalize(id),
			skipDeleteRecord: false,
		})),
	]);
	checkAuthorization(expect, requests, credential, ctx.sim.info.accessToken);
	if (credential.mode === 'emailPassword') {
		const logins = requests.filter(isLogin);
		expect(
			'email/password mode: n8n logged in at IAM (POST /auth/login with the email) before erasing',
			logins.length >= 1 &&
				logins.every(
					(login) =>
						isObject(login.json) && login.json.email === ctx.sim.info.email && login.status === 200,
				),
			describeRequests(requests),
		);
	}
	checkNoSecrets(expect, executed.printed, secretsFor(ctx, requests));
}

/** delete-call-recording.json: DELETE /calls/{id}/record and nothing else. */
export async function runRecordingExample(
	ctx: ScenarioContext,
	credential: CredentialRef,
	tokenExpectation: 'any' | 'reused' | 'refreshed',
): Promise<void> {
	const scope = `${ctx.label} recording/${credential.mode}${tokenExpectation === 'any' ? '' : `/${tokenExpectation}`}`;
	const expect = expecter(ctx.checks, scope);
	if (tokenExpectation === 'refreshed') {
		await ctx.sim.expireTokens();
	}
	await prepare(ctx.sim, { calls: [RECORDING_CALL], hasRecord: true });
	const workflowId =
		credential.mode === 'accessToken' ? WORKFLOW_IDS.recordingToken : WORKFLOW_IDS.recordingLogin;
	ctx.checks.noteRun(
		`${ctx.label}: delete-call-recording.json (${credential.mode}${tokenExpectation === 'any' ? '' : `, token ${tokenExpectation}`}) via n8n execute`,
	);
	const executed = await executeWorkflow(ctx, expect, workflowId);
	if (!executed) return;
	const { run, requests } = executed;

	const items = nodeItems(run, 'Delete recording');
	const json = items[0]?.json;
	expect(
		'Delete recording: one item, success, recordDeleted',
		items.length === 1 &&
			json?.success === true &&
			json.recordDeleted === true &&
			json.callId === RECORDING_CALL,
		JSON.stringify(items.map((item) => item.json)),
	);
	checkErasureRequests(expect, requests, [
		{ method: 'DELETE', path: PATHS.callRecord(RECORDING_CALL) },
	]);
	checkAuthorization(expect, requests, credential, ctx.sim.info.accessToken);
	const logins = requests.filter(isLogin).length;
	if (tokenExpectation === 'reused') {
		expect(
			'token kept by n8n from the previous run and reused: no new login',
			logins === 0,
			describeRequests(requests),
		);
	}
	if (tokenExpectation === 'refreshed') {
		const refused = requests.filter((request) => isCis(request) && request.status === 401).length;
		expect(
			'expired token: CIS answered 401, n8n logged in again once and the retry succeeded',
			refused >= 1 && logins === 1,
			describeRequests(requests),
		);
	}
	checkNoSecrets(expect, executed.printed, secretsFor(ctx, requests));
}

export interface WebhookReply {
	status: number;
	body: unknown;
}

/** POSTs `body` to the production webhook at `path`, once n8n has registered it. */
export async function postToWebhook(
	baseUrl: string,
	path: string,
	body: unknown,
	timeoutMs: number,
): Promise<WebhookReply> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const response = await fetch(`${baseUrl}/webhook/${path}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify(body),
		});
		const text = await response.text();
		// Right after start-up the production webhook may not be registered yet, or n8n may still
		// answer 503 "n8n is starting up"; neither ran the workflow.
		const notReady =
			response.status === 404 || response.status === 503 || text.includes('n8n is starting up');
		if (!notReady || Date.now() > deadline) {
			return { status: response.status, body: text.length > 0 ? safeJson(text) : undefined };
		}
		await new Promise((resolve) => setTimeout(resolve, 1000));
	}
}

function safeJson(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch {
		return text;
	}
}

/** crm-erasure-webhook.json: a CRM POSTs to the live (published) webhook; Respond to Webhook answers per call. */
export async function runWebhookExample(ctx: ScenarioContext): Promise<void> {
	const scope = `${ctx.label} webhook/${LOGIN_CREDENTIAL.mode}`;
	const expect = expecter(ctx.checks, scope);
	await prepare(ctx.sim, { calls: [...WEBHOOK.seededCalls], hasRecord: true });
	ctx.checks.noteRun(
		`${ctx.label}: crm-erasure-webhook.json (${LOGIN_CREDENTIAL.mode}) via POST /webhook/${WEBHOOK.path} on n8n start`,
	);
	const callIds = [...WEBHOOK.seededCalls, WEBHOOK.unknownCall];
	const reply = await postToWebhook(
		ctx.n8n.baseUrl,
		WEBHOOK.path,
		{ requestId: 'crm-4711', callIds },
		60_000,
	);
	const requests = await ctx.sim.requests();
	expect(
		'webhook answered 200',
		reply.status === 200,
		`status ${reply.status}: ${JSON.stringify(reply.body).slice(0, 500)}`,
	);
	const results = Array.isArray(reply.body) ? reply.body.filter(isObject) : [];
	expect(
		'Respond to Webhook returned one result per call ID, in order',
		results.map((result) => result.callId).join() === callIds.join(),
		JSON.stringify(reply.body).slice(0, 600),
	);
	for (const id of WEBHOOK.seededCalls) {
		const json = results.find((result) => result.callId === id);
		expect(
			`call ${id}: success, recording deleted`,
			json?.success === true && json.recordDeleted === true,
			JSON.stringify(json),
		);
	}
	const unknown = results.find((result) => result.callId === WEBHOOK.unknownCall);
	expect(
		'unknown call: success with notFound',
		unknown?.success === true && unknown.notFound === true,
		JSON.stringify(unknown),
	);
	checkErasureRequests(
		expect,
		requests,
		callIds.map((id) => ({
			method: 'POST' as const,
			path: PATHS.callDepersonalize(id),
			skipDeleteRecord: false,
		})),
	);
	checkAuthorization(expect, requests, LOGIN_CREDENTIAL, ctx.sim.info.accessToken);
	checkNoSecrets(expect, JSON.stringify(reply.body ?? ''), secretsFor(ctx, requests));
}

export const EXECUTE_CREDENTIALS: readonly CredentialRef[] = [TOKEN_CREDENTIAL, LOGIN_CREDENTIAL];
