/**
 * What a re-run pass saw, in a short readable form: the simulator's answers per ID, and the items
 * each output carried, runs of alike items on one line.
 */
import { isObject, pairedIndex, type JsonObject, type OutputItem } from './runData';
import type { LoggedRequest } from './simulator';

/** The statuses the simulator answered per erasure ID, in arrival order (logins aside). */
export type AnswersPerId = Record<string, number[]>;

export function answersPerId(requests: readonly LoggedRequest[]): AnswersPerId {
	const answers: AnswersPerId = {};
	for (const request of requests) {
		if (request.route === 'login' || request.id === undefined) continue;
		(answers[request.id] ??= []).push(request.status);
	}
	return answers;
}

/** The same answers, whatever order the IDs came in: for comparing with what a pass expects. */
export function sameAnswers(seen: AnswersPerId, expected: AnswersPerId): boolean {
	const sorted = (answers: AnswersPerId) =>
		JSON.stringify(Object.entries(answers).sort(([a], [b]) => a.localeCompare(b)));
	return sorted(seen) === sorted(expected);
}

interface Line {
	label: string;
	text: string;
	/** Where the entry stands (an item's index); entries only group with their neighbours. */
	position: number;
}

function joins(lines: readonly Line[], start: number, index: number): boolean {
	const line = lines[index];
	return (
		line !== undefined &&
		line.text === lines[start].text &&
		line.position === lines[index - 1].position + 1
	);
}

/** Neighbouring entries that read alike become one line: `first … last: text`. */
function grouped(lines: readonly Line[]): string[] {
	const out: string[] = [];
	let start = 0;
	for (let index = 1; index <= lines.length; index++) {
		if (joins(lines, start, index)) continue;
		const first = lines[start].label;
		const range = index - start > 1 ? `${first} … ${lines[index - 1].label}` : first;
		out.push(`${range}: ${lines[start].text}`);
		start = index;
	}
	return out;
}

export function describeAnswers(answers: AnswersPerId): string {
	const lines = Object.entries(answers).map(([id, statuses], position) => ({
		label: id,
		text: statuses.join(' '),
		position,
	}));
	return lines.length === 0 ? '(nothing)' : grouped(lines).join(' · ');
}

function shortened(value: unknown, max = 90): string {
	const text = String(value);
	return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The ID an item is about, in either shape: the contract's, or the error output's `details`. */
export function itemId(json: JsonObject): unknown {
	if (isObject(json.details)) return json.details.callId;
	return json.callId;
}

const FLAGS = ['notFound', 'answerLost', 'fromEarlierRun', 'cancelled'] as const;

function summary(json: JsonObject): string {
	if (isObject(json.details)) {
		const { statusCode, attempts } = json.details;
		const status = statusCode === undefined ? '' : `statusCode ${String(statusCode)}, `;
		return `error "${shortened(json.error)}", details: ${status}attempts ${String(attempts)}`;
	}
	const parts = [`success ${String(json.success)}`];
	if (json.statusCode !== undefined) parts.push(`statusCode ${String(json.statusCode)}`);
	for (const flag of FLAGS) if (json[flag] === true) parts.push(flag);
	if (json.repeatOf !== undefined) parts.push(`repeatOf ${String(json.repeatOf)}`);
	parts.push(`attempts ${String(json.attempts)}`);
	return parts.join(', ');
}

/** One line per run of alike items: `#0 … #4 (ra-0 … ra-4): success true, fromEarlierRun, attempts 1`. */
export function describeItems(items: readonly OutputItem[]): string[] {
	if (items.length === 0) return ['(no items)'];
	const lines = items.map((item, position) => {
		const index = pairedIndex(item.pairedItem);
		return {
			label: `#${String(index ?? '?')} ${String(itemId(item.json))}`,
			text: summary(item.json),
			position: index ?? position,
		};
	});
	return grouped(lines);
}

/** Prints what a pass saw: what the simulator answered (during `when`), then each output. */
export function printTrace(
	when: string,
	answers: AnswersPerId,
	outputs: ReadonlyArray<{ name: string; items: readonly OutputItem[] }>,
): void {
	console.log(`         ${when}, the simulator answered per ID: ${describeAnswers(answers)}`);
	for (const output of outputs) {
		console.log(`         ${output.name} (${output.items.length} items):`);
		for (const line of describeItems(output.items)) console.log(`           ${line}`);
	}
}

/** Runs a pass and prints how long it took, pass or fail. */
export async function timed(what: string, action: () => Promise<void>): Promise<void> {
	const startedAt = Date.now();
	try {
		await action();
	} finally {
		console.log(`         ${what}: ${((Date.now() - startedAt) / 1000).toFixed(1)} s in all`);
	}
}
