/**
 * The checks n8n's verification relies on can fail: n8n-node lint, n8n's scanner, the workflow
 * schema check, release:check and check:links each fail on a planted violation in a copy of the package.
 * Also what a publisher depends on: the CI and publish workflows, the publish guard, and links that
 * work for everyone who installs the package (check:links).
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const SCRIPT_TIMEOUT_MS = 120000;

interface ScriptRun {
	exitCode: number;
	output: string;
}

/** Runs one of the package's scripts/*.mjs with node and collects everything it printed. */
async function runScript(script: string, args: string[]): Promise<ScriptRun> {
	return await new Promise((resolve) => {
		execFile(
			process.execPath,
			[join(root, 'scripts', script), ...args],
			{ cwd: root, timeout: SCRIPT_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
			(error, stdout, stderr) => {
				const exitCode = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
				resolve({ exitCode, output: `${stdout}${stderr}` });
			},
		);
	});
}

type PackageJson = Record<string, unknown> & { scripts: Record<string, string> };

function readPackageJson(folder: string): PackageJson {
	return JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as PackageJson;
}

function writePackageJson(folder: string, manifest: PackageJson): void {
	writeFileSync(join(folder, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

const folders: string[] = [];

/** A copy of the package's shipped sources (and dist/ when asked) in a folder removed afterwards. */
function copyOfPackage(entries: string[]): string {
	const folder = mkdtempSync(join(tmpdir(), 'twin24-planted-'));
	folders.push(folder);
	for (const entry of entries) cpSync(join(root, entry), join(folder, entry), { recursive: true });
	return folder;
}

afterAll(() => {
	for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

const SHIPPED_SOURCES = [
	'package.json',
	'eslint.config.mjs',
	'tsconfig.json',
	'nodes',
	'credentials',
];

describe('n8n-node lint (strict mode, default configuration) can fail', () => {
	test('a package.json with a runtime dependency, a postinstall script and a bad name', async () => {
		const folder = copyOfPackage(SHIPPED_SOURCES);
		const manifest = readPackageJson(folder);
		writePackageJson(folder, {
			...manifest,
			name: 'twin24-erasure',
			dependencies: { axios: '1.18.0' },
			scripts: { ...manifest.scripts, postinstall: 'node -e "1"' },
		});

		const run = await runScript('n8n-node-lint.mjs', [folder]);

		expect(run.exitCode).toBe(1);
		expect(run.output).toContain('@n8n/community-nodes/no-runtime-dependencies');
		expect(run.output).toContain('@n8n/community-nodes/no-forbidden-lifecycle-scripts');
		expect(run.output).toContain('@n8n/community-nodes/package-name-convention');
	});

	test('an eslint.config.mjs that differs from n8n’s default', async () => {
		const folder = copyOfPackage(SHIPPED_SOURCES);
		const config = readFileSync(join(folder, 'eslint.config.mjs'), 'utf8');
		writeFileSync(join(folder, 'eslint.config.mjs'), `${config}// one rule less\n`);

		const run = await runScript('n8n-node-lint.mjs', [folder]);

		expect(run.exitCode).toBe(1);
		expect(run.output).toContain('Strict mode violation');
	});
});

describe('n8n’s scanner can fail, on either leg', () => {
	test('no author email, a restricted global in the source and a child process in the build', async () => {
		const folder = copyOfPackage([...SHIPPED_SOURCES, 'dist', 'README.md', 'LICENSE', 'index.js']);
		const manifest = readPackageJson(folder);
		writePackageJson(folder, { ...manifest, author: { name: 'Someone' } });
		const credential = join(folder, 'credentials', 'Twin24Api.credentials.ts');
		writeFileSync(
			credential,
			`${readFileSync(credential, 'utf8')}\nexport const planted = process.env.TWIN24;\n`,
		);
		const built = join(folder, 'dist', 'nodes', 'Twin24', 'Twin24.node.js');
		writeFileSync(
			built,
			`${readFileSync(built, 'utf8')}\nrequire('child_process').execSync('id');\n`,
		);

		const run = await runScript('scan-package.mjs', [folder]);

		expect(run.exitCode).toBe(1);
		const [sourceLeg, tarballLeg] = run.output.split('scanner, npm pack tarball');
		expect(sourceLeg).toContain('FAILED');
		expect(sourceLeg).toContain('@n8n/community-nodes/valid-author');
		expect(sourceLeg).toMatch(
			/credentials\/Twin24Api\.credentials\.ts:\d+ error \S*no-restricted-globals/,
		);
		expect(tarballLeg).toContain('FAILED');
		expect(tarballLeg).toMatch(
			/dist\/nodes\/Twin24\/Twin24\.node\.js:\d+ error \S*no-(restricted-imports|dangerous-functions)/,
		);
	});
});

describe('the workflow schema check can fail', () => {
	test('both workflows of the repository are valid', async () => {
		const run = await runScript('check-workflows.mjs', []);

		expect(run.exitCode).toBe(0);
		expect(run.output).toContain('.github/workflows/ci.yml valid');
		expect(run.output).toContain('.github/workflows/publish.yml valid');
	});

	test('a misspelt key and a wrong permission value fail the check', async () => {
		const folder = copyOfPackage([]);
		const broken = readFileSync(join(root, '.github/workflows/publish.yml'), 'utf8')
			.replace('id-token: write', 'id-token: writ')
			.replace('runs-on: ubuntu-latest', 'run-on: ubuntu-latest');
		writeFileSync(join(folder, 'publish.yml'), broken);

		const run = await runScript('check-workflows.mjs', [join(folder, 'publish.yml')]);

		expect(run.exitCode).toBe(1);
		expect(run.output).toContain('INVALID');
		expect(run.output).toContain("Additional property 'run-on' is not allowed");
		expect(run.output).toContain('/jobs/publish/permissions/id-token');
	});
});

describe('release:check', () => {
	function releaseFolder(manifestChanges: Record<string, unknown>): string {
		const folder = copyOfPackage([
			'package.json',
			'CHANGELOG.md',
			'README.md',
			'nodes',
			'credentials',
		]);
		writePackageJson(folder, { ...readPackageJson(folder), ...manifestChanges });
		return folder;
	}

	function completed(folder: string): string {
		for (const file of [
			'package.json',
			'README.md',
			'credentials/Twin24Api.credentials.ts',
			'nodes/Twin24/Twin24.node.json',
		]) {
			const path = join(folder, file);
			writeFileSync(
				path,
				readFileSync(path, 'utf8').split('REPLACE_WITH_OWNER').join('twin24-dev'),
			);
		}
		const manifest = readPackageJson(folder);
		writePackageJson(folder, {
			...manifest,
			author: { name: 'Twin24 Developer', email: 'dev@twin24.ai' },
		});
		return folder;
	}

	test('as committed, it fails and lists what the publisher must still supply', async () => {
		const run = await runScript('release-check.mjs', [
			'--dir',
			releaseFolder({}),
			'--tag',
			'v0.1.0',
		]);

		expect(run.exitCode).toBe(1);
		expect(run.output).toContain('author.email');
		expect(run.output).toContain('repository.url');
		// The documentation links point at npm by the package's name: nothing there for the publisher.
		expect(run.output).not.toContain('credentials/Twin24Api.credentials.ts');
		expect(run.output).not.toContain('nodes/Twin24/Twin24.node.json');
		expect(run.output).not.toContain('README.md');
	});

	test('a placeholder brought back into a documentation link fails it', async () => {
		const folder = completed(releaseFolder({}));
		const codex = join(folder, 'nodes/Twin24/Twin24.node.json');
		writeFileSync(
			codex,
			readFileSync(codex, 'utf8').replace(
				'https://www.npmjs.com/package/n8n-nodes-twin24#user-content-credentials',
				'https://github.com/REPLACE_WITH_OWNER/n8n-nodes-twin24#credentials',
			),
		);

		const run = await runScript('release-check.mjs', ['--dir', folder, '--tag', 'v0.1.0']);

		expect(run.exitCode).toBe(1);
		expect(run.output).toContain('nodes/Twin24/Twin24.node.json: still says REPLACE_WITH_OWNER');
	});

	test('with the email and repository set and the matching tag, it passes', async () => {
		const folder = completed(releaseFolder({}));

		const run = await runScript('release-check.mjs', ['--dir', folder, '--tag', 'v0.1.0']);

		expect(run.output).toContain('is ready to publish');
		expect(run.exitCode).toBe(0);
	});

	test('a tag that does not match the version, or no tag, fails it', async () => {
		const folder = completed(releaseFolder({}));

		const wrongTag = await runScript('release-check.mjs', ['--dir', folder, '--tag', 'v0.2.0']);
		const noTag = await runScript('release-check.mjs', ['--dir', folder]);

		expect(wrongTag.exitCode).toBe(1);
		expect(wrongTag.output).toContain('"v0.2.0" does not match package.json\'s version 0.1.0');
		expect(noTag.exitCode).toBe(1);
		expect(noTag.output).toContain('release tag: none');
	});
});

describe('what publishing relies on', () => {
	const manifest = readPackageJson(root);
	const ci = readFileSync(join(root, '.github/workflows/ci.yml'), 'utf8');
	const publish = readFileSync(join(root, '.github/workflows/publish.yml'), 'utf8');

	test('CI runs the README’s test command on Node.js 20, 22 and 24', () => {
		expect(ci).toMatch(/node-version: \[20, 22, 24\]/);
		expect(ci).toMatch(/run: npm ci\b/);
		expect(ci).toMatch(/run: npm test$/m);
	});

	test('publishing runs release:check and the tests, then publishes with provenance', () => {
		expect(publish).toMatch(/id-token: write/);
		expect(publish).toMatch(/tags: \['v\*\.\*\.\*'\]/);
		const steps = ['npm run release:check', 'npm test', 'npm publish --provenance'];
		const positions = steps.map((step) => publish.indexOf(step));
		expect(positions.every((position) => position > 0)).toBe(true);
		expect([...positions].sort((a, b) => a - b)).toEqual(positions);
		// .npmrc keeps install scripts off for `npm ci`; the publish step turns them back on.
		expect(publish).toContain('--ignore-scripts=false');
	});

	test('the publish guard runs inside npm publish, and a publish without provenance fails', () => {
		expect(manifest.scripts.prepublishOnly).toBe('npm run release:check');
		expect(manifest.publishConfig).toEqual(expect.objectContaining({ provenance: true }));
		expect(manifest.devDependencies).toEqual(
			expect.objectContaining({ '@n8n/node-cli': expect.any(String) }),
		);
	});

	test('npm publish outside GitHub Actions fails for want of provenance, install scripts off or not', async () => {
		const folder = copyOfPackage(['package.json', '.npmrc', 'README.md']);
		// A registry on this machine where nothing listens, and a token that is not one: nothing can
		// be published even if the refusal this test expects did not come.
		const registry = 'http://127.0.0.1:9/';
		const environment = Object.fromEntries(
			Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)),
		);
		const output = await new Promise<string>((resolve) => {
			execFile(
				'npm',
				['publish', '--force', '--registry', registry, '--//127.0.0.1:9/:_authToken=not-a-token'],
				{ cwd: folder, env: environment, timeout: SCRIPT_TIMEOUT_MS },
				(_error, stdout, stderr) => resolve(`${stdout}${stderr}`),
			);
		});

		expect(readFileSync(join(folder, '.npmrc'), 'utf8')).toMatch(/^ignore-scripts=true$/m);
		expect(output).toMatch(/EUSAGE/);
		expect(output).toMatch(/[Pp]rovenance generation/);
	});
});

describe('check:links: every link works for everyone who installs the package', () => {
	const LINKED = [
		'package.json',
		'README.md',
		'CHANGELOG.md',
		'docs',
		'examples',
		'nodes',
		'credentials',
	];
	const README_URL = 'https://www.npmjs.com/package/n8n-nodes-twin24';
	const FILE_URL = 'https://cdn.jsdelivr.net/npm/n8n-nodes-twin24';

	function edit(folder: string, file: string, change: (text: string) => string): void {
		const path = join(folder, file);
		writeFileSync(path, change(readFileSync(path, 'utf8')));
	}

	test('as committed, every link of the README, docs/, the codex file and the credential resolves', async () => {
		const run = await runScript('check-links.mjs', [root]);

		expect(run.output).toContain('every link resolves');
		expect(run.exitCode).toBe(0);
	});

	test('a relative link, an anchor that is no heading, an unshipped file and a placeholder fail it', async () => {
		const folder = copyOfPackage(LINKED);
		edit(
			folder,
			'README.md',
			(readme) =>
				`${readme}\n[relative](docs/reliability.md) [bare anchor](#credentials)` +
				` [no such heading](${README_URL}#user-content-no-such-heading)` +
				` [npm's own id missing](${README_URL}#credentials)` +
				` [not shipped](${FILE_URL}/scripts/demo.ts)` +
				` [anchor into text](${FILE_URL}/docs/reliability.md#stop)` +
				` ![image](https://raw.githubusercontent.com/REPLACE_WITH_OWNER/n8n-nodes-twin24/main/docs/images/pacing.svg)\n`,
		);
		edit(folder, 'nodes/Twin24/Twin24.node.json', (codex) =>
			codex.replace(`${README_URL}#user-content-credentials`, `${README_URL}#user-content-login`),
		);
		edit(folder, 'credentials/Twin24Api.credentials.ts', (credential) =>
			credential.replace(
				`${README_URL}#user-content-credentials`,
				'https://github.com/REPLACE_WITH_OWNER/n8n-nodes-twin24#credentials',
			),
		);
		edit(
			folder,
			'docs/reliability.md',
			(page) => `${page}\n[gone](architecture.md#no-such-words)\n`,
		);

		const run = await runScript('check-links.mjs', [folder]);

		expect(run.exitCode).toBe(1);
		const problems = run.output.split('\n').filter((line) => line.startsWith('  - '));
		expect(problems).toEqual([
			'  - README.md: docs/reliability.md: not absolute: npm shows the README without the repository around it',
			'  - README.md: #credentials: not absolute: npm shows the README without the repository around it',
			`  - README.md: ${README_URL}#user-content-no-such-heading: anchor #user-content-no-such-heading: no README heading has the slug no-such-heading`,
			`  - README.md: ${README_URL}#credentials: anchor #credentials: npm's id for a heading is #user-content-<slug>`,
			`  - README.md: ${FILE_URL}/scripts/demo.ts: scripts/demo.ts is not in the package (\`npm pack\` ships no such file)`,
			`  - README.md: ${FILE_URL}/docs/reliability.md#stop: anchor #stop: jsDelivr serves the file as text`,
			'  - README.md: https://raw.githubusercontent.com/REPLACE_WITH_OWNER/n8n-nodes-twin24/main/docs/images/pacing.svg: leads to the placeholder repository REPLACE_WITH_OWNER, a 404 for every user',
			'  - docs/reliability.md: architecture.md#no-such-words: anchor #no-such-words: no heading of docs/architecture.md has that slug',
			`  - nodes/Twin24/Twin24.node.json: ${README_URL}#user-content-login: anchor #user-content-login: no README heading has the slug login`,
			`  - credentials/Twin24Api.credentials.ts: https://github.com/REPLACE_WITH_OWNER/n8n-nodes-twin24#credentials: not ${README_URL}#user-content-<heading>, the README every user of the package can open`,
		]);
	});
});
