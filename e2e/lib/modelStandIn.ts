/**
 * An OpenAI-compatible chat model on 127.0.0.1, scripted per conversation: what n8n's OpenAI Chat
 * Model node calls (`POST /v1/chat/completions`, streamed or not, and `GET /v1/models`), answered
 * with the tool calls and final answers a test chose, and every request kept as it arrived.
 *
 * A conversation is found by a key the test writes into the user's message. Each agent step sends
 * the whole conversation again, so the step is the number of assistant messages it already holds:
 * the answer to step k is the script's k-th turn, whatever came before.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { isObject, type JsonObject } from './runData';

/** One call of the tool the conversation is about (the first tool offered, unless `tool` names one). */
export interface ScriptedToolCall {
	arguments: JsonObject;
	tool?: string;
}

/** What the model answers at one step: tool calls (run together), or its final text. */
export type ScriptedTurn = { toolCalls: ScriptedToolCall[] } | { answer: string };

/** A tool as the model was offered it. */
export interface OfferedTool {
	name: string;
	description: string;
	parameters: unknown;
}

/** A tool result the model was given. */
export interface ToolResult {
	toolCallId: string;
	content: string;
}

export interface ModelRequest {
	method: string;
	path: string;
	headers: Record<string, string | string[] | undefined>;
	/** The body as it arrived, for looking for what must never reach the model. */
	body: string;
	json: unknown;
	stream: boolean;
	/** The conversation key found in the user's message, if any. */
	conversation: string | undefined;
	step: number;
	tools: OfferedTool[];
	toolResults: ToolResult[];
	systemMessage: string | undefined;
}

const MODEL_ID = 'twin24-e2e-model';

function textOf(content: unknown): string {
	if (typeof content === 'string') return content;
	if (!Array.isArray(content)) return '';
	return content
		.map((part) => (isObject(part) && typeof part.text === 'string' ? part.text : ''))
		.join('');
}

function messagesOf(json: unknown): JsonObject[] {
	return isObject(json) && Array.isArray(json.messages) ? json.messages.filter(isObject) : [];
}

function offeredTools(json: unknown): OfferedTool[] {
	const tools = isObject(json) && Array.isArray(json.tools) ? json.tools : [];
	return tools
		.map((tool) => (isObject(tool) && isObject(tool.function) ? tool.function : undefined))
		.filter((tool): tool is JsonObject => tool !== undefined)
		.map((tool) => ({
			name: String(tool.name ?? ''),
			description: String(tool.description ?? ''),
			parameters: tool.parameters,
		}));
}

function toolResults(messages: JsonObject[]): ToolResult[] {
	return messages
		.filter((message) => message.role === 'tool')
		.map((message) => ({
			toolCallId: String(message.tool_call_id ?? ''),
			content: textOf(message.content),
		}));
}

/** The whole body of a request, as text. */
export async function readBody(request: IncomingMessage): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const chunk of request) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch {
		return undefined;
	}
}

interface ToolCallOut {
	id: string;
	name: string;
	arguments: string;
}

/** The chat-completion answer for one turn, as OpenAI's API shapes it. */
function completion(turn: ScriptedTurn, calls: ToolCallOut[]): JsonObject {
	const message =
		'answer' in turn
			? { role: 'assistant', content: turn.answer }
			: {
					role: 'assistant',
					content: null,
					tool_calls: calls.map((call) => ({
						id: call.id,
						type: 'function',
						function: { name: call.name, arguments: call.arguments },
					})),
				};
	return {
		id: `chatcmpl-${Date.now()}`,
		object: 'chat.completion',
		created: Math.floor(Date.now() / 1000),
		model: MODEL_ID,
		choices: [
			{
				index: 0,
				message,
				finish_reason: 'answer' in turn ? 'stop' : 'tool_calls',
				logprobs: null,
			},
		],
		usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
	};
}

/** The same answer as server-sent events, in the chunks OpenAI's streaming API sends. */
function completionChunks(turn: ScriptedTurn, calls: ToolCallOut[]): JsonObject[] {
	const base = {
		id: `chatcmpl-${Date.now()}`,
		object: 'chat.completion.chunk',
		created: Math.floor(Date.now() / 1000),
		model: MODEL_ID,
	};
	const chunk = (delta: JsonObject, finishReason: string | null): JsonObject => ({
		...base,
		choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
	});
	const chunks = [chunk({ role: 'assistant', content: '' }, null)];
	if ('answer' in turn) {
		for (const word of turn.answer.split(/(?<= )/)) chunks.push(chunk({ content: word }, null));
		chunks.push(chunk({}, 'stop'));
	} else {
		calls.forEach((call, index) => {
			chunks.push(
				chunk(
					{
						tool_calls: [
							{
								index,
								id: call.id,
								type: 'function',
								function: { name: call.name, arguments: '' },
							},
						],
					},
					null,
				),
			);
			chunks.push(
				chunk({ tool_calls: [{ index, function: { arguments: call.arguments } }] }, null),
			);
		});
		chunks.push(chunk({}, 'tool_calls'));
	}
	chunks.push({
		...base,
		choices: [],
		usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
	});
	return chunks;
}

export class ModelStandIn {
	private readonly scripts = new Map<string, ScriptedTurn[]>();
	private readonly log: ModelRequest[] = [];

	private constructor(private readonly server: Server) {}

	static async start(): Promise<ModelStandIn> {
		const server = createServer();
		const standIn = new ModelStandIn(server);
		server.on('request', (request, response) => {
			standIn.handle(request, response).catch((error: unknown) => {
				response.writeHead(500, { 'content-type': 'application/json' });
				response.end(JSON.stringify({ error: { message: String(error) } }));
			});
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		return standIn;
	}

	/** What the OpenAI credential's Base URL must be. */
	get baseUrl(): string {
		const { port } = this.server.address() as AddressInfo;
		return `http://127.0.0.1:${port}/v1`;
	}

	/** The turns the model plays in the conversation whose user message contains `key`. */
	script(key: string, turns: ScriptedTurn[]): void {
		this.scripts.set(key, turns);
	}

	/** Every request received, in arrival order. */
	get requests(): readonly ModelRequest[] {
		return this.log;
	}

	requestsOf(key: string): ModelRequest[] {
		return this.log.filter((request) => request.conversation === key);
	}

	async stop(): Promise<void> {
		this.server.closeAllConnections();
		await new Promise<void>((resolve) => this.server.close(() => resolve()));
	}

	private conversationOf(messages: JsonObject[]): string | undefined {
		const userText = messages
			.filter((message) => message.role === 'user')
			.map((message) => textOf(message.content))
			.join('\n');
		return [...this.scripts.keys()].find((key) => userText.includes(key));
	}

	private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
		const body = await readBody(request);
		const json = parseJson(body);
		const path = (request.url ?? '').split('?')[0] ?? '';
		const messages = messagesOf(json);
		const entry: ModelRequest = {
			method: request.method ?? '',
			path,
			headers: request.headers,
			body,
			json,
			stream: isObject(json) && json.stream === true,
			conversation: this.conversationOf(messages),
			step: messages.filter((message) => message.role === 'assistant').length,
			tools: offeredTools(json),
			toolResults: toolResults(messages),
			systemMessage: textOf(messages.find((message) => message.role === 'system')?.content),
		};
		this.log.push(entry);
		if (request.method === 'GET' && path.endsWith('/models')) {
			return this.sendJson(response, 200, {
				object: 'list',
				data: [{ id: MODEL_ID, object: 'model', created: 0, owned_by: 'twin24-e2e' }],
			});
		}
		if (request.method !== 'POST' || !path.endsWith('/chat/completions')) {
			return this.sendJson(response, 404, { error: { message: `no route ${path}` } });
		}
		const turn = this.turnFor(entry);
		const calls = this.toolCallsOut(entry, turn);
		if (!entry.stream) return this.sendJson(response, 200, completion(turn, calls));
		response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
		for (const chunk of completionChunks(turn, calls))
			response.write(`data: ${JSON.stringify(chunk)}\n\n`);
		response.end('data: [DONE]\n\n');
	}

	private turnFor(entry: ModelRequest): ScriptedTurn {
		const turns =
			entry.conversation === undefined ? undefined : this.scripts.get(entry.conversation);
		return turns?.[entry.step] ?? { answer: 'I have nothing more to do.' };
	}

	private toolCallsOut(entry: ModelRequest, turn: ScriptedTurn): ToolCallOut[] {
		if ('answer' in turn) return [];
		const fallback = entry.tools[0]?.name ?? 'no_tool_offered';
		return turn.toolCalls.map((call, index) => ({
			id: `call_${entry.conversation ?? 'none'}_${entry.step}_${index}`,
			name: call.tool ?? fallback,
			arguments: JSON.stringify(call.arguments),
		}));
	}

	private sendJson(response: ServerResponse, status: number, body: unknown): void {
		response.writeHead(status, { 'content-type': 'application/json' });
		response.end(JSON.stringify(body));
	}
}
