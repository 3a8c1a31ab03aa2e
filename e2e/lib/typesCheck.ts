/**
 * With `n8n start` running: the owner account set up through the REST API, then what the server
 * tells the editor about the package (node and credential types, the icon file).
 */
import { CREDENTIAL_TYPE, TWIN24_NODE_TYPE } from './examples';
import { isObject, type JsonObject } from './runData';
import type { ScenarioContext } from './scenarios';
import { CONTRACT_CREDENTIAL_FIELDS, CONTRACT_NODE_FIELDS } from './config';

export const OWNER = {
	email: 'owner@twin24-e2e.test',
	firstName: 'E2e',
	lastName: 'Owner',
	password: 'Twin24-e2e-Passw0rd',
} as const;

const CONTRACT_CREDENTIAL_PROPERTIES: readonly string[] = CONTRACT_CREDENTIAL_FIELDS;
const CONTRACT_NODE_PROPERTIES: readonly string[] = CONTRACT_NODE_FIELDS;

function cookieFrom(response: Response): string {
	const cookies = response.headers.getSetCookie();
	const auth = cookies.find((cookie) => cookie.startsWith('n8n-auth='));
	if (!auth) throw new Error(`no n8n-auth cookie (status ${response.status})`);
	return auth.split(';')[0] ?? '';
}

async function postJson(url: string, body: unknown): Promise<Response> {
	return fetch(url, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(body),
	});
}

/** Sets the owner up on a fresh instance (or logs in when that was done already); returns the auth cookie. */
export async function ensureOwner(baseUrl: string): Promise<string> {
	const setup = await postJson(`${baseUrl}/rest/owner/setup`, OWNER);
	if (setup.ok) return cookieFrom(setup);
	const login = await postJson(`${baseUrl}/rest/login`, {
		emailOrLdapLoginId: OWNER.email,
		email: OWNER.email,
		password: OWNER.password,
	});
	if (!login.ok)
		throw new Error(
			`owner setup ${setup.status} ${await setup.text()}; login ${login.status} ${await login.text()}`,
		);
	return cookieFrom(login);
}

async function getJson(url: string, cookie: string): Promise<unknown> {
	const response = await fetch(url, { headers: { cookie } });
	if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
	return response.json();
}

function findByName(list: unknown, name: string): JsonObject | undefined {
	if (!Array.isArray(list)) return undefined;
	return list.filter(isObject).find((entry) => entry.name === name);
}

function propertyNames(description: JsonObject): string[] {
	const properties = Array.isArray(description.properties) ? description.properties : [];
	return properties.filter(isObject).map((property) => String(property.name));
}

/** `iconUrl` is a path, or `{ light, dark }` for themed icons. */
export function iconPaths(description: JsonObject): string[] {
	const { iconUrl } = description;
	if (typeof iconUrl === 'string') return [iconUrl];
	if (isObject(iconUrl))
		return Object.values(iconUrl).filter((value): value is string => typeof value === 'string');
	return [];
}

async function iconServed(baseUrl: string, path: string): Promise<boolean> {
	const response = await fetch(`${baseUrl}/${path.replace(/^\//, '')}`);
	const text = await response.text();
	return response.ok && text.includes('<svg');
}

export async function checkInstalledTypes(ctx: ScenarioContext): Promise<void> {
	const scope = `${ctx.label} server`;
	const expect = (name: string, passed: boolean, detail?: string): boolean =>
		ctx.checks.check(scope, name, passed, detail);
	const cookie = await ensureOwner(ctx.n8n.baseUrl);
	expect('owner account set up through POST /rest/owner/setup', cookie.length > 0);

	const nodes = await getJson(`${ctx.n8n.baseUrl}/types/nodes.json`, cookie);
	const node = findByName(nodes, TWIN24_NODE_TYPE);
	expect(
		`n8n loaded node type ${TWIN24_NODE_TYPE} from .n8n/nodes/node_modules`,
		node !== undefined,
	);
	if (node === undefined) return;
	const nodeProps = propertyNames(node);
	const missingNodeProps = CONTRACT_NODE_PROPERTIES.filter((name) => !nodeProps.includes(name));
	expect(
		'node type has the contract parameters',
		missingNodeProps.length === 0,
		`missing ${missingNodeProps.join(', ')}`,
	);
	expect(
		'node type is version 1, display name "Twin24"',
		JSON.stringify(node.version).includes('1') && node.displayName === 'Twin24',
		`${String(node.displayName)} v${JSON.stringify(node.version)}`,
	);
	const icons = iconPaths(node);
	const served = await Promise.all(icons.map((icon) => iconServed(ctx.n8n.baseUrl, icon)));
	expect(
		'node icon is served as SVG',
		icons.length > 0 && served.every(Boolean),
		`iconUrl ${JSON.stringify(node.iconUrl)} served ${JSON.stringify(served)}`,
	);

	const credentials = await getJson(`${ctx.n8n.baseUrl}/types/credentials.json`, cookie);
	const credential = findByName(credentials, CREDENTIAL_TYPE);
	expect(`n8n loaded credential type ${CREDENTIAL_TYPE}`, credential !== undefined);
	if (credential === undefined) return;
	const credentialProps = propertyNames(credential);
	const missing = CONTRACT_CREDENTIAL_PROPERTIES.filter((name) => !credentialProps.includes(name));
	expect(
		'credential type has the contract properties',
		missing.length === 0,
		`missing ${missing.join(', ')}`,
	);
}
