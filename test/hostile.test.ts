/**
 * Hostile input (issue 4): every case runs Items → Twin24 in n8n's real engine against the
 * simulator over real HTTP, asserts the exact outcome (the one request that reached the
 * simulator, or no request at all for an invalid item or an unusable credential) and scans everything the run left behind
 * for the token and the password. The case tables live in ./hostile/.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

import type { IDataObject, INodeParameters } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { loginCredentials, secretsIn, tokenCredentials } from './accounts';
import type { NodeThrownError, Twin24RunResult } from './harness/engine';
import {
	CredentialStore,
	TWIN24_CREDENTIAL_ID,
	TWIN24_CREDENTIAL_TYPE,
	capturedN8nLog,
	clearCapturedN8nLog,
	testCredential,
} from './harness/engine';
import { apiMessageOf } from '../nodes/Twin24/transport/http';
import type { AnswerCase, AnswerContext } from './hostile/answers';
import { ANSWER_CASES } from './hostile/answers';
import type { BaseUrlCase } from './hostile/baseUrls';
import { BASE_URL_CASES, ERASURE_ID } from './hostile/baseUrls';
import type { CredentialCase } from './hostile/credentials';
import { CREDENTIAL_CASES, LOGIN_TIMEOUT_CASE_MS } from './hostile/credentials';
import type { CredentialTestCase } from './hostile/credentialTest';
import { CREDENTIAL_TEST_CASES } from './hostile/credentialTest';
import type { IdCase } from './hostile/ids';
import { ID_CASES } from './hostile/ids';
import type { Matcher, OperationUnderTest, Outcome } from './hostile/shared';
import { CALL_DEPERSONALIZE, OPERATIONS } from './hostile/shared';
import type { RecordedRequest, SimulatorOptions } from './simulator/simulator';
import {
	CIS_BASE_PATH,
	DEMO_ACCESS_TOKEN,
	DEMO_EMAIL,
	DEMO_PASSWORD,
	DEMO_READONLY_ACCESS_TOKEN,
	Twin24Simulator,
} from './simulator/simulator';
import { callIds, startSimulator } from './support';
import { idItems, operationParameters, run } from './workflow';

// ---------------------------------------------------------------- counts

let hostileCases = 0;
let secretScans = 0;

/** Each case's secret scan reads n8n's log: only what that case logged. */
beforeEach(() => clearCapturedN8nLog());

afterAll(() => {
	console.log(`hostile cases: ${hostileCases}, secret-scan checks: ${secretScans}`);
});

// ---------------------------------------------------------------- small helpers

/** Options that keep a case short: no retries, and a timeout well below the test's. */
const FAST_OPTIONS = { timeout: 5000, maxRetries: 0 };
/** Longest error message a user should have to read (300 characters of the API's message plus ours). */
const MAX_MESSAGE_LENGTH = 600;
const DEFAULT_MAX_DURATION_MS = 4000;
/** A path segment as a client must send it: unreserved, sub-delims, ':' '@' and %XX only. */
const ENCODED_SEGMENT = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-F]{2})+$/;

type ItemOptions = { timeout?: number; maxRetries?: number; concurrency?: number };

function parametersFor(op: OperationUnderTest, options: ItemOptions = {}): INodeParameters {
	return operationParameters(op.resource, op.operation, {
		options: { ...FAST_OPTIONS, ...options },
	});
}

async function withSimulator<T>(
	options: SimulatorOptions,
	body: (sim: Twin24Simulator) => Promise<T>,
): Promise<T> {
	const sim = await startSimulator(options);
	try {
		return await body(sim);
	} finally {
		await sim.stop();
	}
}

/** A simulator that knows the demo user but no access token, so every pasted token is wrong. */
async function simulatorWithoutTokens(): Promise<Twin24Simulator> {
	const sim = await Twin24Simulator.start();
	sim.addUser(DEMO_EMAIL, DEMO_PASSWORD);
	return sim;
}

function expectNoSecrets(result: Twin24RunResult, sim?: Twin24Simulator): void {
	secretScans++;
	expect(secretsIn(result, sim)).toEqual([]);
}

const KNOWN_SECRETS = [DEMO_ACCESS_TOKEN, DEMO_READONLY_ACCESS_TOKEN, DEMO_PASSWORD];

/** For results that are not run data (the credential test): the texts plus n8n's log. */
function expectNoSecretsInTexts(texts: readonly string[]): void {
	secretScans++;
	const haystack = [...texts, JSON.stringify(capturedN8nLog())].join('\n');
	expect(KNOWN_SECRETS.filter((secret) => haystack.includes(secret))).toEqual([]);
}

function erasureRequests(sim: Twin24Simulator, from = 0): RecordedRequest[] {
	return sim.requests
		.slice(from)
		.filter((request) => request.route !== 'login' && request.route !== 'me');
}

function loginRequests(sim: Twin24Simulator, from = 0): RecordedRequest[] {
	return sim.requests.slice(from).filter((request) => request.route === 'login');
}

function expectShows(text: string, matchers: readonly Matcher[]): void {
	for (const matcher of matchers) {
		if (typeof matcher === 'string') expect(text).toContain(matcher);
		else expect(text).toMatch(matcher);
	}
}

function expectHides(text: string, patterns: readonly RegExp[]): void {
	for (const pattern of patterns) expect(text).not.toMatch(pattern);
}

function errorText(error: NodeThrownError): string {
	return `${error.message}\n${error.description ?? ''}`;
}

function itemIndexOf(error: NodeThrownError): number | undefined {
	const itemIndex = error.context?.itemIndex;
	return typeof itemIndex === 'number' ? itemIndex : undefined;
}

/** The raw path segment between the operation's fixed parts, or undefined when the shape differs. */
function idSegmentOf(op: OperationUnderTest, path: string): string | undefined {
	if (!path.startsWith(op.pathBefore) || !path.endsWith(op.pathAfter)) return undefined;
	return path.slice(op.pathBefore.length, path.length - op.pathAfter.length);
}

function expectOneEncodedSegment(
	op: OperationUnderTest,
	request: RecordedRequest,
	id: string,
): void {
	expect(request.method).toBe(op.method);
	expect(request.route).toBe(op.route);
	expect(request.query).toBe('');
	expect(request.id).toBe(id);
	const segment = idSegmentOf(op, request.path);
	expect(segment).toMatch(ENCODED_SEGMENT);
	expect(decodeURIComponent(segment ?? '')).toBe(id);
}

// ---------------------------------------------------------------- outcomes

interface RunShape {
	op: OperationUnderTest;
	/** The ID each item asked for (as text). */
	ids: readonly string[];
	continueOnFail: boolean;
}

function expectOutcome(result: Twin24RunResult, outcome: Outcome, shape: RunShape): void {
	switch (outcome.kind) {
		case 'success':
			return expectAllDone(result, shape);
		case 'notSent':
			return expectNothingSent(result, outcome.shows);
		case 'failure':
			if (shape.continueOnFail) return expectEveryItemFailed(result, outcome, shape);
			return expectThrownFailure(result, outcome, shape);
	}
}

function expectAllDone(result: Twin24RunResult, { op, ids }: RunShape): void {
	expect(result.error).toBeUndefined();
	expect(result.output?.map((item) => item.json)).toEqual(
		ids.map((id) => expect.objectContaining({ success: true, [op.idField]: id })),
	);
}

function expectNothingSent(result: Twin24RunResult, shows: readonly Matcher[]): void {
	const error = result.error;
	expect(error).toBeInstanceOf(NodeOperationError);
	if (!error) return;
	expectShows(error.message, shows);
	expect(error.description).toBeTruthy();
	expect(error.message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
}

function expectThrownFailure(
	result: Twin24RunResult,
	outcome: Extract<Outcome, { kind: 'failure' }>,
	{ op, ids }: RunShape,
): void {
	const error = result.error;
	expect(error).toBeInstanceOf(NodeApiError);
	if (!error) return;
	const itemIndex = itemIndexOf(error);
	expect(itemIndex).toBeDefined();
	expectFailureMessage(error.message, outcome, op, ids[itemIndex ?? 0], itemIndex ?? 0);
	expect(error.description).toBeTruthy();
	expectShows(errorText(error), outcome.shows);
	expectHides(errorText(error), outcome.hides ?? []);
	if (outcome.status !== undefined) expect(error.httpCode).toBe(String(outcome.status));
}

function expectEveryItemFailed(
	result: Twin24RunResult,
	outcome: Extract<Outcome, { kind: 'failure' }>,
	{ op, ids }: RunShape,
): void {
	expect(result.error).toBeUndefined();
	const output = result.output ?? [];
	expect(output).toHaveLength(ids.length);
	output.forEach((item, itemIndex) => {
		expect(item.pairedItem).toEqual({ item: itemIndex });
		expect(item.json.success).toBe(false);
		expect(item.json[op.idField]).toBe(ids[itemIndex]);
		const error = item.json.error;
		expect(typeof error).toBe('string');
		const message = String(error);
		expectFailureMessage(message, outcome, op, ids[itemIndex], itemIndex);
		expectShows(message, outcome.shows);
		expectHides(message, outcome.hides ?? []);
		if (outcome.status === undefined) expect(item.json).not.toHaveProperty('statusCode');
		else expect(item.json.statusCode).toBe(outcome.status);
	});
}

/** What every failure message holds: the action, the ID, the item, the status; and it is short. */
function expectFailureMessage(
	message: string,
	outcome: Extract<Outcome, { kind: 'failure' }>,
	op: OperationUnderTest,
	id: string,
	itemIndex: number,
): void {
	expect(message).toMatch(op.action);
	expect(message).toContain(`"${id}"`);
	expect(message).toContain(`item ${itemIndex}`);
	if (outcome.status !== undefined) expect(message).toContain(`HTTP ${outcome.status}`);
	expect(message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
}

// ---------------------------------------------------------------- IDs

async function runIdCase(op: OperationUnderTest, idCase: IdCase): Promise<void> {
	hostileCases++;
	await withSimulator({ acceptAnyId: true }, async (sim) => {
		const result = await run({
			items: idItems([idCase.id]),
			parameters: parametersFor(op),
			credentials: tokenCredentials(sim),
		});
		expectNoSecrets(result, sim);
		if ('sent' in idCase.expect) {
			const id = idCase.expect.sent;
			expect(result.error).toBeUndefined();
			expect(sim.requests).toHaveLength(1);
			expectOneEncodedSegment(op, sim.requests[0], id);
			expect(sim.requests[0].status).toBe(200);
			expectAllDone(result, { op, ids: [id], continueOnFail: false });
		} else {
			expect(sim.requests).toEqual([]);
			expectInvalidId(result.error, op, 0, idCase.expect.invalid);
		}
	});
}

function expectInvalidId(
	error: NodeThrownError | undefined,
	op: OperationUnderTest,
	itemIndex: number,
	reason: RegExp,
): void {
	expect(error).toBeInstanceOf(NodeOperationError);
	if (!error) return;
	expect(itemIndexOf(error)).toBe(itemIndex);
	expect(error.message).toContain(op.idLabel);
	expect(error.message).toContain(`item ${itemIndex}`);
	expect(error.message).toMatch(reason);
	expect(error.message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
	// How to fix it: point the ID field at the right data.
	expect(error.description).toContain(op.idLabel);
}

describe.each(OPERATIONS)('IDs: $name', (op) => {
	test.each(ID_CASES)('$name', async (idCase) => await runIdCase(op, idCase));
});

// ---------------------------------------------------------------- IDs in a batch

interface BatchCase {
	name: string;
	ids: readonly unknown[];
	continueOnFail: boolean;
	/** IDs that must reach the simulator, in order. */
	sent: readonly string[];
	/** Items with an invalid ID. */
	invalid: readonly number[];
}

const BATCH_CASES: readonly BatchCase[] = [
	{
		name: 'one bad ID among good ones: the run stops there, nothing after it is sent',
		ids: ['call-1', '1/../../x', 'call-2'],
		continueOnFail: false,
		sent: ['call-1'],
		invalid: [1],
	},
	{
		name: 'a bad last item stops the run at that item',
		ids: ['call-1', 'call-2', '   '],
		continueOnFail: false,
		sent: ['call-1', 'call-2'],
		invalid: [2],
	},
	{
		name: 'Continue On Fail: bad items fail alone, good ones are sent',
		ids: ['call-1', '1/../../x', 'call-2', null, 'call-3?x=1'],
		continueOnFail: true,
		sent: ['call-1', 'call-2'],
		invalid: [1, 3, 4],
	},
];

async function runBatchCase(batch: BatchCase): Promise<void> {
	hostileCases++;
	await withSimulator({ acceptAnyId: true }, async (sim) => {
		const op = CALL_DEPERSONALIZE;
		const result = await run({
			items: idItems(batch.ids),
			parameters: parametersFor(op, { concurrency: 1 }),
			credentials: tokenCredentials(sim),
			continueOnFail: batch.continueOnFail,
		});
		expectNoSecrets(result, sim);
		expect(sim.requests.map((request) => request.id)).toEqual(batch.sent);
		sim.requests.forEach((request, index) =>
			expectOneEncodedSegment(op, request, batch.sent[index]),
		);
		if (batch.continueOnFail) expectBatchOutput(result, batch, op);
		else {
			expectInvalidId(result.error, op, batch.invalid[0], /./);
			// Items are read in turn, so the items before the bad one are done; the error says so.
			expect(result.error?.description).toContain(
				`${batch.sent.length} of ${batch.ids.length} items were done`,
			);
		}
	});
}

function expectBatchOutput(
	result: Twin24RunResult,
	batch: BatchCase,
	op: OperationUnderTest,
): void {
	expect(result.error).toBeUndefined();
	const output = result.output ?? [];
	expect(output).toHaveLength(batch.ids.length);
	output.forEach((item, itemIndex) => {
		expect(item.pairedItem).toEqual({ item: itemIndex });
		expect(item.json[op.idField]).toEqual(batch.ids[itemIndex] as IDataObject[string]);
		if (batch.invalid.includes(itemIndex)) {
			expect(item.json.success).toBe(false);
			expect(String(item.json.error)).toContain(`item ${itemIndex}`);
		} else {
			expect(item.json.success).toBe(true);
		}
	});
}

describe('IDs in a batch', () => {
	test.each(BATCH_CASES)('$name', async (batch) => await runBatchCase(batch));
});

// ---------------------------------------------------------------- base URLs

async function runBaseUrlCase(urlCase: BaseUrlCase): Promise<void> {
	hostileCases++;
	await withSimulator({}, async (sim) => {
		sim.addCalls([ERASURE_ID]);
		const base = urlCase.mode === 'token' ? tokenCredentials(sim) : loginCredentials(sim);
		const result = await run({
			items: idItems([ERASURE_ID]),
			parameters: parametersFor(CALL_DEPERSONALIZE),
			credentials: { ...base, ...urlCase.urls(sim) },
		});
		expectNoSecrets(result, sim);
		const erasures = erasureRequests(sim);
		if ('unusable' in urlCase.expect) {
			expect(sim.requests).toEqual([]);
			expectNothingSent(result, [urlCase.expect.unusable, urlCase.expect.reason]);
			expect(result.error?.description).toMatch(/credential/);
		} else {
			expect(erasures.map((request) => request.path)).toEqual([urlCase.expect.path]);
			expect(erasures[0].status).toBe(urlCase.expect.status);
			expect(loginRequests(sim)).toHaveLength(urlCase.mode === 'login' ? 1 : 0);
			const outcome: Outcome =
				urlCase.expect.status === 200
					? { kind: 'success' }
					: { kind: 'failure', status: urlCase.expect.status, shows: [] };
			expectOutcome(result, outcome, {
				op: CALL_DEPERSONALIZE,
				ids: [ERASURE_ID],
				continueOnFail: false,
			});
		}
	});
}

describe('base URLs', () => {
	test.each(BASE_URL_CASES)('$mode: $name', async (urlCase) => await runBaseUrlCase(urlCase));
});

// ---------------------------------------------------------------- server answers

async function runAnswerCase(answerCase: AnswerCase): Promise<void> {
	hostileCases++;
	await withSimulator({}, async (sim) => {
		await withSimulator({ acceptAnyId: true }, async (elsewhere) => {
			const ctx: AnswerContext = { sim, elsewhere, id: 'call-hostile' };
			sim.addCalls([ctx.id]);
			answerCase.arrange(ctx);
			const continueOnFail = answerCase.continueOnFail === true;
			const result = await run({
				items: idItems([ctx.id]),
				parameters: parametersFor(CALL_DEPERSONALIZE, answerCase.options),
				credentials: tokenCredentials(sim),
				continueOnFail,
			});
			expectNoSecrets(result, sim);
			const outcome =
				typeof answerCase.expect === 'function' ? answerCase.expect(ctx) : answerCase.expect;
			const erasures = erasureRequests(sim);
			expect(erasures).toHaveLength(answerCase.requests);
			for (const request of erasures) expectOneEncodedSegment(CALL_DEPERSONALIZE, request, ctx.id);
			expect(elsewhere.requests).toEqual([]);
			expectOutcome(result, outcome, { op: CALL_DEPERSONALIZE, ids: [ctx.id], continueOnFail });
			expect(result.result.durationMs).toBeLessThan(
				answerCase.maxDurationMs ?? DEFAULT_MAX_DURATION_MS,
			);
		});
	});
}

describe('server answers', () => {
	test.each(ANSWER_CASES)('$name', async (answerCase) => await runAnswerCase(answerCase));
});

// ---------------------------------------------------------------- bodies that trickle

/**
 * A body the simulator cannot script: headers at once, then one byte every 100 ms, forever.
 * Only the per-request timeout can end it. The server logs what reached it.
 */
class TrickleServer {
	readonly requests: string[] = [];
	private readonly sockets = new Set<Socket>();
	private readonly pumps = new Set<NodeJS.Timeout>();

	private constructor(
		private readonly server: Server,
		readonly cisBaseUrl: string,
	) {}

	static async start(status: number): Promise<TrickleServer> {
		const server = createServer();
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		const address = server.address();
		const port = typeof address === 'object' && address !== null ? address.port : 0;
		const trickle = new TrickleServer(server, `http://127.0.0.1:${port}${CIS_BASE_PATH}`);
		server.on('connection', (socket: Socket) => {
			trickle.sockets.add(socket);
			socket.once('close', () => trickle.sockets.delete(socket));
		});
		server.on('request', (req: IncomingMessage, res: ServerResponse) =>
			trickle.answer(req, res, status),
		);
		return trickle;
	}

	private answer(req: IncomingMessage, res: ServerResponse, status: number): void {
		this.requests.push(`${req.method ?? ''} ${req.url ?? ''}`);
		req.resume();
		res.writeHead(status, { 'content-type': 'application/json' });
		res.write('{"message":"');
		const pump = setInterval(() => res.write('.'), 100);
		this.pumps.add(pump);
		res.once('close', () => {
			clearInterval(pump);
			this.pumps.delete(pump);
		});
	}

	async stop(): Promise<void> {
		for (const pump of this.pumps) clearInterval(pump);
		const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
		for (const socket of this.sockets) socket.destroy();
		await closed;
	}
}

interface TrickleCase {
	name: string;
	status: number;
	options: ItemOptions;
	expect: Outcome;
}

const TRICKLE_CASES: readonly TrickleCase[] = [
	{
		name: 'an error body that trickles forever ends at the timeout',
		status: 500,
		options: { timeout: 1000, maxRetries: 0 },
		expect: { kind: 'failure', shows: [/did not answer in time/] },
	},
	{
		name: 'a 200 whose body trickles forever counts as done',
		status: 200,
		options: { timeout: 1000, maxRetries: 0 },
		expect: { kind: 'success' },
	},
	{
		name: 'a 200 whose body trickles forever is never sent again',
		status: 200,
		options: { timeout: 1000, maxRetries: 1 },
		expect: { kind: 'success' },
	},
];

async function runTrickleCase(trickleCase: TrickleCase): Promise<void> {
	hostileCases++;
	const server = await TrickleServer.start(trickleCase.status);
	try {
		const result = await run({
			items: idItems([ERASURE_ID]),
			parameters: parametersFor(CALL_DEPERSONALIZE, trickleCase.options),
			credentials: {
				authMode: 'accessToken',
				accessToken: DEMO_ACCESS_TOKEN,
				cisBaseUrl: server.cisBaseUrl,
			},
		});
		expectNoSecrets(result);
		expect(server.requests).toEqual([
			`POST ${CIS_BASE_PATH}/calls/${ERASURE_ID}/depersonalization`,
		]);
		expectOutcome(result, trickleCase.expect, {
			op: CALL_DEPERSONALIZE,
			ids: [ERASURE_ID],
			continueOnFail: false,
		});
		expect(result.result.durationMs).toBeLessThan(2500);
	} finally {
		await server.stop();
	}
}

describe('bodies that trickle', () => {
	test.each(TRICKLE_CASES)('$name', async (trickleCase) => await runTrickleCase(trickleCase));
});

// ---------------------------------------------------------------- credentials

function expectCount(actual: number, expected: number | { atMost: number }): void {
	if (typeof expected === 'number') expect(actual).toBe(expected);
	else expect(actual).toBeLessThanOrEqual(expected.atMost);
}

async function runCredentialCase(credentialCase: CredentialCase): Promise<void> {
	hostileCases++;
	const sim = credentialCase.noKnownTokens
		? await simulatorWithoutTokens()
		: await startSimulator();
	try {
		const ids = callIds(credentialCase.items);
		sim.addCalls([...ids, 'call-warm-up']);
		const store = new CredentialStore();
		const credentials = credentialCase.credentials(sim);
		const parameters = parametersFor(CALL_DEPERSONALIZE, credentialCase.options);
		if (credentialCase.warmUp) {
			const warmUp = await run({
				items: idItems(['call-warm-up']),
				parameters,
				credentials,
				store,
			});
			expect(warmUp.error).toBeUndefined();
		}
		await credentialCase.arrange?.(sim);
		const before = sim.requests.length;
		const continueOnFail = credentialCase.continueOnFail === true;
		const result = await run({
			items: idItems(ids),
			parameters,
			credentials,
			store,
			continueOnFail,
		});
		expectNoSecrets(result, sim);

		expect(loginRequests(sim, before)).toHaveLength(credentialCase.logins);
		const erasures = erasureRequests(sim, before);
		expectCount(erasures.length, credentialCase.erasures);
		if (credentialCase.sentBearer !== undefined) {
			for (const request of erasures)
				expect(request.headers.authorization).toBe(credentialCase.sentBearer);
		}
		expect(sim.requests.some((request) => 'x-injected' in request.headers)).toBe(false);
		expectOutcome(result, credentialCase.expect, { op: CALL_DEPERSONALIZE, ids, continueOnFail });
		expect(result.result.durationMs).toBeLessThan(
			credentialCase.maxDurationMs ?? DEFAULT_MAX_DURATION_MS,
		);
	} finally {
		await sim.stop();
	}
}

describe('credentials', () => {
	test.each(CREDENTIAL_CASES)(
		'$name',
		async (credentialCase) => await runCredentialCase(credentialCase),
		LOGIN_TIMEOUT_CASE_MS,
	);
});

// ---------------------------------------------------------------- n8n's credential test

async function runCredentialTestCase(testCase: CredentialTestCase): Promise<void> {
	hostileCases++;
	await withSimulator({}, async (sim) => {
		testCase.arrange?.(sim);
		const store = new CredentialStore({
			[TWIN24_CREDENTIAL_ID]: {
				type: TWIN24_CREDENTIAL_TYPE,
				name: 'Twin24 account',
				data: testCase.credentials(sim),
			},
		});
		const result = await testCredential({ store, credentialId: TWIN24_CREDENTIAL_ID });
		expectNoSecretsInTexts([result.message]);
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(testCase.shows);
		expect(loginRequests(sim)).toHaveLength(testCase.logins);
		expect(sim.requests.filter((request) => request.route !== 'login')).toEqual([]);
	});
}

describe('credential test', () => {
	test.each(CREDENTIAL_TEST_CASES)(
		'$name',
		async (testCase) => await runCredentialTestCase(testCase),
	);
});

// The login's error body takes this path too (the credential's failedLogin), where no scripted
// answer reaches: bare JSON is read once, never parsed again as the text it stands for.
describe('an error body is read once, whatever JSON it is', () => {
	test.each([
		['42', '42'],
		['true', 'true'],
		['null', 'null'],
		['"just a string"', 'just a string'],
		['"42"', '42'],
		['{"error":{"message":"ID format invalid"}}', 'ID format invalid'],
		['<p>Access <b>denied</b></p>', 'Access denied'],
		[' ', undefined],
	])('%j', (body, message) => expect(apiMessageOf(body)).toBe(message));
});
