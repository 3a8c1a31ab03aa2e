/**
 * The credential side of the engine harness: an in-memory credential store, a registry of
 * credential types, and an `ICredentialsHelper` that keeps the contract of n8n's own
 * (`packages/cli/src/credentials-helper.ts`): defaults and expressions applied on read,
 * `authenticate` (function or generic object), and `preAuthentication` with its
 * expirable-property rule and write-back. n8n's internal node test harness replaces
 * `authenticate` and `preAuthentication` with stubs; this one runs them for real.
 */
import { inspect } from 'node:util';

import { Credentials, UnrecognizedCredentialTypeError, getAdditionalKeys } from 'n8n-core';
import type {
	ICredentialDataDecryptedObject,
	ICredentialType,
	ICredentialTypes,
	ICredentialsExpressionResolveValues,
	IExecuteData,
	IHttpRequestHelper,
	IHttpRequestOptions,
	INode,
	INodeCredentialsDetails,
	INodeParameters,
	INodeProperties,
	INodeType,
	INodeTypes,
	IRequestOptionsSimplified,
	IWorkflowDataProxyAdditionalKeys,
	IWorkflowExecuteAdditionalData,
	WorkflowExecuteMode,
} from 'n8n-workflow';
import {
	ICredentialsHelper,
	NodeHelpers,
	UnexpectedError,
	UserError,
	Workflow,
	deepCopy,
	getCredentialOwnRequestAllowedDomains,
	isExpression,
} from 'n8n-workflow';

/** What n8n keeps in its credentials table, decrypted: the data exactly as the user saved it. */
export interface StoredCredential {
	type: string;
	name: string;
	data: ICredentialDataDecryptedObject;
}

/** Events carry names only, never credential values, so they are safe to print. */
export type CredentialEvent =
	| {
			kind: 'preAuthentication';
			credentialType: string;
			nodeName: string;
			credentialsExpired: boolean;
			testingCredentials: boolean;
	  }
	| { kind: 'write'; credentialId: string; credentialType: string; changedFields: string[] };

export interface CredentialCounters {
	/** Calls of a credential type's own `preAuthentication` (not calls of the helper). */
	preAuthentications: number;
	/** Writes back to the store, as n8n's `updateCredentials` makes them. */
	writes: number;
	/** Requests signed by `authenticate`. */
	authentications: number;
}

const MAX_EVENTS = 1000;

/** An in-memory stand-in for n8n's credentials table, keyed by credential id. */
export class CredentialStore {
	readonly counters: CredentialCounters = { preAuthentications: 0, writes: 0, authentications: 0 };

	/** The latest events, oldest first (at most 1000 are kept). */
	readonly events: CredentialEvent[] = [];

	private readonly entries = new Map<string, StoredCredential>();

	constructor(initial: Record<string, StoredCredential> = {}) {
		for (const [id, entry] of Object.entries(initial)) this.set(id, entry);
	}

	/** Saves a credential as a user would; not counted as a write. */
	set(id: string, entry: StoredCredential): this {
		this.entries.set(id, deepCopy(entry));
		return this;
	}

	has(id: string): boolean {
		return this.entries.has(id);
	}

	ids(): string[] {
		return [...this.entries.keys()];
	}

	/** A copy of the stored credential; changing it changes nothing in the store. */
	get(id: string): StoredCredential {
		const entry = this.entries.get(id);
		if (!entry) throw new UserError(`The harness credential store has no credential "${id}"`);
		return deepCopy(entry);
	}

	/** Looks a credential up the way n8n's repository does: by id and type together. */
	find(details: INodeCredentialsDetails, type: string): StoredCredential {
		if (!details.id) {
			throw new UserError(`Credential "${details.name}" of type "${type}" has no ID`);
		}
		const entry = this.entries.get(details.id);
		if (!entry || entry.type !== type) {
			throw new UserError(`Credential with ID "${details.id}" does not exist for type "${type}".`);
		}
		return deepCopy(entry);
	}

	/** n8n's `updateCredentials`: replaces the stored data and counts the write. */
	write(id: string, type: string, data: ICredentialDataDecryptedObject): void {
		const entry = this.find({ id, name: '' }, type);
		this.counters.writes++;
		this.record({
			kind: 'write',
			credentialId: id,
			credentialType: type,
			changedFields: changedKeys(entry.data, data),
		});
		this.entries.set(id, { ...entry, data: deepCopy(data) });
	}

	record(event: CredentialEvent): void {
		if (event.kind === 'preAuthentication') this.counters.preAuthentications++;
		this.events.push(event);
		if (this.events.length > MAX_EVENTS) this.events.shift();
	}

	/** Printing a store (console.log, jest diffs) shows ids, types and counters, never data. */
	[inspect.custom](): string {
		return `CredentialStore ${inspect(this.toJSON())}`;
	}

	toJSON(): { credentials: Record<string, string>; counters: CredentialCounters } {
		const credentials: Record<string, string> = {};
		for (const [id, entry] of this.entries) credentials[id] = entry.type;
		return { credentials, counters: { ...this.counters } };
	}
}

function changedKeys(
	before: ICredentialDataDecryptedObject,
	after: ICredentialDataDecryptedObject,
): string[] {
	const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
	return [...keys].filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]));
}

const DOMAIN_RESTRICTION_FIELDS: INodeProperties[] = [
	{
		displayName: 'Allowed HTTP Request Domains',
		name: 'allowedHttpRequestDomains',
		type: 'options',
		options: [
			{ name: 'All', value: 'all' },
			{ name: 'Specific Domains', value: 'domains' },
			{ name: 'None', value: 'none' },
		],
		default: 'all',
	},
	{
		displayName: 'Allowed Domains',
		name: 'allowedDomains',
		type: 'string',
		default: '',
		displayOptions: { show: { allowedHttpRequestDomains: ['domains'] } },
	},
];

const OAUTH_PARENTS = ['oAuth2Api', 'oAuth1Api', 'googleOAuth2Api'];

/** n8n's loader adds the domain-restriction fields to every credential that signs requests. */
function signsRequests(type: ICredentialType): boolean {
	return (
		type.authenticate !== undefined ||
		type.genericAuth === true ||
		(type.extends ?? []).some((parent) => OAUTH_PARENTS.includes(parent))
	);
}

function withDomainRestrictionFields(type: ICredentialType): ICredentialType {
	if (!signsRequests(type)) return type;
	if (type.properties.some((property) => property.name === 'allowedHttpRequestDomains'))
		return type;
	// A copy keeps the caller's object untouched; the prototype keeps its methods.
	const copy = Object.assign(
		Object.create(Object.getPrototypeOf(type) as object) as ICredentialType,
		type,
	);
	copy.properties = [...type.properties, ...deepCopy(DOMAIN_RESTRICTION_FIELDS)];
	return copy;
}

/** The credential types n8n knows, with the nodes that use each (full node type names). */
export class CredentialTypeRegistry implements ICredentialTypes {
	private readonly types = new Map<string, ICredentialType>();

	private readonly supportedNodes = new Map<string, string[]>();

	/** Registers a type as n8n's loader leaves it; a later type of the same name replaces it. */
	register(type: ICredentialType, supportedNodes: string[] = []): void {
		this.types.set(type.name, withDomainRestrictionFields(type));
		this.supportedNodes.set(type.name, [...supportedNodes]);
	}

	addSupportedNode(credentialType: string, nodeType: string): void {
		const nodes = this.supportedNodes.get(credentialType) ?? [];
		if (!nodes.includes(nodeType)) nodes.push(nodeType);
		this.supportedNodes.set(credentialType, nodes);
	}

	names(): string[] {
		return [...this.types.keys()];
	}

	recognizes(credentialType: string): boolean {
		return this.types.has(credentialType);
	}

	getByName(credentialType: string): ICredentialType {
		const type = this.types.get(credentialType);
		if (!type) throw new UnrecognizedCredentialTypeError(credentialType);
		return type;
	}

	getSupportedNodes(credentialType: string): string[] {
		return [...(this.supportedNodes.get(credentialType) ?? [])];
	}

	getParentTypes(typeName: string): string[] {
		const parents = this.types.get(typeName)?.extends ?? [];
		return parents.flatMap((parent) => [parent, ...this.getParentTypes(parent)]);
	}
}

/**
 * The node type n8n's helper takes as the mark of a credential test. Its tester names the
 * temporary node after the NoOp description (`noOp`), so in n8n 2.41 the mark never matches.
 */
export const CREDENTIAL_TEST_NODE_TYPE = 'n8n-nodes-base.noOp';

const expressionHostNode: INode = {
	id: 'harness-credential-expressions',
	name: '',
	typeVersion: 1,
	type: 'mock',
	position: [0, 0],
	parameters: {},
};

const expressionHostType = { description: { properties: [] } } as unknown as INodeType;

const expressionHostNodeTypes: INodeTypes = {
	getByName: () => expressionHostType,
	getByNameAndVersion: () => expressionHostType,
	getKnownTypes: () => ({}),
};

/**
 * Only `httpRequest`, and within the credential's own allowed domains, as n8n hands it to
 * a credential type's `preAuthentication`.
 */
function restrictToCredentialDomains(
	helpers: IHttpRequestHelper,
	credentials: ICredentialDataDecryptedObject,
): IHttpRequestHelper {
	return {
		helpers: {
			httpRequest: async (requestOptions: IHttpRequestOptions): Promise<unknown> => {
				const allowedDomains = getCredentialOwnRequestAllowedDomains(credentials);
				if (allowedDomains === undefined) return await helpers.helpers.httpRequest(requestOptions);
				if (requestOptions.allowedDomains !== undefined) {
					throw new UserError(
						'This credential restricts requests to specific domains, which cannot be combined with the domains its authentication step asks for.',
					);
				}
				return await helpers.helpers.httpRequest({ ...requestOptions, allowedDomains });
			},
		},
	};
}

function setRequestField(
	requestOptions: IHttpRequestOptions | IRequestOptionsSimplified,
	section: string,
	key: string,
	value: string,
): void {
	const sections = requestOptions as unknown as Record<string, Record<string, unknown> | undefined>;
	const target = sections[section] ?? {};
	target[key] = value;
	sections[section] = target;
}

/** An `ICredentialsHelper` over a `CredentialStore`, keeping n8n's contract. */
export class HarnessCredentialsHelper extends ICredentialsHelper {
	constructor(
		readonly store: CredentialStore,
		readonly credentialTypes: CredentialTypeRegistry,
	) {
		super();
	}

	getParentTypes(name: string): string[] {
		return this.credentialTypes.getParentTypes(name);
	}

	isCredentialUsableByNode(credentialType: string, nodeType: string): boolean {
		if (!this.credentialTypes.recognizes(credentialType)) return true;
		const type = this.credentialTypes.getByName(credentialType);
		if (!type.restrictToSupportedNodes) return true;
		return this.credentialTypes.getSupportedNodes(credentialType).includes(nodeType);
	}

	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
		requestOptions: IHttpRequestOptions | IRequestOptionsSimplified,
		workflow?: Workflow,
		node?: INode,
	): Promise<IHttpRequestOptions> {
		const { authenticate } = this.credentialTypes.getByName(typeName);
		if (authenticate === undefined) return requestOptions as IHttpRequestOptions;
		this.store.counters.authentications++;
		if (typeof authenticate === 'function') {
			return await authenticate(credentials, requestOptions as IHttpRequestOptions);
		}
		if (!workflow || !node) {
			throw new UnexpectedError(
				'Workflow and node are required for declarative credential authentication',
			);
		}
		requestOptions.headers ??= {};
		if (authenticate.type !== 'generic') return requestOptions as IHttpRequestOptions;
		const additionalKeys = { $credentials: credentials };
		for (const [section, fields] of Object.entries(authenticate.properties)) {
			for (const [key, value] of Object.entries(fields as Record<string, unknown>)) {
				setRequestField(
					requestOptions,
					section,
					resolveValue(key, additionalKeys, workflow, node),
					resolveValue(value, additionalKeys, workflow, node),
				);
			}
		}
		return requestOptions as IHttpRequestOptions;
	}

	async preAuthentication(
		helpers: IHttpRequestHelper,
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
		node: INode,
		credentialsExpired: boolean,
	): Promise<ICredentialDataDecryptedObject | undefined> {
		const credentialType = this.credentialTypes.getByName(typeName);
		const expirableProperty = credentialType.properties.find(
			(property) => property.type === 'hidden' && property.typeOptions?.expirable === true,
		);
		if (expirableProperty?.name === undefined) return undefined;
		if (typeof credentialType.preAuthentication !== 'function') return undefined;

		// n8n's test for "this is the credential tester's mock node, not a workflow run".
		const testingCredentials =
			node?.parameters?.temp === '' && node?.type === CREDENTIAL_TEST_NODE_TYPE;
		const expirableValueEmpty = credentials[expirableProperty.name] === '';
		if (!expirableValueEmpty && !credentialsExpired && !testingCredentials) return undefined;

		this.store.record({
			kind: 'preAuthentication',
			credentialType: typeName,
			nodeName: node.name,
			credentialsExpired,
			testingCredentials,
		});
		const output = await credentialType.preAuthentication.call(
			restrictToCredentialDomains(helpers, credentials),
			credentials,
		);
		// Without the expirable property in the output n8n neither saves nor merges anything.
		if (output[expirableProperty.name] === undefined) return undefined;
		if (!node.credentials) return undefined;

		const nodeCredentials = node.credentials[credentialType.name];
		const storedData = this.store.find(nodeCredentials, credentialType.name).data;
		const dataToPersist: ICredentialDataDecryptedObject = { ...storedData };
		for (const [key, value] of Object.entries(output as ICredentialDataDecryptedObject)) {
			if (key === expirableProperty.name || !isExpression(storedData[key]))
				dataToPersist[key] = value;
		}
		await this.updateCredentials(nodeCredentials, credentialType.name, dataToPersist);
		return Object.assign(credentials, output);
	}

	async runPreAuthentication(
		helpers: IHttpRequestHelper,
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
	): Promise<ICredentialDataDecryptedObject | undefined> {
		const credentialType = this.credentialTypes.getByName(typeName);
		if (typeof credentialType.preAuthentication !== 'function') return undefined;
		const output = await credentialType.preAuthentication.call(
			restrictToCredentialDomains(helpers, credentials),
			credentials,
		);
		return (output as ICredentialDataDecryptedObject) ?? undefined;
	}

	/** The stored credential as n8n-core's `Credentials`, encrypted with this instance's key. */
	async getCredentials(
		nodeCredential: INodeCredentialsDetails,
		type: string,
	): Promise<Credentials> {
		const entry = this.store.find(nodeCredential, type);
		const credentials = new Credentials({ id: nodeCredential.id, name: entry.name }, entry.type);
		await credentials.setData(entry.data);
		return credentials;
	}

	async getDecrypted(
		additionalData: IWorkflowExecuteAdditionalData,
		nodeCredentials: INodeCredentialsDetails,
		type: string,
		mode: WorkflowExecuteMode,
		executeData?: IExecuteData,
		raw?: boolean,
		expressionResolveValues?: ICredentialsExpressionResolveValues,
	): Promise<ICredentialDataDecryptedObject> {
		const { data } = this.store.find(nodeCredentials, type);
		if (raw === true) return data;
		return await this.applyDefaultsAndOverwrites(
			additionalData,
			data,
			type,
			mode,
			executeData,
			expressionResolveValues,
		);
	}

	/** Property defaults, then expressions, as n8n prepares credential data for a node. */
	async applyDefaultsAndOverwrites(
		additionalData: IWorkflowExecuteAdditionalData,
		storedData: ICredentialDataDecryptedObject,
		type: string,
		mode: WorkflowExecuteMode,
		executeData?: IExecuteData,
		expressionResolveValues?: ICredentialsExpressionResolveValues,
	): Promise<ICredentialDataDecryptedObject> {
		const withDefaults = this.withDefaults(storedData, type);
		const additionalKeys = getAdditionalKeys(additionalData, mode, null, { isCredential: true });
		if (!expressionResolveValues) {
			return await resolveOutsideExecution(withDefaults, mode, additionalKeys);
		}
		const { workflow, runExecutionData, runIndex, itemIndex, node, connectionInputData } =
			expressionResolveValues;
		try {
			return workflow.expression.getParameterValue(
				withDefaults as INodeParameters,
				runExecutionData,
				runIndex,
				itemIndex,
				node.name,
				connectionInputData,
				mode,
				additionalKeys,
				executeData,
				false,
				withDefaults,
			) as ICredentialDataDecryptedObject;
		} catch (error) {
			if (error instanceof Error) error.message += ' [Error resolving credentials]';
			throw error;
		}
	}

	/**
	 * n8n drops what the credential's properties do not declare or do not display, and
	 * fills in defaults; a few fields survive the filter.
	 */
	private withDefaults(
		storedData: ICredentialDataDecryptedObject,
		type: string,
	): ICredentialDataDecryptedObject {
		const properties = this.getCredentialsProperties(type);
		const withDefaults = NodeHelpers.getNodeParameters(
			properties,
			storedData as INodeParameters,
			true,
			false,
			null,
			null,
		) as ICredentialDataDecryptedObject;
		for (const kept of ['oauthTokenData', 'allowedHttpRequestDomains', 'allowedDomains']) {
			if (withDefaults[kept] === undefined && storedData[kept] !== undefined) {
				withDefaults[kept] = storedData[kept];
			}
		}
		return withDefaults;
	}

	async updateCredentials(
		nodeCredentials: INodeCredentialsDetails,
		type: string,
		data: ICredentialDataDecryptedObject,
	): Promise<void> {
		const { id } = nodeCredentials;
		if (!id)
			throw new UserError(`Credential "${nodeCredentials.name}" of type "${type}" has no ID`);
		this.store.write(id, type, data);
	}

	async updateCredentialsOauthTokenData(
		nodeCredentials: INodeCredentialsDetails,
		type: string,
		data: ICredentialDataDecryptedObject,
	): Promise<void> {
		const stored = this.store.find(nodeCredentials, type).data;
		await this.updateCredentials(nodeCredentials, type, {
			...stored,
			oauthTokenData: data.oauthTokenData,
		});
	}

	getCredentialsProperties(type: string): INodeProperties[] {
		const credentialType = this.credentialTypes.getByName(type);
		if (credentialType.extends === undefined) return credentialType.properties;
		const combined: INodeProperties[] = [];
		for (const parent of credentialType.extends) {
			NodeHelpers.mergeNodeProperties(combined, this.getCredentialsProperties(parent));
		}
		// The type's own properties take precedence over its parents'.
		NodeHelpers.mergeNodeProperties(combined, credentialType.properties);
		return combined;
	}
}

function resolveValue(
	value: unknown,
	additionalKeys: IWorkflowDataProxyAdditionalKeys,
	workflow: Workflow,
	node: INode,
): string {
	if (!isExpression(value)) return value as string;
	const resolved = workflow.expression.getSimpleParameterValue(
		node,
		value,
		'internal',
		additionalKeys,
		undefined,
		'',
	);
	return resolved ? resolved.toString() : '';
}

/** Outside a node run n8n resolves credential expressions in a throwaway workflow. */
async function resolveOutsideExecution(
	data: ICredentialDataDecryptedObject,
	mode: WorkflowExecuteMode,
	additionalKeys: IWorkflowDataProxyAdditionalKeys,
): Promise<ICredentialDataDecryptedObject> {
	const workflow = new Workflow({
		nodes: [{ ...expressionHostNode }],
		connections: {},
		active: false,
		nodeTypes: expressionHostNodeTypes,
	});
	const acquired = await workflow.expression.acquireIsolate();
	try {
		return workflow.expression.getComplexParameterValue(
			expressionHostNode,
			data as INodeParameters,
			mode,
			additionalKeys,
			undefined,
			undefined,
			data,
		) as ICredentialDataDecryptedObject;
	} finally {
		if (acquired) await workflow.expression.releaseIsolate();
	}
}
