/** Reading request bodies (at most 1 MiB) and checking the erasure and login bodies. */
import type { IncomingMessage } from 'node:http';

import { isRecord } from './shared';

const MAX_BODY_BYTES = 1024 * 1024;

export interface ReceivedBody {
	kind: 'empty' | 'json' | 'invalid' | 'tooLarge';
	text: string;
	json: unknown;
}

function classifyBody(text: string): ReceivedBody {
	if (text.trim() === '') return { kind: 'empty', text, json: undefined };
	try {
		return { kind: 'json', text, json: JSON.parse(text) as unknown };
	} catch {
		return { kind: 'invalid', text, json: undefined };
	}
}

export function readBody(req: IncomingMessage): Promise<ReceivedBody> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		let size = 0;
		req.on('data', (chunk: Buffer) => {
			size += chunk.length;
			if (size <= MAX_BODY_BYTES) chunks.push(chunk);
		});
		req.once('end', () => {
			if (size > MAX_BODY_BYTES) resolve({ kind: 'tooLarge', text: '', json: undefined });
			else resolve(classifyBody(chunks.length === 0 ? '' : Buffer.concat(chunks).toString('utf8')));
		});
		req.once('error', reject);
	});
}

type Checked<T> = ({ ok: true } & T) | { ok: false; message: string };

export function readErasureBody(body: ReceivedBody): Checked<{ skipDeleteRecord: boolean }> {
	if (body.kind === 'empty') return { ok: true, skipDeleteRecord: false };
	if (body.kind !== 'json') return { ok: false, message: 'Body must be valid JSON' };
	if (!isRecord(body.json)) return { ok: false, message: 'Body must be a JSON object' };
	const flag = body.json.skipDeleteRecord;
	if (flag === undefined) return { ok: true, skipDeleteRecord: false };
	if (typeof flag !== 'boolean')
		return { ok: false, message: 'skipDeleteRecord must be a boolean' };
	return { ok: true, skipDeleteRecord: flag };
}

export function readLoginBody(
	body: ReceivedBody,
): Checked<{ email: string; password: string; ttl: number | undefined }> {
	if (body.kind !== 'json') return { ok: false, message: 'Body must be valid JSON' };
	if (!isRecord(body.json)) return { ok: false, message: 'Body must be a JSON object' };
	const { email, password, ttl } = body.json;
	if (
		typeof email !== 'string' ||
		email === '' ||
		typeof password !== 'string' ||
		password === ''
	) {
		return { ok: false, message: 'email and password are required' };
	}
	if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0)) {
		return { ok: false, message: 'ttl must be a positive number of seconds' };
	}
	return { ok: true, email, password, ttl };
}
