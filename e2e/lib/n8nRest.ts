/**
 * n8n's own REST API (what its editor uses), signed in as the owner: executions with their run
 * data, projects and Data Tables.
 */
import { isObject, type JsonObject } from './runData';
import { ensureOwner } from './typesCheck';

/**
 * n8n stores run data in the `flatted` format: a JSON array whose first entry is the root, where
 * every string inside an object or array is the index of the entry that holds the value.
 */
export function parseFlatted(text: string): unknown {
	const entries: unknown = JSON.parse(text);
	if (!Array.isArray(entries)) throw new Error('not flatted data');
	const filled = new Set<object>();
	const resolve = (value: unknown): unknown => {
		if (typeof value !== 'string') return value;
		const entry: unknown = entries[Number(value)];
		if (typeof entry === 'object' && entry !== null) fill(entry);
		return entry;
	};
	const fill = (node: object): void => {
		if (filled.has(node)) return;
		filled.add(node);
		const record = node as Record<string, unknown>;
		for (const key of Object.keys(record)) record[key] = resolve(record[key]);
	};
	const root: unknown = entries[0];
	if (typeof root === 'object' && root !== null) fill(root);
	return root;
}

/** POSTs JSON to one of n8n's webhooks; again while it is not live yet (404, or n8n starting up). */
export async function postToWebhook(
	url: string,
	body: unknown,
): Promise<{ status: number; text: string }> {
	const deadline = Date.now() + 60_000;
	for (;;) {
		const response = await fetch(url, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify(body),
		});
		const text = await response.text();
		const notReady = response.status === 404 || text.includes('n8n is starting up');
		if (!notReady || Date.now() > deadline) return { status: response.status, text };
		await new Promise((resolve) => setTimeout(resolve, 1000));
	}
}

export interface ExecutionSummary {
	id: string;
	status: string;
}

export class N8nRest {
	private constructor(
		private readonly baseUrl: string,
		private readonly cookie: string,
	) {}

	static async signIn(baseUrl: string): Promise<N8nRest> {
		return new N8nRest(baseUrl, await ensureOwner(baseUrl));
	}

	async get(path: string): Promise<unknown> {
		return await this.send('GET', path);
	}

	async post(path: string, body: unknown): Promise<unknown> {
		return await this.send('POST', path, body);
	}

	private async send(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
		const response = await fetch(`${this.baseUrl}/rest${path}`, {
			method,
			headers: {
				cookie: this.cookie,
				...(body === undefined ? {} : { 'content-type': 'application/json' }),
			},
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const text = await response.text();
		if (!response.ok)
			throw new Error(`${method} /rest${path}: ${response.status} ${text.slice(0, 300)}`);
		const parsed: unknown = text.length > 0 ? JSON.parse(text) : undefined;
		return isObject(parsed) && 'data' in parsed ? parsed.data : parsed;
	}

	/** The workflow's executions, newest first. */
	async executions(workflowId: string): Promise<ExecutionSummary[]> {
		const filter = encodeURIComponent(JSON.stringify({ workflowId }));
		const page = await this.get(`/executions?filter=${filter}&limit=50`);
		const results = isObject(page) && Array.isArray(page.results) ? page.results : [];
		return results
			.filter(isObject)
			.map((execution) => ({ id: String(execution.id), status: String(execution.status) }));
	}

	/** One execution's run data (`IRun`-shaped: `data.resultData.runData`), and its status. */
	async execution(id: string): Promise<{ status: string; run: JsonObject }> {
		const execution = await this.get(`/executions/${encodeURIComponent(id)}`);
		if (!isObject(execution) || typeof execution.data !== 'string')
			throw new Error(`execution ${id}: no run data`);
		const data = parseFlatted(execution.data);
		return { status: String(execution.status), run: { data, status: execution.status } };
	}

	async personalProjectId(): Promise<string> {
		const project = await this.get('/projects/personal');
		if (!isObject(project) || typeof project.id !== 'string')
			throw new Error(`no personal project: ${JSON.stringify(project).slice(0, 200)}`);
		return project.id;
	}
}
