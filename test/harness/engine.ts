/**
 * The engine harness: runs real workflows in n8n-core's `WorkflowExecute`, with the
 * package loaded as n8n loads it and credentials handled as n8n handles them, and runs
 * credential tests the way n8n's `CredentialsTester` does.
 *
 *   const { output, error, store } = await runTwin24({ items, parameters, credentials });
 */
import {
	CredentialTestContext,
	ExecuteContext,
	ExecutionLifecycleHooks,
	RoutingNode,
	WorkflowExecute,
} from 'n8n-core';
import type {
	ExecutionError,
	ExecutionStatus,
	ICredentialDataDecryptedObject,
	ICredentialTestFunction,
	ICredentialTestRequest,
	ICredentialsDecrypted,
	IConnections,
	IDataObject,
	INode,
	INodeCredentialTestResult,
	INodeExecutionData,
	INodeParameters,
	INodeType,
	INodeTypeDescription,
	INodeTypes,
	IRun,
	IRunExecutionData,
	IWorkflowBase,
	IWorkflowSettings,
	WorkflowExecuteMode,
} from 'n8n-workflow';
import {
	NodeHelpers,
	UnexpectedError,
	Workflow,
	createRunExecutionData,
	deepCopy,
} from 'n8n-workflow';

import { CredentialStore, HarnessCredentialsHelper } from './credentials';
import type { StoredCredential } from './credentials';
import { ITEM_SOURCE_NODE_TYPE, itemSourceNode, loopNode, passthroughNode } from './nodes';
import { RunNodeTypes, createAdditionalData, latestVersion, resolveTypes } from './runtime';
import type { AnyNodeType, NodeEnding, TypeSet, TypeSources } from './runtime';

export {
	CREDENTIAL_TEST_NODE_TYPE,
	CredentialStore,
	CredentialTypeRegistry,
	HarnessCredentialsHelper,
} from './credentials';
export type { CredentialCounters, CredentialEvent, StoredCredential } from './credentials';
export {
	ITEM_SOURCE_NODE_TYPE,
	LOOP_NODE_TYPE,
	PASSTHROUGH_NODE_TYPE,
	itemSourceNode,
	loopNode,
	passthroughNode,
} from './nodes';
export {
	activeExpressionEngine,
	capturedN8nLog,
	clearCapturedN8nLog,
	disposeExpressionEngine,
	ensureN8nEnvironment,
	findPackageRoot,
	loadPackage,
	useExpressionEngine,
} from './runtime';
export type {
	AnyNodeType,
	HarnessExpressionEngine,
	LoadedPackage,
	N8nLogEntry,
	TypeSources,
} from './runtime';

/** What a node threw. n8n's node errors (NodeApiError, NodeOperationError) carry the rest. */
export type NodeThrownError = Error & {
	description?: string | null;
	httpCode?: string | null;
	context?: IDataObject;
	level?: string;
	messages?: string[];
	node?: INode;
};

// ---------------------------------------------------------------- running a workflow

export interface RunWorkflowOptions extends TypeSources {
	nodes: INode[];
	connections: IConnections;
	/** Name of the node to start from; default: the first harness item source, else n8n's choice. */
	startNode?: string;
	/** Shared across runs to keep what credentials wrote (tokens) between executions. */
	store?: CredentialStore;
	/** Credentials by id, added to the store unless it already holds that id. */
	credentials?: Record<string, StoredCredential>;
	/** Default `manual`, as when a user clicks "Execute workflow". */
	mode?: WorkflowExecuteMode;
	settings?: IWorkflowSettings;
	/** Called once the execution started, with what the Stop button does. */
	onStart?: (controls: ExecutionControls) => void;
	/** The saved data of a failed execution to go on from, as n8n's execution retry does. */
	retryOf?: IRunExecutionData;
}

export interface ExecutionControls {
	/** Cancels the execution as n8n's Stop button and the workflow timeout do. */
	cancel(): void;
}

let executionCounter = 0;

export class WorkflowRun {
	constructor(
		readonly run: IRun,
		readonly store: CredentialStore,
		/** Node names in the order their runs finished. */
		readonly executionOrder: string[],
		readonly durationMs: number,
		private readonly thrownByNode: Map<string, unknown[]>,
		private readonly endings: ReadonlyMap<string, NodeEnding>,
	) {}

	/** When the node's execute() ended and what it returned, even after a cancel. */
	ending(nodeName: string): NodeEnding | undefined {
		return this.endings.get(nodeName);
	}

	get status(): ExecutionStatus {
		return this.run.status;
	}

	/** The error the execution ended with, as n8n stores it (a flattened copy). */
	get workflowError(): ExecutionError | undefined {
		return this.run.data.resultData.error;
	}

	/** The items a node sent out of one of its outputs (output 1 is the error output). */
	output(nodeName: string, outputIndex = 0, runIndex = 0): INodeExecutionData[] | undefined {
		const main = this.run.data.resultData.runData[nodeName]?.[runIndex]?.data?.main;
		return main?.[outputIndex] ?? undefined;
	}

	/** The last error the node threw: the real object, with its class, `cause` and `context`. */
	error(nodeName: string): NodeThrownError | undefined {
		const last = this.thrown(nodeName).at(-1);
		return last instanceof Error ? last : undefined;
	}

	/** Everything the node threw, one entry per try (more than one with "Retry on fail"). */
	thrown(nodeName: string): unknown[] {
		return [...(this.thrownByNode.get(nodeName) ?? [])];
	}

	/** The node's error as n8n keeps it in the run data: own fields only, no `cause`. */
	runDataError(nodeName: string, runIndex = 0): ExecutionError | undefined {
		return this.run.data.resultData.runData[nodeName]?.[runIndex]?.error;
	}
}

/** Runs a workflow in n8n-core's `WorkflowExecute`, start to end. */
export async function runWorkflow(options: RunWorkflowOptions): Promise<WorkflowRun> {
	const types = await resolveTypes(options);
	const store = seededStore(options.store, options.credentials);
	return await execute(options, types, store);
}

function seededStore(
	store: CredentialStore = new CredentialStore(),
	credentials: Record<string, StoredCredential> = {},
): CredentialStore {
	for (const [id, entry] of Object.entries(credentials)) {
		if (!store.has(id)) store.set(id, entry);
	}
	return store;
}

async function execute(
	options: RunWorkflowOptions,
	types: TypeSet,
	store: CredentialStore,
): Promise<WorkflowRun> {
	const mode = options.mode ?? 'manual';
	const executionId = `harness-${++executionCounter}`;
	const nodeTypes = new RunNodeTypes(types.nodeTypes);
	const workflow = buildWorkflow(options, nodeTypes, executionId);
	const hooks = new ExecutionLifecycleHooks(mode, executionId, workflowData(workflow, options));
	const executionOrder: string[] = [];
	let runFromHook: IRun | undefined;
	hooks.addHandler('nodeExecuteAfter', (nodeName) => void executionOrder.push(nodeName));
	hooks.addHandler('workflowExecuteAfter', (run) => void (runFromHook = run));

	const helper = new HarnessCredentialsHelper(store, types.credentialTypes);
	const additionalData = createAdditionalData(helper, executionId, hooks);
	const startedAt = performance.now();
	const running =
		options.retryOf === undefined
			? new WorkflowExecute(additionalData, mode).run({
					workflow,
					startNode: startNodeOf(workflow, options.startNode),
				})
			: new WorkflowExecute(additionalData, 'retry', options.retryOf).processRunExecutionData(
					workflow,
				);
	options.onStart?.({ cancel: () => running.cancel() });
	const runFromPromise = await running;
	const durationMs = performance.now() - startedAt;
	return new WorkflowRun(
		runFromHook ?? runFromPromise,
		store,
		executionOrder,
		durationMs,
		nodeTypes.thrown,
		nodeTypes.endings,
	);
}

/**
 * The data n8n's execution retry starts from ("Retry with original workflow" in the executions
 * list): the failed execution's data as it was saved (a JSON copy), without the workflow's error
 * and without the failed node's last run, so that the node runs again from the execution stack
 * with the same input and the same node contexts.
 */
export function retryDataOf(failed: WorkflowRun): IRunExecutionData {
	return asRetried(JSON.parse(JSON.stringify(failed.run.data)) as IRunExecutionData);
}

/** What n8n's execution retry changes in the saved data before it runs it again. */
function asRetried(data: IRunExecutionData): IRunExecutionData {
	const { lastNodeExecuted, runData } = data.resultData;
	delete data.resultData.error;
	const runs = lastNodeExecuted === undefined ? undefined : runData[lastNodeExecuted];
	if (runs !== undefined && runs.length > 0 && runs[runs.length - 1].error !== undefined)
		runs.pop();
	return data;
}

/** The nodes of a crashed execution as n8n's crash recovery finds them in its event log. */
export interface CrashedNodes {
	/** In the workflow's node order: recovery names the last of them `lastNodeExecuted`. */
	started: string[];
	/** The node that started and did not finish; the others finished. */
	crashed: string;
}

/**
 * The data n8n's retry of a *crashed* execution (n8n killed mid-run) starts from. n8n saved the
 * execution as it started: the first node on the stack with its input, no results and an empty
 * context; of the nodes that ran, nothing reached the database. On the next start its crash
 * recovery reads the event log: a node that finished gets one placeholder run, the node that
 * started and did not finish one run with a crash error. Then the retry drops the workflow's error
 * and the crashed run, and the stack runs again from the first node, with the same input.
 */
export function crashedRetryData(firstNode: INode, nodes: CrashedNodes): IRunExecutionData {
	const data = createRunExecutionData({
		executionData: {
			nodeExecutionStack: [{ node: firstNode, data: { main: [[{ json: {} }]] }, source: null }],
		},
	});
	for (const name of nodes.started) {
		const run = { startTime: Date.now(), executionIndex: 0, executionTime: -1, source: [null] };
		data.resultData.runData[name] = [
			name === nodes.crashed
				? { ...run, executionStatus: 'crashed', error: crashError(name) }
				: { ...run, executionStatus: 'success', data: RECOVERED_OUTPUT },
		];
	}
	data.resultData.lastNodeExecuted = nodes.started.at(-1);
	data.resultData.error = crashError(nodes.crashed);
	return asRetried(JSON.parse(JSON.stringify(data)) as IRunExecutionData);
}

/** n8n's placeholder output for a node its crash recovery found finished. */
const RECOVERED_OUTPUT = { main: [[{ json: { isArtificialRecoveredEventItem: true } }]] };

function crashError(nodeName: string): ExecutionError {
	const message = `Node "${nodeName}" crashed, possibly from being out of memory`;
	return { name: 'NodeCrashedError', message } as ExecutionError;
}

function buildWorkflow(options: RunWorkflowOptions, nodeTypes: INodeTypes, id: string): Workflow {
	// The Workflow constructor writes parameter defaults into the nodes it is given.
	return new Workflow({
		id: `workflow-${id}`,
		name: 'Harness workflow',
		nodes: deepCopy(options.nodes),
		connections: deepCopy(options.connections),
		active: false,
		nodeTypes,
		settings: { executionOrder: 'v1', ...options.settings },
	});
}

function workflowData(workflow: Workflow, options: RunWorkflowOptions): IWorkflowBase {
	const now = new Date();
	return {
		id: workflow.id,
		name: workflow.name ?? 'Harness workflow',
		active: false,
		isArchived: false,
		activeVersionId: null,
		createdAt: now,
		updatedAt: now,
		nodes: Object.values(workflow.nodes),
		connections: options.connections,
		settings: workflow.settings,
	};
}

function startNodeOf(workflow: Workflow, requested: string | undefined): INode | undefined {
	if (requested !== undefined) {
		const node = workflow.getNode(requested);
		if (!node) throw new UnexpectedError(`The workflow has no node named "${requested}"`);
		return node;
	}
	const source = Object.values(workflow.nodes).find((node) => node.type === ITEM_SOURCE_NODE_TYPE);
	return source ?? workflow.getStartNode();
}

// ---------------------------------------------------------------- the Twin24 node

export const TWIN24_NODE_TYPE = 'n8n-nodes-twin24.twin24';
export const TWIN24_NODE_NAME = 'Twin24';
export const TWIN24_CREDENTIAL_TYPE = 'twin24Api';
export const TWIN24_CREDENTIAL_ID = 'twin24-credential';

type NodeSettings = Partial<
	Pick<
		INode,
		'onError' | 'retryOnFail' | 'maxTries' | 'waitBetweenTries' | 'alwaysOutputData' | 'executeOnce'
	>
>;

export interface RunTwin24Options extends TypeSources {
	/** The items the node receives, one per item source output item. */
	items: IDataObject[];
	parameters: INodeParameters;
	/** The credential data as the user saved it; ignored when `store` already holds the id. */
	credentials?: ICredentialDataDecryptedObject;
	store?: CredentialStore;
	credentialId?: string;
	/** Shorthand for `onError: 'continueRegularOutput'` (the node setting "On Error: Continue"). */
	continueOnFail?: boolean;
	/** Other node settings; `onError` here wins over `continueOnFail`. */
	nodeSettings?: NodeSettings;
	/** Default: the node type's newest version. */
	typeVersion?: number;
	mode?: WorkflowExecuteMode;
	onStart?: (controls: ExecutionControls) => void;
	/** Goes on from this failed execution's saved data, as n8n's execution retry does. */
	retryOf?: IRunExecutionData;
	/** The workflow around the Twin24 node; default: the items straight into it. */
	shape?: WorkflowShape;
	/**
	 * Runs the node as n8n 2.x offers it to an AI agent: the same node type under the name
	 * `<type>Tool` (n8n's own loader makes that variant; the harness registers it).
	 */
	asTool?: boolean;
}

/** The nodes and connections of a workflow, built around the item source and the Twin24 node. */
export type WorkflowShape = (
	source: INode,
	twin24: INode,
) => { nodes: INode[]; connections: IConnections };

/** The item source's output into the Twin24 node: the workflow of most tests. */
const sourceIntoTwin24: WorkflowShape = (source, twin24) => ({
	nodes: [source, twin24],
	connections: { [source.name]: { main: [[{ node: twin24.name, type: 'main', index: 0 }]] } },
});

/** The node of `loopShape` that receives the loop's "done" output: everything that came back. */
export const LOOP_DONE_NODE = 'Done';

/**
 * Items → Loop Over Items; its loop output into the Twin24 node, and the node's output back into
 * it; its done output into a node "Done": the node runs once per batch in one execution.
 */
export function loopShape(batchSize: number): WorkflowShape {
	return (source, twin24) => {
		const loop = loopNode(batchSize);
		const connections: IConnections = {
			[source.name]: { main: [[{ node: loop.name, type: 'main', index: 0 }]] },
			[loop.name]: {
				main: [
					[{ node: LOOP_DONE_NODE, type: 'main', index: 0 }],
					[{ node: twin24.name, type: 'main', index: 0 }],
				],
			},
			[twin24.name]: { main: [[{ node: loop.name, type: 'main', index: 0 }]] },
		};
		return { nodes: [source, loop, twin24, passthroughNode(LOOP_DONE_NODE)], connections };
	};
}

export interface Twin24RunResult {
	run: IRun;
	/** The node's main output (output 0), or undefined when it produced none. */
	output: INodeExecutionData[] | undefined;
	/** What the node threw (the real object), or undefined. */
	error: NodeThrownError | undefined;
	store: CredentialStore;
	/** Everything else: other outputs, run-data errors, timing. */
	result: WorkflowRun;
}

/** Items → Twin24 node, in a real `WorkflowExecute` run. */
export async function runTwin24(options: RunTwin24Options): Promise<Twin24RunResult> {
	const types = await resolveTypes(options);
	const credentialId = options.credentialId ?? TWIN24_CREDENTIAL_ID;
	const store = seededStore(options.store, twin24Credential(credentialId, options.credentials));
	const nodeType = types.nodeTypes.get(TWIN24_NODE_TYPE);
	if (!nodeType)
		throw new UnexpectedError(`Node type "${TWIN24_NODE_TYPE}" is not loaded; run "npm run build"`);
	const source = itemSourceNode(options.items);
	const typeName = options.asTool === true ? `${TWIN24_NODE_TYPE}Tool` : TWIN24_NODE_TYPE;
	types.nodeTypes.set(typeName, nodeType);
	const twin24: INode = {
		id: 'twin24-node',
		name: TWIN24_NODE_NAME,
		type: typeName,
		typeVersion: options.typeVersion ?? latestVersion(nodeType),
		position: [250, 0],
		parameters: options.parameters,
		credentials: { [TWIN24_CREDENTIAL_TYPE]: { id: credentialId, name: 'Twin24 account' } },
		...(options.continueOnFail ? { onError: 'continueRegularOutput' as const } : {}),
		...options.nodeSettings,
	};
	const { nodes, connections } = (options.shape ?? sourceIntoTwin24)(source, twin24);
	const result = await execute(
		{
			nodes,
			connections,
			mode: options.mode,
			onStart: options.onStart,
			retryOf: options.retryOf,
		},
		types,
		store,
	);
	return {
		run: result.run,
		output: result.output(TWIN24_NODE_NAME),
		error: result.error(TWIN24_NODE_NAME),
		store,
		result,
	};
}

function twin24Credential(
	id: string,
	data: ICredentialDataDecryptedObject | undefined,
): Record<string, StoredCredential> {
	if (!data) return {};
	return { [id]: { type: TWIN24_CREDENTIAL_TYPE, name: 'Twin24 account', data } };
}

// ---------------------------------------------------------------- credential tests

export interface TestCredentialOptions extends TypeSources {
	/** Holds the credential, as n8n tests a saved credential (preAuthentication writes back to it). */
	store: CredentialStore;
	credentialId: string;
}

type CredentialTest =
	| { kind: 'function'; test: ICredentialTestFunction }
	| { kind: 'request'; testRequest: ICredentialTestRequest; nodeType?: INodeType };

/**
 * Tests a saved credential the way n8n's `CredentialsTester.testCredentials` does:
 * defaults and expressions applied, then the test request sent through n8n-core's
 * `RoutingNode` (so through `httpRequestWithAuthentication`: preAuthentication,
 * authenticate, one re-login on 401), and the outcome worded as n8n shows it.
 */
export async function testCredential(
	options: TestCredentialOptions,
): Promise<INodeCredentialTestResult> {
	const types = await resolveTypes(options);
	const stored = options.store.get(options.credentialId);
	const test = findCredentialTest(stored.type, types);
	if (!test) return { status: 'Error', message: 'No testing function found for this credential.' };

	const helper = new HarnessCredentialsHelper(options.store, types.credentialTypes);
	const additionalData = createAdditionalData(helper, `harness-test-${++executionCounter}`);
	const credentials: ICredentialsDecrypted = {
		id: options.credentialId,
		name: stored.name,
		type: stored.type,
		data: stored.data,
	};
	try {
		credentials.data = await helper.applyDefaultsAndOverwrites(
			additionalData,
			stored.data,
			stored.type,
			'internal',
		);
	} catch (error) {
		return { status: 'Error', message: errorMessage(error) };
	}
	if (test.kind === 'function') {
		return await test.test.call(new CredentialTestContext(additionalData), credentials);
	}
	return await sendTestRequest(test, credentials, helper);
}

function findCredentialTest(credentialType: string, types: TypeSet): CredentialTest | undefined {
	const type = types.credentialTypes.getByName(credentialType);
	if (type.test) return { kind: 'request', testRequest: type.test };
	for (const nodeTypeName of types.credentialTypes.getSupportedNodes(credentialType)) {
		const found = nodeTestFor(credentialType, types.nodeTypes.get(nodeTypeName));
		if (found) return found;
	}
	return undefined;
}

function nodeTestFor(
	credentialType: string,
	nodeType: AnyNodeType | undefined,
): CredentialTest | undefined {
	if (!nodeType) return undefined;
	const versions =
		'nodeVersions' in nodeType ? Object.values(nodeType.nodeVersions).reverse() : [nodeType];
	for (const version of versions) {
		const description = version.description.credentials?.find(
			({ name }) => name === credentialType,
		);
		const testedBy = description?.testedBy;
		if (typeof testedBy === 'object')
			return { kind: 'request', testRequest: testedBy, nodeType: version };
		const test =
			typeof testedBy === 'string' ? version.methods?.credentialTest?.[testedBy] : undefined;
		if (test) return { kind: 'function', test };
	}
	return undefined;
}

/**
 * n8n asks its node types for `n8n-nodes-base.noOp` and names the temporary node after the
 * description it gets back; node descriptions carry short names (`noOp`), so in n8n 2.41
 * the node's type is `noOp` and the helper's `n8n-nodes-base.noOp` check does not match.
 */
const noOpDescription: INodeTypeDescription = {
	displayName: 'No Operation, do nothing',
	name: 'noOp',
	group: ['organization'],
	version: 1,
	description: 'No Operation',
	defaults: { name: 'No Operation, do nothing' },
	inputs: ['main'],
	outputs: ['main'],
	properties: [],
};

async function sendTestRequest(
	test: Extract<CredentialTest, { kind: 'request' }>,
	credentials: ICredentialsDecrypted,
	helper: HarnessCredentialsHelper,
): Promise<INodeCredentialTestResult> {
	const baseDescription = test.nodeType?.description ?? deepCopy(noOpDescription);
	const nodeType: INodeType = {
		description: {
			...baseDescription,
			credentials: [{ name: credentials.type, required: true }],
			properties: [
				{
					displayName: 'Temp',
					name: 'temp',
					type: 'string',
					routing: { request: test.testRequest.request },
					default: '',
				},
			],
		},
	};
	const { version } = nodeType.description;
	const node: INode = {
		id: 'temp',
		parameters: {},
		name: 'Temp-Node',
		type: nodeType.description.name,
		typeVersion: Array.isArray(version) ? version.slice(-1)[0] : version,
		position: [0, 0],
		credentials: { [credentials.type]: { id: credentials.id, name: credentials.name } },
	};
	const workflow = new Workflow({
		nodes: [node],
		connections: {},
		active: false,
		nodeTypes: singleNodeTypes(nodeType),
	});
	const additionalData = createAdditionalData(helper, `harness-test-${++executionCounter}`);
	const context = new ExecuteContext(
		workflow,
		node,
		additionalData,
		'internal',
		createRunExecutionData(),
		0,
		[],
		{ main: [[{ json: {} }]] },
		{ node, data: {}, source: null },
		[],
	);
	let response: INodeExecutionData[][] | null | undefined;
	try {
		response = await new RoutingNode(context, nodeType, credentials).runNode();
	} catch (error) {
		return testFailure(error, test.testRequest);
	}
	return testOutcome(response, test.testRequest);
}

function singleNodeTypes(nodeType: INodeType): INodeTypes {
	const lookup = (name: string): INodeType => {
		if (name !== nodeType.description.name)
			throw new UnexpectedError(`Unknown node type "${name}"`);
		return nodeType;
	};
	return {
		getByName: lookup,
		getByNameAndVersion: (name, version) => NodeHelpers.getVersionedNodeType(lookup(name), version),
		getKnownTypes: () => ({}),
	};
}

interface ErrorWithCause {
	cause?: { response?: { status: number; statusText?: string }; code?: string };
}

/** n8n's wording: a matching `responseCode` rule, else the HTTP status text, else the error. */
function testFailure(
	error: unknown,
	testRequest: ICredentialTestRequest,
): INodeCredentialTestResult {
	const cause = (error as ErrorWithCause | null)?.cause;
	if (cause?.response) {
		const { status, statusText } = cause.response;
		for (const rule of testRequest.rules ?? []) {
			if (rule.type === 'responseCode' && rule.properties.value === status) {
				return { status: 'Error', message: rule.properties.message };
			}
		}
		if (status < 199 || status > 299) {
			return { status: 'Error', message: statusText || `Received HTTP status code: ${status}` };
		}
	} else if (cause?.code) {
		return { status: 'Error', message: cause.code };
	}
	return { status: 'Error', message: errorMessage(error) };
}

function testOutcome(
	response: INodeExecutionData[][] | null | undefined,
	testRequest: ICredentialTestRequest,
): INodeCredentialTestResult {
	for (const rule of testRequest.rules ?? []) {
		if (rule.type !== 'responseSuccessBody') continue;
		const body = response?.[0]?.[0]?.json;
		if (valueAtPath(body, rule.properties.key) === rule.properties.value) {
			return { status: 'Error', message: rule.properties.message };
		}
	}
	return { status: 'OK', message: 'Connection successful!' };
}

function valueAtPath(value: unknown, path: string): unknown {
	const keys = path
		.replace(/\[(\w+)\]/g, '.$1')
		.split('.')
		.filter((key) => key !== '');
	let current = value;
	for (const key of keys) {
		if (current === null || typeof current !== 'object') return undefined;
		current = (current as Record<string, unknown>)[key];
	}
	return current;
}

function errorMessage(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}
