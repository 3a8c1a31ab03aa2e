/**
 * examples/crm-erasure-log.json inside real n8n: a CRM's erasure request (webhook) → Twin24 →
 * n8n's own Data Table as the erasure log, failures to a second branch that logs and alerts. The
 * Data Table is created through n8n's REST API, the way the editor creates it; the log is read back
 * the same way and compared with what the Twin24 node reported in the execution.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import {
	CREDENTIAL_TYPE,
	PATHS,
	TOKEN_CREDENTIAL,
	TWIN24_NODE_TYPE,
	readExample,
} from './examples';
import { readBody } from './modelStandIn';
import { N8nRest, postToWebhook } from './n8nRest';
import { isObject, nodeItems, runCount, type JsonObject, type OutputItem } from './runData';
import type { ScenarioContext } from './scenarios';

export const ERASURE_LOG_EXAMPLE = 'crm-erasure-log.json';
const WORKFLOW_ID = 'tw24ErasureLog001';
const WEBHOOK_PATH = 'twin24-erasure-log';
const TABLE_NAME = 'twin24_erasure_log';
const TWIN24_NODE = 'Depersonalize call';
const ALERT_NODE = 'Alert the privacy team';

/** The log's columns, as the example's sticky note tells the builder to create them. */
const COLUMNS = [
	{ name: 'callId', type: 'string' },
	{ name: 'operation', type: 'string' },
	{ name: 'outcome', type: 'string' },
	{ name: 'recordDeleted', type: 'boolean' },
	{ name: 'confirmedAt', type: 'date' },
	{ name: 'attempts', type: 'number' },
	{ name: 'statusCode', type: 'number' },
	{ name: 'error', type: 'string' },
	{ name: 'requestId', type: 'string' },
	{ name: 'executionId', type: 'string' },
	{ name: 'workflowId', type: 'string' },
] as const;
const SYSTEM_COLUMNS = ['id', 'createdAt', 'updatedAt'];

const REQUEST = {
	requestId: 'crm-5001',
	erased: ['9c4d5e6f-7a8b-4c9d-8e0f-4a5b6c7d8e95', 'ad5e6f7a-8b9c-4dae-9f1a-5b6c7d8e9fa6'],
	unknown: 'be6f7a8b-9cad-4ebf-8a2b-6c7d8e9fab07',
	hostile: '../calls/other',
} as const;
const REQUESTED = [...REQUEST.erased, REQUEST.unknown, REQUEST.hostile];

type Expect = (name: string, passed: boolean, detail?: string) => boolean;

/** Where the example's alert goes in the e2e: a stand-in for the builder's Slack webhook. */
export class AlertInbox {
	readonly alerts: unknown[] = [];

	private constructor(private readonly server: Server) {}

	static async start(): Promise<AlertInbox> {
		const server = createServer();
		const inbox = new AlertInbox(server);
		server.on('request', (request, response) => {
			void readBody(request).then((body) => {
				try {
					inbox.alerts.push(JSON.parse(body));
				} catch {
					inbox.alerts.push(body);
				}
				response.writeHead(200, { 'content-type': 'application/json' });
				response.end('{"ok":true}');
			});
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		return inbox;
	}

	get url(): string {
		const { port } = this.server.address() as AddressInfo;
		return `http://127.0.0.1:${port}/alerts`;
	}

	async stop(): Promise<void> {
		this.server.closeAllConnections();
		await new Promise<void>((resolve) => this.server.close(() => resolve()));
	}
}

/** The example bound to the e2e's token credential, its alert sent to `inbox`. */
export function erasureLogWorkflow(examplesDir: string, inbox: AlertInbox): JsonObject {
	const example = readExample(examplesDir, ERASURE_LOG_EXAMPLE);
	const nodes = (example.nodes as JsonObject[]).map((node) => {
		if (node.type === TWIN24_NODE_TYPE) {
			const credential = { id: TOKEN_CREDENTIAL.id, name: TOKEN_CREDENTIAL.name };
			return { ...node, credentials: { [CREDENTIAL_TYPE]: credential } };
		}
		if (node.name === ALERT_NODE && isObject(node.parameters))
			return { ...node, parameters: { ...node.parameters, url: inbox.url } };
		return node;
	});
	return {
		...example,
		nodes,
		id: WORKFLOW_ID,
		name: `${String(example.name)} [e2e]`,
		active: false,
	};
}

export async function publishErasureLogWorkflow(ctx: ScenarioContext): Promise<void> {
	await ctx.n8n.activateWorkflow(WORKFLOW_ID);
}

interface ErasureLog {
	rest: N8nRest;
	rowsPath: string;
}

async function createLog(rest: N8nRest): Promise<ErasureLog> {
	const projectId = await rest.personalProjectId();
	const table = await rest.post(`/projects/${projectId}/data-tables`, {
		name: TABLE_NAME,
		columns: COLUMNS,
	});
	if (!isObject(table) || typeof table.id !== 'string')
		throw new Error(`Data Table not created: ${JSON.stringify(table).slice(0, 300)}`);
	return { rest, rowsPath: `/projects/${projectId}/data-tables/${table.id}/rows?take=100` };
}

async function rowsOf(log: ErasureLog): Promise<JsonObject[]> {
	const page = await log.rest.get(log.rowsPath);
	return isObject(page) && Array.isArray(page.data) ? page.data.filter(isObject) : [];
}

/** Reads the log until it holds a row per requested ID, or 90 s have passed. */
async function awaitRows(log: ErasureLog, count: number): Promise<JsonObject[]> {
	const deadline = Date.now() + 90_000;
	for (;;) {
		const rows = await rowsOf(log);
		if (rows.length >= count || Date.now() > deadline) return rows;
		await new Promise((resolve) => setTimeout(resolve, 1000));
	}
}

function rowFor(rows: JsonObject[], callId: string): JsonObject | undefined {
	return rows.find((row) => row.callId === callId);
}

function sameTime(logged: unknown, reported: unknown): boolean {
	if (typeof logged !== 'string' || typeof reported !== 'string') return false;
	return Date.parse(logged) === Date.parse(reported);
}

function checkDoneRow(
	expect: Expect,
	row: JsonObject | undefined,
	item: JsonObject | undefined,
	outcome: string,
): void {
	const callId = String(item?.callId ?? row?.callId);
	expect(
		`${callId}: logged as ${outcome}, recordDeleted ${String(outcome === 'erased')}, confirmedAt and attempts equal to the node's`,
		row !== undefined &&
			item !== undefined &&
			row.outcome === outcome &&
			row.recordDeleted === (outcome === 'erased') &&
			sameTime(row.confirmedAt, item.confirmedAt) &&
			row.attempts === item.attempts,
		`row ${JSON.stringify(row)}; node ${JSON.stringify(item)}`,
	);
}

function checkRows(
	expect: Expect,
	rows: JsonObject[],
	executionId: unknown,
	main: OutputItem[],
): void {
	expect(
		`one row per requested ID (${REQUESTED.length})`,
		rows.length === REQUESTED.length &&
			REQUESTED.every((id) => rows.filter((row) => row.callId === id).length === 1),
		JSON.stringify(rows.map((row) => row.callId)),
	);
	expect(
		`every row names the operation, the CRM's request, n8n's execution and the workflow`,
		rows.every(
			(row) =>
				row.operation === 'call.depersonalize' &&
				row.requestId === REQUEST.requestId &&
				row.executionId === executionId &&
				row.workflowId === WORKFLOW_ID,
		),
		JSON.stringify(rows),
	);
	const allowed = new Set<string>([...COLUMNS.map((column) => column.name), ...SYSTEM_COLUMNS]);
	expect(
		'the log holds only its columns (the ID, no other personal data)',
		rows.every((row) => Object.keys(row).every((key) => allowed.has(key))),
		JSON.stringify(rows.map((row) => Object.keys(row))),
	);
	const reported = (callId: string) => main.find((item) => item.json.callId === callId)?.json;
	for (const callId of REQUEST.erased)
		checkDoneRow(expect, rowFor(rows, callId), reported(callId), 'erased');
	checkDoneRow(expect, rowFor(rows, REQUEST.unknown), reported(REQUEST.unknown), 'notFound');
	const failed = rowFor(rows, REQUEST.hostile);
	expect(
		`${REQUEST.hostile}: logged as failed, with the error, no confirmedAt, attempts 0`,
		failed?.outcome === 'failed' &&
			typeof failed.error === 'string' &&
			failed.error.includes('"/"') &&
			failed.confirmedAt === null &&
			failed.recordDeleted === false &&
			failed.attempts === 0,
		JSON.stringify(failed),
	);
}

function checkRouting(expect: Expect, run: JsonObject, alerts: unknown[]): void {
	const main = nodeItems(run, TWIN24_NODE, 0).map((item) => item.json.callId);
	const errors = nodeItems(run, TWIN24_NODE, 1);
	expect(
		'done items left Twin24 by its main output, the failed one by its error output',
		JSON.stringify([...main].sort()) ===
			JSON.stringify([...REQUEST.erased, REQUEST.unknown].sort()) && errors.length === 1,
		`main ${JSON.stringify(main)}; error output ${JSON.stringify(errors.map((item) => item.json))}`,
	);
	expect(
		'one alert was sent, naming the failed ID and the CRM request',
		runCount(run, ALERT_NODE) === 1 &&
			alerts.length === 1 &&
			JSON.stringify(alerts[0]).includes(REQUEST.hostile) &&
			JSON.stringify(alerts[0]).includes(REQUEST.requestId),
		JSON.stringify(alerts),
	);
}

/** The erasure-log pass: one CRM request with two erasable calls, an unknown one and a hostile ID. */
export async function runErasureLogPass(ctx: ScenarioContext, inbox: AlertInbox): Promise<void> {
	const scope = `${ctx.label} erasure log`;
	const expect: Expect = (name, passed, detail) => ctx.checks.check(scope, name, passed, detail);
	const rest = await N8nRest.signIn(ctx.n8n.baseUrl);
	const log = await createLog(rest);
	expect(`Data Table "${TABLE_NAME}" created through n8n's REST API`, true);
	await ctx.sim.reset();
	await ctx.sim.seed({ calls: [...REQUEST.erased], hasRecord: true });
	ctx.checks.noteRun(
		`${ctx.label}: ${ERASURE_LOG_EXAMPLE} via POST /webhook/${WEBHOOK_PATH} on n8n start`,
	);
	const { status } = await postToWebhook(`${ctx.n8n.baseUrl}/webhook/${WEBHOOK_PATH}`, {
		requestId: REQUEST.requestId,
		callIds: REQUESTED,
	});
	expect('the webhook took the request (200)', status === 200, `status ${status}`);
	const rows = await awaitRows(log, REQUESTED.length);
	const executionId = rows[0]?.executionId;
	if (
		!expect(
			'the log got its rows within 90 s, naming the execution',
			rows.length >= REQUESTED.length && typeof executionId === 'string',
			`${rows.length} row(s): ${JSON.stringify(rows).slice(0, 400)}`,
		)
	)
		return;
	const { status: executionStatus, run } = await rest.execution(String(executionId));
	expect('the execution ended with status success', executionStatus === 'success', executionStatus);
	const cis = (await ctx.sim.requests()).filter((request) => request.path.startsWith('/cis/'));
	const wanted = [...REQUEST.erased, REQUEST.unknown]
		.map((id) => PATHS.callDepersonalize(id))
		.sort();
	expect(
		'Twin24 received one erasure per erasable ID and nothing for the hostile one',
		JSON.stringify(cis.map((request) => request.path).sort()) === JSON.stringify(wanted),
		cis.map((request) => `${request.method} ${request.path} → ${request.status}`).join('; '),
	);
	console.log(`\n  ---- ${ctx.label}: the erasure log as n8n's REST API returns it ----`);
	for (const row of rows) console.log(`  ${JSON.stringify(row)}`);
	console.log(`  alerts received: ${JSON.stringify(inbox.alerts)}`);
	checkRows(expect, rows, executionId, nodeItems(run, TWIN24_NODE, 0));
	checkRouting(expect, run, inbox.alerts);
	const stored = JSON.stringify(rows) + JSON.stringify(inbox.alerts);
	const secrets = [ctx.sim.info.accessToken, ctx.sim.info.password];
	expect(
		'no token or password in the log or the alert',
		secrets.every((secret) => !stored.includes(secret)),
	);
}
