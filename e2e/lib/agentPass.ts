/**
 * examples/ai-agent-erasure-tool.json inside real n8n: a chat message → n8n's AI Agent with the
 * OpenAI Chat Model, pointed at the scripted stand-in model, and the Twin24 node as its tool,
 * against the Twin24 simulator. Checked three ways: what the model was offered and given back
 * (the stand-in's log), what reached Twin24 (the simulator's log), and how n8n ended the
 * execution (its REST API). Prints what the model was offered and received.
 */
import {
	CREDENTIAL_TYPE,
	PATHS,
	TOKEN_CREDENTIAL,
	TWIN24_TOOL_TYPE,
	readExample,
} from './examples';
import type { ModelRequest, ModelStandIn, ScriptedTurn, ToolResult } from './modelStandIn';
import { N8nRest, postToWebhook } from './n8nRest';
import { isObject, runCount, type JsonObject } from './runData';
import type { ScenarioContext } from './scenarios';
import type { LoggedRequest } from './simulator';

export const AGENT_EXAMPLE = 'ai-agent-erasure-tool.json';
const OPENAI_CREDENTIAL = { id: 'tw24E2eOpenAi001', name: 'Model stand-in (OpenAI API)' };
const OPENAI_API_KEY = 'sk-twin24-e2e-stand-in-key';
const TOOL_NODE = 'Erase call in Twin24';
const EXPECTED_TOOL_NAME = 'Erase_call_in_Twin24';

type ResponseMode = 'lastNode' | 'streaming';

/** The two published copies of the example: the chat answered at the end, or streamed. */
const COPIES: Record<ResponseMode, { workflowId: string; webhookId: string }> = {
	lastNode: { workflowId: 'tw24AgentChat0001', webhookId: 'a9c0e1f2-3b4d-4e5f-8a6b-7c8d9e0f1a21' },
	streaming: {
		workflowId: 'tw24AgentStream01',
		webhookId: 'b8d1f2a3-4c5e-4f6a-9b7c-8d9e0f1a2b32',
	},
};

const CALLS = {
	erased: '5e0f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a51',
	streamed: '6f1a2b3c-4d5e-4f6a-9bac-1d2e3f4a5b62',
	twice: '7a2b3c4d-5e6f-4a7b-8cbd-2e3f4a5b6c73',
	unknown: '8b3c4d5e-6f7a-4b8c-9dce-3f4a5b6c7d84',
	hostile: '../calls/other',
} as const;

interface Conversation {
	key: string;
	title: string;
	mode: ResponseMode;
	message: string;
	seed: string[];
	turns: ScriptedTurn[];
	check: (view: ConversationView) => void;
}

interface ConversationView {
	expect: Expect;
	reply: ChatReply;
	requests: ModelRequest[];
	/** Each tool result the model was given, parsed, in the order it was given them. */
	results: unknown[];
	cis: LoggedRequest[];
}

type Expect = (name: string, passed: boolean, detail?: string) => boolean;

function callTool(callId: string): ScriptedTurn {
	return { toolCalls: [{ arguments: { callId } }] };
}

/** The example bound to the e2e's credentials, with its chat opened to POSTs on loopback. */
function agentWorkflow(example: JsonObject, mode: ResponseMode, n8nMajor: number): JsonObject {
	const copy = JSON.parse(JSON.stringify(example)) as JsonObject;
	const nodes = (copy.nodes as JsonObject[]).map((node) => {
		const parameters = isObject(node.parameters) ? node.parameters : {};
		if (node.type === '@n8n/n8n-nodes-langchain.chatTrigger') {
			const options = { ...(isObject(parameters.options) ? parameters.options : {}) };
			options.responseMode = mode;
			const publicChat = { ...parameters, public: true, mode: 'webhook', options };
			return { ...node, parameters: publicChat, webhookId: COPIES[mode].webhookId };
		}
		if (node.type === '@n8n/n8n-nodes-langchain.lmChatOpenAi')
			return { ...node, credentials: { openAiApi: OPENAI_CREDENTIAL } };
		if (node.type === TWIN24_TOOL_TYPE) {
			const credential = { id: TOKEN_CREDENTIAL.id, name: TOKEN_CREDENTIAL.name };
			return { ...node, credentials: { [CREDENTIAL_TYPE]: credential } };
		}
		// n8n 1.x knows the AI Agent up to version 3.
		if (node.type === '@n8n/n8n-nodes-langchain.agent' && n8nMajor < 2)
			return { ...node, typeVersion: 3 };
		return node;
	});
	return {
		...copy,
		nodes,
		id: COPIES[mode].workflowId,
		name: `${String(copy.name)} [${mode}]`,
		active: false,
	};
}

export function agentWorkflows(examplesDir: string, n8nMajor: number): JsonObject[] {
	const example = readExample(examplesDir, AGENT_EXAMPLE);
	return (['lastNode', 'streaming'] as const).map((mode) => agentWorkflow(example, mode, n8nMajor));
}

export function agentCredentials(model: ModelStandIn): JsonObject[] {
	return [
		{
			...OPENAI_CREDENTIAL,
			type: 'openAiApi',
			data: { apiKey: OPENAI_API_KEY, url: model.baseUrl, header: false },
		},
	];
}

export async function publishAgentWorkflows(ctx: ScenarioContext): Promise<void> {
	for (const { workflowId } of Object.values(COPIES)) await ctx.n8n.activateWorkflow(workflowId);
}

interface ChatReply {
	status: number;
	text: string;
	/** The agent's final answer: `output` (last node), or the streamed `item` chunks joined. */
	answer: string;
}

function answerOf(mode: ResponseMode, text: string): string {
	if (mode === 'lastNode') {
		try {
			const json: unknown = JSON.parse(text);
			return isObject(json) && typeof json.output === 'string' ? json.output : '';
		} catch {
			return '';
		}
	}
	return text
		.split('\n')
		.map((line) => {
			try {
				const chunk: unknown = JSON.parse(line);
				return isObject(chunk) && chunk.type === 'item' ? String(chunk.content ?? '') : '';
			} catch {
				return '';
			}
		})
		.join('');
}

/** Sends a chat message the way n8n's chat widget does. */
async function sendChatMessage(
	baseUrl: string,
	mode: ResponseMode,
	sessionId: string,
	chatInput: string,
): Promise<ChatReply> {
	const url = `${baseUrl}/webhook/${COPIES[mode].webhookId}/chat`;
	const { status, text } = await postToWebhook(url, {
		action: 'sendMessage',
		sessionId,
		chatInput,
	});
	return { status, text, answer: answerOf(mode, text) };
}

function parsedResults(requests: ModelRequest[]): unknown[] {
	const last = requests.at(-1);
	return (last?.toolResults ?? []).map((result: ToolResult) => {
		try {
			const parsed: unknown = JSON.parse(result.content);
			return Array.isArray(parsed) && parsed.length === 1 ? parsed[0] : parsed;
		} catch {
			return result.content;
		}
	});
}

const SUCCESS_KEYS = ['attempts', 'callId', 'confirmedAt', 'recordDeleted', 'success'];
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

function isDone(result: unknown, callId: string): result is JsonObject {
	return (
		isObject(result) &&
		result.success === true &&
		result.callId === callId &&
		result.recordDeleted === true &&
		typeof result.confirmedAt === 'string' &&
		ISO_TIME.test(result.confirmedAt)
	);
}

function erasuresOf(cis: LoggedRequest[], callId: string): LoggedRequest[] {
	return cis.filter(
		(request) => request.method === 'POST' && request.path === PATHS.callDepersonalize(callId),
	);
}

function checkOneErasure(expect: Expect, cis: LoggedRequest[], callId: string): void {
	const sent = erasuresOf(cis, callId);
	const body = sent[0]?.json;
	expect(
		`exactly one request reached Twin24: POST …/calls/${callId}/depersonalization with skipDeleteRecord=false, answered 200`,
		cis.length === 1 &&
			sent.length === 1 &&
			sent[0]?.status === 200 &&
			isObject(body) &&
			body.skipDeleteRecord === false,
		describe(cis),
	);
}

function describe(cis: LoggedRequest[]): string {
	return (
		cis.map((request) => `${request.method} ${request.path} → ${request.status}`).join('; ') ||
		'(none)'
	);
}

function checkErased(view: ConversationView, callId: string): void {
	const { expect, results } = view;
	checkOneErasure(expect, view.cis, callId);
	const result = results[0];
	expect(
		'the model was given: success, the call ID, recordDeleted and confirmedAt',
		results.length === 1 && isDone(result, callId),
		JSON.stringify(results),
	);
	expect(
		'the answer is flat and small: success, callId, recordDeleted, confirmedAt, attempts, nothing else',
		isObject(result) && JSON.stringify(Object.keys(result).sort()) === JSON.stringify(SUCCESS_KEYS),
		JSON.stringify(result),
	);
}

function checkFailure(
	view: ConversationView,
	callId: string,
	error: RegExp,
	whatToDo: RegExp,
	statusCode: number | undefined,
): void {
	const { expect, results } = view;
	const result = results[0];
	const failed = isObject(result) ? result : {};
	expect(
		`the model was given success false, the ID, an error matching ${String(error)} without "(item N)", and confirmedAt null`,
		results.length === 1 &&
			failed.success === false &&
			failed.callId === callId &&
			typeof failed.error === 'string' &&
			error.test(failed.error) &&
			!/\(item \d+\)/.test(failed.error) &&
			failed.confirmedAt === null,
		JSON.stringify(results),
	);
	expect(
		`…and whatToDo matching ${String(whatToDo)}${statusCode === undefined ? ', no statusCode' : `, statusCode ${statusCode}`}`,
		typeof failed.whatToDo === 'string' &&
			whatToDo.test(failed.whatToDo) &&
			failed.statusCode === statusCode,
		JSON.stringify(result),
	);
}

/** A conversation in which the model asks for one erasure of a seeded call. */
function erasure(
	key: string,
	title: string,
	mode: ResponseMode,
	callId: string,
	alsoCheck: (view: ConversationView) => void = () => undefined,
): Conversation {
	return {
		key,
		title,
		mode,
		message: `${key}: please erase call ${callId}.`,
		seed: [callId],
		turns: [callTool(callId), { answer: `Call ${callId} was erased.` }],
		check: (view) => {
			checkErased(view, callId);
			alsoCheck(view);
		},
	};
}

const CONVERSATIONS: Conversation[] = [
	erasure('DPO-1001', 'an erasure', 'lastNode', CALLS.erased),
	erasure('DPO-1002', 'an erasure, the chat streamed', 'streaming', CALLS.streamed, (view) =>
		view.expect(
			'the agent asked the model to stream (stream: true in every request)',
			view.requests.length > 0 && view.requests.every((request) => request.stream),
			view.requests.map((request) => String(request.stream)).join(', '),
		),
	),
	{
		key: 'DPO-1003',
		title: 'an unknown ID (404)',
		mode: 'lastNode',
		message: `DPO-1003: please erase call ${CALLS.unknown}.`,
		seed: [],
		turns: [callTool(CALLS.unknown), { answer: `Twin24 does not know call ${CALLS.unknown}.` }],
		check: (view) => {
			view.expect(
				'one request reached Twin24, answered 404',
				view.cis.length === 1 && view.cis[0]?.status === 404,
				describe(view.cis),
			);
			checkFailure(
				view,
				CALLS.unknown,
				new RegExp(`${CALLS.unknown}.*404`),
				/does not know this ID.*Do not call again/,
				404,
			);
		},
	},
	{
		key: 'DPO-1004',
		title: 'a hostile ID the model made up',
		mode: 'lastNode',
		message: 'DPO-1004: please erase the other calls too.',
		seed: [],
		turns: [callTool(CALLS.hostile), { answer: 'That was no call ID.' }],
		check: (view) => {
			view.expect('nothing reached Twin24', view.cis.length === 0, describe(view.cis));
			checkFailure(view, CALLS.hostile, /contains "\/"/, /Nothing was sent.*UUID/, undefined);
		},
	},
	{
		key: 'DPO-1005',
		title: 'the same ID twice in one conversation',
		mode: 'lastNode',
		message: `DPO-1005: please erase call ${CALLS.twice}, and make sure it is gone.`,
		seed: [CALLS.twice],
		turns: [callTool(CALLS.twice), callTool(CALLS.twice), { answer: 'Erased once.' }],
		check: (view) => {
			const [first, second] = view.results;
			view.expect(
				'one erasure: the second call sent nothing to Twin24',
				erasuresOf(view.cis, CALLS.twice).length === 1 && view.cis.length === 1,
				describe(view.cis),
			);
			view.expect(
				'the second call was given the first one’s result (same confirmedAt, fromEarlierRun)',
				isDone(first, CALLS.twice) &&
					isDone(second, CALLS.twice) &&
					first.confirmedAt === second.confirmedAt &&
					second.fromEarlierRun === true,
				JSON.stringify(view.results),
			);
		},
	},
];

function printOffer(label: string, request: ModelRequest | undefined): void {
	console.log(`\n  ---- ${label}: what the model was offered ----`);
	if (!request) return console.log('  (no request reached the model)');
	for (const tool of request.tools) {
		console.log(`  tool name:        ${tool.name}`);
		console.log(`  tool description: ${tool.description}`);
		console.log(`  tool parameters:  ${JSON.stringify(tool.parameters)}`);
	}
	console.log(`  system message:   ${request.systemMessage ?? '(none)'}`);
}

function printResults(conversation: Conversation, view: ConversationView): void {
	console.log(`\n  ---- ${conversation.key} (${conversation.title}): what the model received ----`);
	for (const result of view.requests.at(-1)?.toolResults ?? [])
		console.log(`  tool result: ${result.content}`);
	const streamed = view.requests.filter((request) => request.stream).length;
	console.log(`  model requests: ${view.requests.length} (${streamed} asked to stream)`);
	console.log(
		`  chat answer (${conversation.mode}): ${view.reply.answer || view.reply.text.slice(0, 300)}`,
	);
}

function checkOffer(expect: Expect, request: ModelRequest | undefined): void {
	const tools = request?.tools ?? [];
	const tool = tools[0];
	expect(
		`the model was offered one tool, ${EXPECTED_TOOL_NAME}`,
		tools.length === 1 && tool?.name === EXPECTED_TOOL_NAME,
		JSON.stringify(tools.map((offered) => offered.name)),
	);
	const description = tool?.description ?? '';
	expect(
		'its description says it is irreversible, what it erases and what a call ID looks like',
		/Irreversibly/.test(description) &&
			/cannot be undone/.test(description) &&
			/recording/.test(description) &&
			/UUID/.test(description),
		description,
	);
	const schema = isObject(tool?.parameters) ? tool.parameters : {};
	const properties = isObject(schema.properties) ? schema.properties : {};
	const callId = isObject(properties.callId) ? properties.callId : {};
	expect(
		'its schema holds only callId, a required string ($fromAI); Keep Recording is not offered',
		JSON.stringify(Object.keys(properties)) === '["callId"]' &&
			callId.type === 'string' &&
			Array.isArray(schema.required) &&
			schema.required.includes('callId'),
		JSON.stringify(schema),
	);
}

function secretsIn(ctx: ScenarioContext, cis: LoggedRequest[]): string[] {
	const bearer = cis
		.map((request) => request.headers.authorization)
		.filter((value): value is string => typeof value === 'string' && value.startsWith('Bearer '))
		.map((value) => value.slice(7));
	return [ctx.sim.info.accessToken, ctx.sim.info.password, ...bearer].filter(
		(secret) => secret.length > 0,
	);
}

async function runConversation(
	ctx: ScenarioContext,
	model: ModelStandIn,
	rest: N8nRest,
	conversation: Conversation,
	secrets: Set<string>,
): Promise<void> {
	const scope = `${ctx.label} agent/${conversation.key}`;
	const expect: Expect = (name, passed, detail) => ctx.checks.check(scope, name, passed, detail);
	await ctx.sim.reset();
	await ctx.sim.seed({ calls: conversation.seed, hasRecord: true });
	model.script(conversation.key, conversation.turns);
	const workflowId = COPIES[conversation.mode].workflowId;
	const before = new Set((await rest.executions(workflowId)).map((execution) => execution.id));
	ctx.checks.noteRun(
		`${ctx.label}: ${AGENT_EXAMPLE} (${conversation.mode}), ${conversation.title}, via POST /webhook/…/chat`,
	);
	const reply = await sendChatMessage(
		ctx.n8n.baseUrl,
		conversation.mode,
		conversation.key,
		conversation.message,
	);
	const cis = (await ctx.sim.requests()).filter((request) => request.path.startsWith('/cis/'));
	for (const secret of secretsIn(ctx, cis)) secrets.add(secret);
	const requests = model.requestsOf(conversation.key);
	const view = { expect, reply, requests, results: parsedResults(requests), cis };
	if (conversation.key === CONVERSATIONS[0]?.key) {
		printOffer(ctx.label, requests[0]);
		checkOffer(expect, requests[0]);
	}
	printResults(conversation, view);
	const finalAnswer = conversation.turns.at(-1);
	expect(
		'the chat got the agent’s final answer (HTTP 200)',
		reply.status === 200 &&
			finalAnswer !== undefined &&
			'answer' in finalAnswer &&
			reply.answer.includes(finalAnswer.answer),
		`status ${reply.status}: ${reply.text.slice(0, 400)}`,
	);
	const execution = (await rest.executions(workflowId)).find(
		(candidate) => !before.has(candidate.id),
	);
	expect(
		'n8n ended the execution with status success (a failed erasure does not fail the workflow)',
		execution?.status === 'success',
		JSON.stringify(execution),
	);
	if (execution) {
		const { run } = await rest.execution(execution.id);
		const toolCalls = conversation.turns.filter((turn) => 'toolCalls' in turn).length;
		expect(
			`each tool call was a run of the Twin24 node in the same execution (${toolCalls})`,
			runCount(run, TOOL_NODE) === toolCalls,
			`${runCount(run, TOOL_NODE)} run(s)`,
		);
	}
	conversation.check(view);
}

function checkNoSecretReachedTheModel(
	ctx: ScenarioContext,
	model: ModelStandIn,
	secrets: Set<string>,
): void {
	const everything = model.requests
		.map((request) => `${JSON.stringify(request.headers)}\n${request.body}`)
		.join('\n');
	const leaked = [...secrets].filter((secret) => everything.includes(secret));
	ctx.checks.check(
		`${ctx.label} agent`,
		`no Twin24 token or password in anything the model server received (${model.requests.length} requests)`,
		model.requests.length > 0 && leaked.length === 0,
		`${leaked.length} secret(s) found`,
	);
}

/** The agent pass: every conversation above, then the secrets check over all of them. */
export async function runAgentPass(ctx: ScenarioContext, model: ModelStandIn): Promise<void> {
	const rest = await N8nRest.signIn(ctx.n8n.baseUrl);
	const secrets = new Set<string>();
	for (const conversation of CONVERSATIONS) {
		try {
			await runConversation(ctx, model, rest, conversation, secrets);
		} catch (error) {
			ctx.checks.fail(`${ctx.label} agent/${conversation.key}`, conversation.title, error);
		}
	}
	checkNoSecretReachedTheModel(ctx, model, secrets);
}
