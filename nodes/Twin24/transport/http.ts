import type { IHttpRequestMethods, IHttpRequestOptions, JsonObject } from 'n8n-workflow';

import type { Failure } from './failures';
import { failureOfThrown } from './failures';

/** What crosses the wire: the request options, one exchange's result, and reading error bodies. */

export interface PlannedRequest {
	method: IHttpRequestMethods;
	url: string;
	body?: JsonObject;
}

export type Headers = Readonly<Record<string, unknown>>;

/** What one exchange with Twin24 gave: a 2xx, another answer, or no usable answer at all. */
export type Attempt =
	| { kind: 'success'; statusCode: number; headers: Headers }
	| { kind: 'response'; statusCode: number; headers: Headers; apiMessage?: string }
	| { kind: 'error'; failure: Failure };

/**
 * The options of every request to Twin24, login included: every status is read by the node
 * itself, and a redirect is never followed, so that a token or a password never goes elsewhere.
 */
export function requestOptions(request: PlannedRequest, timeoutMs: number): IHttpRequestOptions {
	const { method, url, body } = request;
	return {
		method,
		url,
		body,
		json: true,
		returnFullResponse: true,
		ignoreHttpStatusErrors: true,
		disableFollowRedirect: true,
		timeout: timeoutMs,
	};
}

/** The response body as the HTTP client hands it over with `encoding: 'stream'`. */
export interface ResponseStream extends AsyncIterable<unknown> {
	destroy(): void;
}

/** Error bodies are read up to this size; the rest is dropped unread. */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * Reads at most MAX_BODY_BYTES of a response body and drops the rest unread, so that a huge or
 * endless body costs neither memory nor time; gives up when the deadline passes.
 */
export async function readCapped(
	stream: ResponseStream,
	deadline: AbortSignal,
): Promise<string | Failure> {
	const chunks: Buffer[] = [];
	let size = 0;
	const stop = () => stream.destroy();
	deadline.addEventListener('abort', stop, { once: true });
	try {
		for await (const chunk of stream) {
			const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
			chunks.push(buffer);
			size += buffer.length;
			if (size >= MAX_BODY_BYTES) {
				stream.destroy();
				break;
			}
		}
	} catch (error) {
		if (!deadline.aborted) return failureOfThrown(error);
	} finally {
		deadline.removeEventListener('abort', stop);
	}
	if (deadline.aborted) return { kind: 'timeout' };
	return Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8');
}

/** Longest API message quoted in an error; error bodies can be whole HTML pages. */
const MAX_API_MESSAGE_LENGTH = 300;

function cut(text: string): string {
	const oneLine = text.replace(/\s+/g, ' ').trim();
	const ellipsis = oneLine.length > MAX_API_MESSAGE_LENGTH ? '…' : '';
	return `${oneLine.slice(0, MAX_API_MESSAGE_LENGTH)}${ellipsis}`;
}

function messageField(body: Record<string, unknown>): string | undefined {
	for (const field of ['message', 'error', 'detail', 'error_description']) {
		const value = body[field];
		if (typeof value === 'string' && value.trim() !== '') return value;
		if (typeof value === 'object' && value !== null) {
			const nested = messageField(value as Record<string, unknown>);
			if (nested !== undefined) return nested;
		}
	}
	return undefined;
}

/**
 * The API's own explanation from an error body: a JSON `message`/`error`/`detail` field when
 * there is one, else the text, on one line and cut to a readable length.
 */
export function apiMessageOf(body: string): string | undefined {
	const json = parseJson(body);
	if (typeof json === 'object' && json !== null) {
		return cut(messageField(json as Record<string, unknown>) ?? JSON.stringify(json));
	}
	// A bare JSON string says its message; a bare number or `true` is only the body's text.
	const text = typeof json === 'string' ? json : body;
	if (text.trim() === '') return undefined;
	return cut(text.replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ').replace(/<[^>]*>/g, ' '));
}

function parseJson(text: string): unknown {
	try {
		return JSON.parse(text) as unknown;
	} catch {
		return undefined;
	}
}

/** Blanks out every secret a server may have echoed back in an error body. */
export function redact(text: string, secrets: readonly string[]): string {
	return secrets.reduce((redacted, secret) => redacted.split(secret).join('[redacted]'), text);
}
