/** Control API (`controlApi: true`): drives a simulator in another process, e.g. the CLI. */
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { ReceivedBody } from './bodies';
import { readBody } from './bodies';
import { CONTROL_BASE_PATH } from './constants';
import { API_ROUTES, errorMessage, isRecord, JSON_TYPE, SWITCH_NAMES } from './shared';
import type { Twin24Simulator } from './simulator';
import type { ApiRoute, SeedRequest } from './types';
import {
	readScriptedAnswer,
	readScriptedFault,
	readSwitches,
	requireBoolean,
	requireTimes,
} from './validation';

interface ControlAnswer {
	status: number;
	payload: unknown;
}

const OK: ControlAnswer = { status: 200, payload: { ok: true } };

function sendControlAnswer(res: ServerResponse, answer: ControlAnswer): void {
	if (res.destroyed) return;
	const text = JSON.stringify(answer.payload);
	res.writeHead(answer.status, {
		'content-type': JSON_TYPE,
		'content-length': Buffer.byteLength(text),
	});
	res.end(text);
}

function rejectUnknownKeys(input: unknown, allowed: readonly string[]): void {
	if (!isRecord(input)) throw new TypeError('body must be a JSON object');
	const unknown = Object.keys(input).filter((key) => !allowed.includes(key));
	if (unknown.length > 0) throw new TypeError(`unknown field(s): ${unknown.join(', ')}`);
}

function readStringList(value: unknown, name: string): string[] {
	if (value === undefined) return [];
	if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
		throw new TypeError(`${name} must be an array of strings`);
	}
	return value;
}

function readSeed(input: unknown): SeedRequest {
	rejectUnknownKeys(input, ['calls', 'candidates', 'hasRecord']);
	const body = input as Record<string, unknown>;
	const hasRecord =
		body.hasRecord === undefined ? undefined : requireBoolean(body.hasRecord, 'hasRecord');
	return {
		calls: readStringList(body.calls, 'calls'),
		candidates: readStringList(body.candidates, 'candidates'),
		hasRecord,
	};
}

export class ControlApi {
	constructor(private readonly sim: Twin24Simulator) {}

	handle(req: IncomingMessage, res: ServerResponse, path: string, query: string): void {
		readBody(req)
			.then((body) => this.dispatch(req.method ?? '', path, query, body))
			.catch((error: unknown): ControlAnswer => ({
				status: 400,
				payload: { message: errorMessage(error) },
			}))
			.then((answer) => sendControlAnswer(res, answer))
			.catch(() => res.destroy());
	}

	private dispatch(method: string, path: string, query: string, body: ReceivedBody): ControlAnswer {
		if (body.kind === 'invalid' || body.kind === 'tooLarge')
			throw new TypeError('body must be valid JSON');
		const action = path.slice(CONTROL_BASE_PATH.length + 1);
		if (method === 'GET') return this.read(action, query);
		if (method === 'POST') return this.change(action, body.json ?? {});
		return { status: 404, payload: { message: 'No control endpoint' } };
	}

	private read(action: string, query: string): ControlAnswer {
		if (action === 'requests') {
			const since = Number(new URLSearchParams(query).get('since') ?? '0');
			return { status: 200, payload: this.sim.requests.filter((entry) => entry.seq > since) };
		}
		if (action === 'state') return { status: 200, payload: this.sim.snapshot() };
		return { status: 404, payload: { message: 'No control endpoint' } };
	}

	private change(action: string, input: unknown): ControlAnswer {
		switch (action) {
			case 'configure':
				rejectUnknownKeys(input, SWITCH_NAMES);
				this.sim.configure(readSwitches(input));
				return { status: 200, payload: { ok: true, switches: this.sim.switches } };
			case 'seed':
				this.sim.seed(readSeed(input));
				return OK;
			case 'expire-tokens':
				this.sim.expireAllTokens();
				return OK;
			case 'reset':
				this.sim.reset();
				return OK;
			case 'clear-log':
				this.sim.clearLog();
				return OK;
			default:
				return this.script(action, input);
		}
	}

	private script(action: string, input: unknown): ControlAnswer {
		switch (action) {
			case 'fail-next':
				return this.failNext(input);
			case 'respond-for':
				return this.respondFor(input);
			case 'clear-scripted':
				this.sim.clearScripted();
				return OK;
			default:
				return { status: 404, payload: { message: 'No control endpoint' } };
		}
	}

	private failNext(input: unknown): ControlAnswer {
		rejectUnknownKeys(input, ['count', 'fault', 'route']);
		const body = input as Record<string, unknown>;
		if (
			body.route !== undefined &&
			(typeof body.route !== 'string' || !API_ROUTES.has(body.route))
		) {
			throw new TypeError('route must be one of ' + [...API_ROUTES].join(', '));
		}
		const route = body.route as ApiRoute | undefined;
		this.sim.failNext(requireTimes(body.count), readScriptedFault(body.fault), { route });
		return OK;
	}

	private respondFor(input: unknown): ControlAnswer {
		rejectUnknownKeys(input, ['id', 'answer']);
		const body = input as Record<string, unknown>;
		if (typeof body.id !== 'string') throw new TypeError('id must be a string');
		this.sim.respondFor(body.id, readScriptedAnswer(body.answer));
		return OK;
	}
}
