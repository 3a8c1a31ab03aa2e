/** Reading n8n's run data (the `IRun` JSON that `n8n execute --rawOutput` prints) without trusting its shape. */

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The JSON in `text`; undefined when it is not JSON. */
export function parsedJson(text: string): unknown {
	try {
		return JSON.parse(text) as unknown;
	} catch {
		return undefined;
	}
}

function field(value: unknown, ...path: string[]): unknown {
	let current = value;
	for (const key of path) {
		if (!isObject(current)) return undefined;
		current = current[key];
	}
	return current;
}

export interface OutputItem {
	json: JsonObject;
	pairedItem: unknown;
}

function toOutputItem(value: unknown): OutputItem | undefined {
	if (!isObject(value) || !isObject(value.json)) return undefined;
	return { json: value.json, pairedItem: value.pairedItem };
}

function runsOf(run: unknown, nodeName: string): unknown[] {
	const runs = field(run, 'data', 'resultData', 'runData', nodeName);
	return Array.isArray(runs) ? runs : [];
}

/** How many times the node ran (0 when it did not run). */
export function runCount(run: unknown, nodeName: string): number {
	return runsOf(run, nodeName).length;
}

/** Items the node emitted on one output, over all its runs, in order. */
export function nodeItems(run: unknown, nodeName: string, outputIndex = 0): OutputItem[] {
	const items: OutputItem[] = [];
	for (const nodeRun of runsOf(run, nodeName)) {
		const outputs = field(nodeRun, 'data', 'main');
		const output = Array.isArray(outputs) ? outputs[outputIndex] : undefined;
		if (!Array.isArray(output)) continue;
		for (const entry of output) {
			const item = toOutputItem(entry);
			if (item) items.push(item);
		}
	}
	return items;
}

/** Items per run (for a node that ran more than once, e.g. reached from two branches). */
export function nodeItemsPerRun(run: unknown, nodeName: string, outputIndex = 0): OutputItem[][] {
	return runsOf(run, nodeName).map((nodeRun) => {
		const outputs = field(nodeRun, 'data', 'main');
		const output = Array.isArray(outputs) ? outputs[outputIndex] : undefined;
		return Array.isArray(output)
			? output.map(toOutputItem).filter((item): item is OutputItem => item !== undefined)
			: [];
	});
}

/** The execution-level error message, if the run failed. */
export function executionError(run: unknown): string | undefined {
	const error = field(run, 'data', 'resultData', 'error');
	if (error === undefined || error === null) return undefined;
	const message = field(error, 'message');
	return typeof message === 'string' ? message : JSON.stringify(error).slice(0, 500);
}

export function runStatus(run: unknown): string {
	const status = field(run, 'status');
	return typeof status === 'string' ? status : 'unknown';
}

/** The item index a `pairedItem` points at (n8n stores `{ item: n }`, a number, or an array of those). */
export function pairedIndex(pairedItem: unknown): number | undefined {
	if (typeof pairedItem === 'number') return pairedItem;
	if (Array.isArray(pairedItem))
		return pairedItem.length === 1 ? pairedIndex(pairedItem[0]) : undefined;
	const item = field(pairedItem, 'item');
	return typeof item === 'number' ? item : undefined;
}

/** How long n8n recorded the node's first run took (`executionTime`, in ms). */
export function nodeExecutionTimeMs(run: unknown, nodeName: string): number | undefined {
	const time = field(runsOf(run, nodeName)[0], 'executionTime');
	return typeof time === 'number' ? time : undefined;
}
