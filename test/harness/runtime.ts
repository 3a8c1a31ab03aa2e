/**
 * What every harness run stands on: a private n8n user folder, n8n's logger captured in
 * memory, the expression engine, the community package loaded by n8n-core's own
 * `PackageDirectoryLoader`, the per-run node types, and the `additionalData` n8n-core reads.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

import { Logger } from '@n8n/backend-common';
import { Container } from '@n8n/di';
import { ExternalSecretsProxy, PackageDirectoryLoader, UnrecognizedNodeTypeError } from 'n8n-core';
import type { ExecutionLifecycleHooks } from 'n8n-core';
import type {
	EngineResponse,
	ICredentialType,
	IDataObject,
	IExecuteFunctions,
	INodeType,
	INodeTypes,
	IVersionedNodeType,
	IWorkflowExecuteAdditionalData,
	LogMetadata,
} from 'n8n-workflow';
import { Expression, NodeHelpers, UnexpectedError, isNodeClassInstance } from 'n8n-workflow';

import { CredentialTypeRegistry } from './credentials';
import { HARNESS_NODE_TYPES } from './nodes';
import type { HarnessCredentialsHelper } from './credentials';

export type AnyNodeType = INodeType | IVersionedNodeType;

// ---------------------------------------------------------------- process environment

const USER_FOLDER_PREFIX = 'n8n-harness-';

let environmentReady = false;

/**
 * Once per process: a temporary N8N_USER_FOLDER (n8n-core writes its encryption key there,
 * and a developer's real ~/.n8n must never be touched) and n8n's logger captured.
 */
export function ensureN8nEnvironment(): void {
	if (environmentReady) return;
	useTemporaryUserFolder();
	captureN8nLogger();
	environmentReady = true;
}

function useTemporaryUserFolder(): void {
	const current = process.env.N8N_USER_FOLDER;
	// Jest loads this module once per test file in the same process: reuse that folder.
	if (current && basename(current).startsWith(USER_FOLDER_PREFIX) && existsSync(current)) return;
	const folder = mkdtempSync(join(tmpdir(), USER_FOLDER_PREFIX));
	process.env.N8N_USER_FOLDER = folder;
	process.once('exit', () => rmSync(folder, { recursive: true, force: true }));
}

// ---------------------------------------------------------------- n8n's log, captured

export interface N8nLogEntry {
	level: 'error' | 'warn' | 'info' | 'debug';
	message: string;
	/** The log metadata as JSON (errors reduced to name and message). */
	meta: string;
}

const MAX_LOG_ENTRIES = 2000;
const capturedLog: N8nLogEntry[] = [];

/**
 * Everything n8n-core logged (its error reporter logs each failed node's error chain),
 * kept in memory instead of printed; tests can search it for leaked secrets.
 */
export function capturedN8nLog(): readonly N8nLogEntry[] {
	return capturedLog;
}

export function clearCapturedN8nLog(): void {
	capturedLog.length = 0;
}

function captureN8nLogger(): void {
	const logger = Container.get(Logger);
	const levels: Array<N8nLogEntry['level']> = ['error', 'warn', 'info', 'debug'];
	for (const level of levels) {
		// Levels below N8N_LOG_LEVEL (default info) are fixed no-ops on n8n's logger.
		if (Object.getOwnPropertyDescriptor(logger, level)?.writable === false) continue;
		logger[level] = (message: string, metadata?: LogMetadata) => {
			capturedLog.push({ level, message, meta: metadataJson(metadata) });
			if (capturedLog.length > MAX_LOG_ENTRIES) capturedLog.shift();
		};
	}
}

function metadataJson(metadata: LogMetadata | undefined): string {
	if (metadata === undefined) return '';
	try {
		return JSON.stringify(metadata, (_key, value: unknown) =>
			value instanceof Error ? { name: value.name, message: value.message } : value,
		);
	} catch {
		return '"[metadata not serializable]"';
	}
}

// ---------------------------------------------------------------- expression engine

export type HarnessExpressionEngine = 'legacy' | 'quickjs';

/**
 * n8n 2.41's server evaluates expressions in isolated-vm (`N8N_EXPRESSION_ENGINE=vm` is
 * the default), which does not build on Node.js 20. `legacy` (n8n-workflow's own default)
 * evaluates in-process; `quickjs` runs the same sandboxed expression runtime as `vm` in a
 * WebAssembly QuickJS instead. Global for the process; call `disposeExpressionEngine` after.
 */
export async function useExpressionEngine(engine: HarnessExpressionEngine): Promise<void> {
	await Expression.disposeExpressionEngine();
	Expression.setExpressionEngine('legacy');
	if (engine === 'legacy') return;
	await Expression.initExpressionEngine({
		engine,
		bridgeTimeout: 5000,
		bridgeMemoryLimit: 128,
		poolSize: 1,
		maxCodeCacheSize: 1024,
	});
}

export async function disposeExpressionEngine(): Promise<void> {
	await useExpressionEngine('legacy');
}

export function activeExpressionEngine(): string {
	return Expression.getActiveImplementation();
}

// ---------------------------------------------------------------- package loading

export interface LoadedPackage {
	packageName: string;
	directory: string;
	/** By workflow type name, e.g. `n8n-nodes-twin24.twin24`. */
	nodeTypes: Record<string, AnyNodeType>;
	credentialTypes: ICredentialType[];
	/** Credential type name → the full type names of the nodes that use it. */
	supportedNodes: Record<string, string[]>;
}

const loadedPackages = new Map<string, Promise<LoadedPackage>>();

/** The nearest directory above the compiled harness whose package.json declares `n8n`. */
export function findPackageRoot(start: string = __dirname): string {
	let directory = start;
	while (dirname(directory) !== directory) {
		const manifest = join(directory, 'package.json');
		if (existsSync(manifest) && hasN8nSection(manifest)) return directory;
		directory = dirname(directory);
	}
	throw new UnexpectedError(`No package.json with an "n8n" section above ${start}`);
}

function hasN8nSection(manifest: string): boolean {
	const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { n8n?: unknown };
	return parsed.n8n !== undefined;
}

/**
 * Loads a community package the way n8n loads one installed from npm: n8n-core's
 * `PackageDirectoryLoader` reads `package.json`'s `n8n.nodes` / `n8n.credentials`
 * (paths into dist/), requires them and instantiates the classes named after the files.
 * Memoized per directory.
 */
export async function loadPackage(directory: string = findPackageRoot()): Promise<LoadedPackage> {
	ensureN8nEnvironment();
	let loading = loadedPackages.get(directory);
	if (!loading) {
		loading = readPackage(directory);
		loadedPackages.set(directory, loading);
		loading.catch(() => loadedPackages.delete(directory));
	}
	return await loading;
}

async function readPackage(directory: string): Promise<LoadedPackage> {
	const loader = new PackageDirectoryLoader(directory);
	await loader.loadAll();
	const { packageName } = loader;
	const nodeTypes: Record<string, AnyNodeType> = {};
	for (const [name, loaded] of Object.entries(loader.nodeTypes)) {
		nodeTypes[`${packageName}.${name}`] = loaded.type;
	}
	const supportedNodes: Record<string, string[]> = {};
	for (const [name, known] of Object.entries(loader.known.credentials)) {
		supportedNodes[name] = (known.supportedNodes ?? []).map((node) => `${packageName}.${node}`);
	}
	const credentialTypes = Object.values(loader.credentialTypes).map((loaded) => loaded.type);
	return { packageName, directory, nodeTypes, credentialTypes, supportedNodes };
}

// ---------------------------------------------------------------- type sets

export interface TypeSources {
	/** The community package to load; default: the one this harness sits in. `false`: none. */
	packageDir?: string | false;
	/** More node types by workflow type name; they win over the package's. */
	extraNodeTypes?: Record<string, AnyNodeType>;
	/** More credential types; they win over the package's. */
	extraCredentialTypes?: ICredentialType[];
}

export interface TypeSet {
	nodeTypes: Map<string, AnyNodeType>;
	credentialTypes: CredentialTypeRegistry;
}

export async function resolveTypes(sources: TypeSources): Promise<TypeSet> {
	ensureN8nEnvironment();
	const loaded =
		sources.packageDir === false
			? undefined
			: await loadPackage(sources.packageDir ?? findPackageRoot());
	const nodeTypes = new Map<string, AnyNodeType>(
		Object.entries({ ...HARNESS_NODE_TYPES, ...loaded?.nodeTypes, ...sources.extraNodeTypes }),
	);
	const credentialTypes = new CredentialTypeRegistry();
	for (const type of loaded?.credentialTypes ?? []) {
		credentialTypes.register(type, loaded?.supportedNodes[type.name]);
	}
	for (const type of sources.extraCredentialTypes ?? []) credentialTypes.register(type);
	for (const [typeName, nodeType] of Object.entries(sources.extraNodeTypes ?? {})) {
		for (const credential of credentialsOf(nodeType)) {
			credentialTypes.addSupportedNode(credential, typeName);
		}
	}
	return { nodeTypes, credentialTypes };
}

function credentialsOf(nodeType: AnyNodeType): string[] {
	const versions = 'nodeVersions' in nodeType ? Object.values(nodeType.nodeVersions) : [nodeType];
	return versions.flatMap((version) =>
		(version.description.credentials ?? []).map(({ name }) => name),
	);
}

/** The version n8n gives a new node of this type: the newest one. */
export function latestVersion(nodeType: AnyNodeType): number {
	if ('nodeVersions' in nodeType) return nodeType.currentVersion;
	const { version } = nodeType.description;
	return Array.isArray(version) ? Math.max(...version) : version;
}

// ---------------------------------------------------------------- per-run node types

/** What each node threw, by node name, in order: the real objects, before n8n flattens them. */
export type ThrownByNode = Map<string, unknown[]>;

/**
 * An `INodeTypes` for one run, like n8n's `NodeTypes`, except that each `execute` is
 * wrapped to keep the error it throws: n8n stores only a spread copy in the run data,
 * which loses `cause` and the class.
 */
/** When a node's execute() ended (performance.now()) and what it returned, if it returned. */
export interface NodeEnding {
	at: number;
	returned: unknown;
}

export class RunNodeTypes implements INodeTypes {
	readonly thrown: ThrownByNode = new Map();

	/** Kept even when n8n no longer stores the node's output (after a cancel). */
	readonly endings = new Map<string, NodeEnding>();

	private readonly wrapped = new Map<INodeType, INodeType>();

	constructor(private readonly types: Map<string, AnyNodeType>) {}

	getByName(nodeType: string): AnyNodeType {
		const type = this.types.get(nodeType);
		if (!type) {
			const [packageName, name] = nodeType.split('.');
			throw new UnrecognizedNodeTypeError(packageName, name ?? nodeType);
		}
		return type;
	}

	getByNameAndVersion(nodeType: string, version?: number): INodeType {
		const versioned = NodeHelpers.getVersionedNodeType(this.getByName(nodeType), version);
		let wrapped = this.wrapped.get(versioned);
		if (!wrapped) {
			wrapped = this.keepingThrownErrors(versioned);
			this.wrapped.set(versioned, wrapped);
		}
		return wrapped;
	}

	getKnownTypes(): IDataObject {
		const known: IDataObject = {};
		for (const name of this.types.keys()) known[name] = { className: name, sourcePath: '' };
		return known;
	}

	private keepingThrownErrors(nodeType: INodeType): INodeType {
		const { execute } = nodeType;
		// Node-class instances get the context as an argument, not as `this`; left unwrapped.
		if (!execute || isNodeClassInstance(nodeType)) return nodeType;
		const { thrown, endings } = this;
		const wrapper = Object.create(nodeType) as INodeType;
		wrapper.execute = async function (this: IExecuteFunctions, response?: EngineResponse) {
			const nodeName = this.getNode().name;
			try {
				const returned = await execute.call(this, response);
				endings.set(nodeName, { at: performance.now(), returned });
				return returned;
			} catch (error) {
				endings.set(nodeName, { at: performance.now(), returned: undefined });
				thrown.set(nodeName, [...(thrown.get(nodeName) ?? []), error]);
				throw error;
			}
		};
		return wrapper;
	}
}

// ---------------------------------------------------------------- additionalData

const INSTANCE_URL = 'http://localhost:5678';

/** What n8n-core reads from `additionalData`, for one execution. */
export function createAdditionalData(
	credentialsHelper: HarnessCredentialsHelper,
	executionId: string,
	hooks?: ExecutionLifecycleHooks,
): IWorkflowExecuteAdditionalData {
	return {
		credentialsHelper,
		hooks,
		executionId,
		externalSecretsProxy: new ExternalSecretsProxy(),
		currentNodeExecutionIndex: 0,
		variables: {},
		restApiUrl: `${INSTANCE_URL}/rest`,
		instanceBaseUrl: `${INSTANCE_URL}/`,
		formBaseUrl: `${INSTANCE_URL}/form`,
		formWaitingBaseUrl: `${INSTANCE_URL}/form-waiting`,
		formTestBaseUrl: `${INSTANCE_URL}/form-test`,
		webhookBaseUrl: `${INSTANCE_URL}/webhook`,
		webhookWaitingBaseUrl: `${INSTANCE_URL}/webhook-waiting`,
		webhookTestBaseUrl: `${INSTANCE_URL}/webhook-test`,
		mcpBaseUrl: `${INSTANCE_URL}/mcp`,
		mcpTestBaseUrl: `${INSTANCE_URL}/mcp-test`,
		executeWorkflow: async () => await unsupported('executing sub-workflows'),
		getRunExecutionData: async () => undefined,
		getRuntimeCredential: async () => undefined,
		logAiEvent: () => undefined,
		startRunnerTask: async () => await unsupported('task runners (Code node)'),
	};
}

async function unsupported(what: string): Promise<never> {
	throw new UnexpectedError(`The engine harness does not support ${what}`);
}
