/**
 * The workflows of the re-run passes: a source of items, one Twin24 node (Call → Depersonalize,
 * the ID from `$json.id`, Max Retries 0, so that a scripted failure reaches n8n at once) with the
 * Settings a builder clicks, and, where the error output is wired, a No Operation node on each of
 * its outputs.
 */
import { TOKEN_CREDENTIAL, TWIN24_NODE_TYPE, bindExample } from './examples';
import type { JsonObject } from './runData';

export const TWIN24_NODE = 'Twin24';
/** The No Operation nodes on the Twin24 node's main output and on its error output. */
export const BRANCHES = { main: 'Erased', error: 'Alert' } as const;

/** The node's Settings tab, as n8n saves it on the node. */
export interface NodeSettings {
	retryOnFail?: boolean;
	maxTries?: number;
	waitBetweenTries?: number;
	onError?: 'continueRegularOutput' | 'continueErrorOutput';
}

/** Where the items come from: a Code node under a manual trigger, or a production webhook. */
export type ItemSource =
	{ kind: 'code'; ids: readonly string[] } | { kind: 'webhook'; path: string };

export interface RerunWorkflow {
	id: string;
	name: string;
	source: ItemSource;
	settings: NodeSettings;
	/** Concurrency 1 makes "the items before the failure" exact. */
	concurrency: number;
	/** A No Operation node on the main output and one on the error output. */
	branches?: boolean;
	/** More of the node's options (e.g. Ignore Not Found). */
	options?: JsonObject;
	/** More of the workflow's settings (e.g. its Timeout, `executionTimeout` in seconds). */
	workflowSettings?: JsonObject;
}

type Position = [number, number];

function node(
	name: string,
	type: string,
	typeVersion: number,
	position: Position,
	parameters: JsonObject,
): JsonObject {
	const id = `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${type.split('.').pop() ?? ''}`;
	return { id, name, type, typeVersion, position, parameters };
}

function link(to: string): { node: string; type: 'main'; index: 0 } {
	return { node: to, type: 'main', index: 0 };
}

const WEBHOOK_NODE = 'Erasure request';
const SPLIT_NODE = 'One item per ID';

/** A webhook ID of its own for each path, the same on every run (n8n keys test webhooks by it). */
function webhookIdFor(path: string): string {
	const digits = [...path].reduce((sum, char) => (sum * 31 + char.charCodeAt(0)) % 1e12, 17);
	return `5f0c2a9e-7d41-4c3b-9e8a-${String(digits).padStart(12, '0')}`;
}

/** The nodes before the Twin24 node, the last of them feeding it items that carry `id`. */
function sourceNodes(source: ItemSource): { nodes: JsonObject[]; connections: JsonObject } {
	if (source.kind === 'code') {
		const jsCode = `return ${JSON.stringify(source.ids)}.map((id) => ({ json: { id } }));`;
		return {
			nodes: [
				node('Start', 'n8n-nodes-base.manualTrigger', 1, [0, 0], {}),
				node('IDs', 'n8n-nodes-base.code', 2, [220, 0], { jsCode }),
			],
			connections: { Start: { main: [[link('IDs')]] }, IDs: { main: [[link(TWIN24_NODE)]] } },
		};
	}
	const webhook: JsonObject = {
		...node(WEBHOOK_NODE, 'n8n-nodes-base.webhook', 2, [0, 0], {
			httpMethod: 'POST',
			path: source.path,
			responseMode: 'lastNode',
			options: {},
		}),
		webhookId: webhookIdFor(source.path),
	};
	const split = node(SPLIT_NODE, 'n8n-nodes-base.splitOut', 1, [220, 0], {
		fieldToSplitOut: 'body.callIds',
		include: 'noOtherFields',
		options: { destinationFieldName: 'id' },
	});
	return {
		nodes: [webhook, split],
		connections: {
			[WEBHOOK_NODE]: { main: [[link(SPLIT_NODE)]] },
			[SPLIT_NODE]: { main: [[link(TWIN24_NODE)]] },
		},
	};
}

function twin24Node(workflow: RerunWorkflow): JsonObject {
	return {
		...node(TWIN24_NODE, TWIN24_NODE_TYPE, 1, [440, 0], {
			resource: 'call',
			operation: 'depersonalize',
			callId: '={{ $json.id }}',
			options: { maxRetries: 0, concurrency: workflow.concurrency, ...workflow.options },
		}),
		...workflow.settings,
	};
}

function branchNodes(): { nodes: JsonObject[]; connections: JsonObject } {
	return {
		nodes: [
			node(BRANCHES.main, 'n8n-nodes-base.noOp', 1, [660, -100], {}),
			node(BRANCHES.error, 'n8n-nodes-base.noOp', 1, [660, 100], {}),
		],
		connections: { [TWIN24_NODE]: { main: [[link(BRANCHES.main)], [link(BRANCHES.error)]] } },
	};
}

/** The workflow document `n8n import:workflow` takes, bound to the access-token credential. */
export function rerunWorkflowDocument(workflow: RerunWorkflow): JsonObject {
	const source = sourceNodes(workflow.source);
	const branches = workflow.branches ? branchNodes() : { nodes: [], connections: {} };
	const document = {
		name: `Twin24 e2e: ${workflow.name}`,
		nodes: [...source.nodes, twin24Node(workflow), ...branches.nodes],
		connections: { ...source.connections, ...branches.connections },
		// Saved, so that a failed execution can be retried from the executions list.
		settings: {
			executionOrder: 'v1',
			saveDataErrorExecution: 'all',
			saveDataSuccessExecution: 'all',
			saveManualExecutions: true,
			...workflow.workflowSettings,
		},
	};
	return bindExample(document, workflow.id, TOKEN_CREDENTIAL);
}
