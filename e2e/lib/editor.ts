/**
 * The n8n editor in headless Chromium (Debian's package, driven by playwright-core): the Twin24
 * node in the nodes panel, its fields per resource/operation, its icon, the credential form per
 * auth mode. Screenshots go to docs/images/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { chromium, selectors, type Browser, type Locator, type Page } from 'playwright-core';

import { CREDENTIAL_TYPE, LOGIN_CREDENTIAL, TOKEN_CREDENTIAL, TWIN24_NODE_TYPE } from './examples';
import { CONTRACT_CREDENTIAL_FIELDS, CONTRACT_NODE_FIELDS, cleanEnv } from './config';
import { runChecked } from './proc';
import { step } from './report';
import { isObject, type JsonObject } from './runData';
import { WORKFLOW_IDS, type ScenarioContext } from './scenarios';
import { OWNER } from './typesCheck';

export interface EditorOptions {
	projectRoot: string;
	/** Save screenshots into docs/images/ (done for the primary n8n version only). */
	screenshots: boolean;
	/** Where a screenshot of a failed step goes. */
	logDir: string;
}

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
	'--headless',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
];
const UI_TIMEOUT_MS = 30_000;

type Expect = (name: string, passed: boolean, detail?: string) => boolean;

interface EditorSession {
	page: Page;
	baseUrl: string;
	expect: Expect;
	shoot: (name: string) => Promise<void>;
	/** A screenshot of the fields from `top` (with its label) to `bottom`, as wide as `frame`. */
	shootBetween: (name: string, frame: Locator, top: Locator, bottom: Locator) => Promise<void>;
}

/** Installs Debian's chromium when it is missing and we are root (apt-get), else explains what to do. */
async function ensureChromium(): Promise<void> {
	if (existsSync(CHROMIUM)) return;
	if (process.getuid?.() !== 0)
		throw new Error(
			`${CHROMIUM} missing: install Debian's chromium package (apt-get install -y chromium)`,
		);
	step('installing chromium with apt-get (Debian package)');
	const env = { ...cleanEnv(), DEBIAN_FRONTEND: 'noninteractive' };
	await runChecked('apt-get', ['update'], { env, timeoutMs: 600_000 });
	await runChecked('apt-get', ['install', '-y', 'chromium'], { env, timeoutMs: 1_200_000 });
}

async function launch(): Promise<Browser> {
	await ensureChromium();
	selectors.setTestIdAttribute('data-test-id');
	return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

async function signIn(page: Page, baseUrl: string): Promise<void> {
	await page.goto(`${baseUrl}/signin`);
	await page.getByTestId('emailOrLdapLoginId').locator('input').fill(OWNER.email);
	await page.getByTestId('password').locator('input').fill(OWNER.password);
	await page.getByTestId('form-submit-button').click();
	await page.waitForURL((url) => !url.pathname.startsWith('/signin'), { timeout: UI_TIMEOUT_MS });
}

/** The node description n8n serves to the editor, to take option labels from instead of hard-coding them. */
async function nodeDescription(page: Page, baseUrl: string): Promise<JsonObject> {
	const response = await page.request.get(`${baseUrl}/types/nodes.json`);
	const list: unknown = await response.json();
	const description = Array.isArray(list)
		? list.filter(isObject).find((node) => node.name === TWIN24_NODE_TYPE)
		: undefined;
	if (!description) throw new Error(`${TWIN24_NODE_TYPE} not in /types/nodes.json`);
	return description;
}

interface OptionLabel {
	value: string;
	name: string;
	action?: string;
}

/** Labels of an options parameter's values, over all its variants (operation has one per resource). */
function optionLabels(description: JsonObject, parameter: string): OptionLabel[] {
	const properties = Array.isArray(description.properties)
		? description.properties.filter(isObject)
		: [];
	return properties
		.filter((property) => property.name === parameter && Array.isArray(property.options))
		.flatMap((property) =>
			Array.isArray(property.options) ? property.options.filter(isObject) : [],
		)
		.map((option) => ({
			value: String(option.value),
			name: String(option.name),
			action: typeof option.action === 'string' ? option.action : undefined,
		}));
}

/** The nodes-panel action text of `operation` for `resource` (operation has one variant per resource). */
function actionFor(description: JsonObject, resource: string, operation: string): string {
	const properties = Array.isArray(description.properties)
		? description.properties.filter(isObject)
		: [];
	const variant = properties.find(
		(property) =>
			property.name === 'operation' &&
			JSON.stringify(property.displayOptions ?? {}).includes(`"${resource}"`),
	);
	const options = variant && Array.isArray(variant.options) ? variant.options.filter(isObject) : [];
	const option = options.find((candidate) => candidate.value === operation);
	return typeof option?.action === 'string' ? option.action : String(option?.name ?? operation);
}

function escapeRegExp(text: string): string {
	return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function labelOf(labels: OptionLabel[], value: string): OptionLabel {
	const label = labels.find((candidate) => candidate.value === value);
	if (!label) throw new Error(`no option ${value}`);
	return label;
}

/**
 * A parameter's input. A collection (`options`) has no input of its own: n8n 2.x renders its
 * "Add option" control as data-test-id `collection-parameter-add`, n8n 1.x as class `collection-parameter`.
 */
function parameterInput(page: Page, name: string): Locator {
	if (name === 'options') {
		return page
			.getByTestId('ndv')
			.locator('[data-test-id="collection-parameter-add"], .collection-parameter');
	}
	return page.getByTestId(`parameter-input-${name}`);
}

/** Which of `names` are visible right now. */
async function visibleParameters(page: Page, names: readonly string[]): Promise<string[]> {
	const visible: string[] = [];
	for (const name of names) {
		if (await parameterInput(page, name).first().isVisible()) visible.push(name);
	}
	return visible;
}

async function expectParameters(
	session: EditorSession,
	situation: string,
	shown: string[],
	hidden: string[],
): Promise<void> {
	await parameterInput(session.page, shown[0] ?? 'resource')
		.first()
		.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
	const visible = await visibleParameters(session.page, [...shown, ...hidden]);
	const wrong = [
		...shown.filter((name) => !visible.includes(name)),
		...hidden.filter((name) => visible.includes(name)),
	];
	session.expect(
		`${situation}: shows ${shown.join(', ')}; hides ${hidden.join(', ')}`,
		wrong.length === 0,
		`visible: ${visible.join(', ')}`,
	);
}

/** Opens an options parameter's dropdown and returns the labels offered. */
async function openDropdown(page: Page, name: string): Promise<string[]> {
	await parameterInput(page, name).first().click();
	const options = page.getByRole('option');
	await options.first().waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
	return (await options.allInnerTexts()).map((text) => text.split('\n')[0]?.trim() ?? '');
}

async function chooseOption(page: Page, name: string, label: string): Promise<void> {
	await openDropdown(page, name);
	await page.getByRole('option').filter({ hasText: label }).first().click();
	await page
		.getByRole('option')
		.first()
		.waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS })
		.catch(() => undefined);
}

/** True when every <img> of the Twin24 icon under `scope` loaded (naturalWidth > 0). */
async function iconLoaded(scope: Locator): Promise<boolean> {
	const icon = scope.locator('img[src*="twin24"]').first();
	await icon.waitFor({ state: 'attached', timeout: UI_TIMEOUT_MS });
	return icon.evaluate((element) => {
		const image = element as unknown as { complete?: boolean; naturalWidth?: number };
		return image.complete === true && (image.naturalWidth ?? 0) > 0;
	});
}

async function checkNodesPanel(session: EditorSession, actions: OptionLabel[]): Promise<void> {
	const { page } = session;
	await page.goto(`${session.baseUrl}/workflow/new`);
	await page.getByTestId('node-creator-plus-button').click();
	await page.getByTestId('node-creator-search-bar').fill('Twin24');
	const item = page
		.getByTestId('node-creator')
		.getByTestId('item-iterator-item')
		.filter({ hasText: 'Twin24' })
		.first();
	await item.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
	session.expect('nodes panel: searching "Twin24" finds the node', true);
	session.expect('nodes panel: the Twin24 icon renders (SVG loaded)', await iconLoaded(item));
	await session.shoot('nodes-panel-search');
	await item.click();
	const offered = await page
		.getByTestId('node-creator')
		.getByTestId('item-iterator-item')
		.allInnerTexts();
	const missing = actions.filter(
		(action) => action.action && !offered.some((text) => text.includes(action.action ?? '')),
	);
	session.expect(
		`nodes panel: lists the actions ${actions.map((action) => `"${action.action ?? action.name}"`).join(', ')}`,
		missing.length === 0,
		`offered: ${offered.join(' | ')}`,
	);
	await session.shoot('nodes-panel-actions');
}

const NODE_FIELDS = CONTRACT_NODE_FIELDS;

function split(shown: string[]): [string[], string[]] {
	return [shown, NODE_FIELDS.filter((name) => !shown.includes(name))];
}

async function checkNodeFields(session: EditorSession, description: JsonObject): Promise<void> {
	const { page } = session;
	const resources = optionLabels(description, 'resource');
	const operations = optionLabels(description, 'operation');
	const depersonalizeCall = actionFor(description, 'call', 'depersonalize');
	await page
		.getByTestId('node-creator')
		.getByTestId('item-iterator-item')
		.filter({ hasText: new RegExp(`^\\s*${escapeRegExp(depersonalizeCall)}\\s*$`) })
		.first()
		.click();
	await page.getByTestId('ndv').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
	session.expect('adding the node opens its parameters (NDV)', true);
	session.expect(
		'NDV: the Twin24 icon renders in the header',
		await iconLoaded(page.getByTestId('ndv')),
	);

	await expectParameters(
		session,
		'Call › Depersonalize',
		...split(['resource', 'operation', 'callId', 'skipDeleteRecord', 'options']),
	);
	await session.shoot('node-call-depersonalize');

	await chooseOption(page, 'operation', labelOf(operations, 'deleteRecord').name);
	await expectParameters(
		session,
		'Call › Delete Recording',
		...split(['resource', 'operation', 'callId', 'options']),
	);
	await session.shoot('node-call-delete-record');

	await chooseOption(page, 'resource', labelOf(resources, 'autoCallCandidate').name);
	await expectParameters(
		session,
		'Auto Call Candidate › Depersonalize',
		...split(['resource', 'operation', 'autoCallCandidateId', 'skipDeleteRecord', 'options']),
	);
	const candidateOperations = await openDropdown(page, 'operation');
	await page.keyboard.press('Escape');
	const deleteLabel = labelOf(operations, 'deleteRecord').name;
	session.expect(
		`Auto Call Candidate: operation offers Depersonalize only (no "${deleteLabel}")`,
		!candidateOperations.includes(deleteLabel) &&
			candidateOperations.includes(labelOf(operations, 'depersonalize').name),
		`offered: ${candidateOperations.join(', ')}`,
	);
	await session.shoot('node-candidate-depersonalize');
}

async function openCredential(session: EditorSession, credentialId: string): Promise<Locator> {
	await session.page.goto(`${session.baseUrl}/home/credentials/${credentialId}`);
	const modal = session.page.getByTestId('credential-edit-dialog');
	await modal.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
	await parameterInput(session.page, 'authMode')
		.first()
		.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
	return modal;
}

/** The modal tests a saved credential when it opens (the credential's own `test` request against the simulator). */
async function credentialTestPassed(modal: Locator, timeoutMs = UI_TIMEOUT_MS): Promise<boolean> {
	try {
		await modal
			.getByTestId('credentials-config-container-test-success')
			.waitFor({ state: 'visible', timeout: timeoutMs });
		return true;
	} catch {
		return false;
	}
}

const CREDENTIAL_FIELDS: readonly string[] = CONTRACT_CREDENTIAL_FIELDS;

function splitCredential(shown: string[]): [string[], string[]] {
	return [shown, CREDENTIAL_FIELDS.filter((name) => !shown.includes(name))];
}

async function checkCredentialForms(session: EditorSession): Promise<void> {
	const testAnswers: string[] = [];
	session.page.on('response', (response) => {
		if (!response.url().includes('/rest/credentials/test')) return;
		response.text().then(
			(text) => testAnswers.push(text.slice(0, 200)),
			() => undefined,
		);
	});
	const tokenModal = await openCredential(session, TOKEN_CREDENTIAL.id);
	await expectParameters(
		session,
		`credential "${TOKEN_CREDENTIAL.name}"`,
		...splitCredential(['authMode', 'accessToken', 'cisBaseUrl', 'iamBaseUrl']),
	);
	// Access-token mode asks users/me at the credential's IAM Base URL too: here, the simulator.
	session.expect(
		'access-token credential: n8n\'s "test" passes against the simulator',
		await credentialTestPassed(tokenModal),
		`n8n answered: ${testAnswers.join(' ') || 'nothing yet'}`,
	);
	await session.shootBetween(
		'credential-access-token',
		tokenModal,
		parameterInput(session.page, 'authMode').first(),
		parameterInput(session.page, 'cisBaseUrl').first(),
	);
	const authModes = await openDropdown(session.page, 'authMode');
	session.expect(
		'credential: Authentication offers two modes',
		authModes.length === 2,
		authModes.join(', '),
	);
	await session.page.getByRole('option').nth(1).click();
	await expectParameters(
		session,
		'credential switched to email/password',
		...splitCredential(['authMode', 'email', 'password', 'cisBaseUrl', 'iamBaseUrl']),
	);

	const loginModal = await openCredential(session, LOGIN_CREDENTIAL.id);
	await expectParameters(
		session,
		`credential "${LOGIN_CREDENTIAL.name}"`,
		...splitCredential(['authMode', 'email', 'password', 'cisBaseUrl', 'iamBaseUrl']),
	);
	session.expect(
		'email/password credential: n8n\'s "test" (login) passes against the simulator',
		await credentialTestPassed(loginModal),
	);
	await session.shoot('credential-email-password');
}

async function shootExampleWorkflow(session: EditorSession): Promise<void> {
	await session.page.goto(`${session.baseUrl}/workflow/${WORKFLOW_IDS.webhook}`);
	const canvasNode = session.page
		.locator('[data-test-id="canvas-node"]')
		.filter({ hasText: 'Depersonalize call' })
		.first();
	await canvasNode.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
	session.expect(
		'canvas: the example workflow shows the Twin24 node with its icon',
		await iconLoaded(canvasNode),
	);
	await session.shoot('example-crm-erasure-webhook');
}

function regionScreenshotter(page: Page, dir: string | undefined): EditorSession['shootBetween'] {
	return async (name, frame, top, bottom) => {
		if (!dir) return;
		const [box, first, last] = await Promise.all([
			frame.boundingBox(),
			top.boundingBox(),
			bottom.boundingBox(),
		]);
		if (!box || !first || !last) throw new Error(`cannot frame screenshot ${name}`);
		const y = Math.max(box.y, first.y - 44); // the label above the first field
		const clip = { x: box.x, y, width: box.width, height: last.y + last.height + 24 - y };
		await page.screenshot({ path: join(dir, `${name}.png`), clip });
	};
}

function screenshotter(page: Page, dir: string | undefined): (name: string) => Promise<void> {
	return async (name) => {
		if (!dir) return;
		await page.waitForTimeout(400);
		await page.screenshot({ path: join(dir, `${name}.png`) });
	};
}

export async function runEditorChecks(ctx: ScenarioContext, options: EditorOptions): Promise<void> {
	const scope = `${ctx.label} editor`;
	const expect: Expect = (name, passed, detail) => ctx.checks.check(scope, name, passed, detail);
	const dir = options.screenshots ? join(options.projectRoot, 'docs', 'images') : undefined;
	if (dir) mkdirSync(dir, { recursive: true });
	const browser = await launch();
	try {
		const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
		page.on('dialog', (dialog) => void dialog.accept());
		await signIn(page, ctx.n8n.baseUrl);
		expect(`signed in as the owner in Chromium ${browser.version()}`, true);
		const session: EditorSession = {
			page,
			baseUrl: ctx.n8n.baseUrl,
			expect,
			shoot: screenshotter(page, dir),
			shootBetween: regionScreenshotter(page, dir),
		};
		const description = await nodeDescription(page, ctx.n8n.baseUrl);
		expect(
			`credential type ${CREDENTIAL_TYPE} is the node's credential`,
			JSON.stringify(description.credentials ?? []).includes(CREDENTIAL_TYPE),
		);
		const steps: [string, () => Promise<void>][] = [
			['nodes panel', () => checkNodesPanel(session, optionLabels(description, 'operation'))],
			['node fields', () => checkNodeFields(session, description)],
			['credential forms', () => checkCredentialForms(session)],
			['example workflow on the canvas', () => shootExampleWorkflow(session)],
		];
		for (const [name, action] of steps) {
			try {
				await action();
			} catch (error) {
				ctx.checks.fail(scope, name, error);
				const file = join(options.logDir, `editor-failure-${name.replace(/\W+/g, '-')}.png`);
				await page.screenshot({ path: file }).catch(() => undefined);
			}
		}
	} finally {
		await browser.close();
	}
}
