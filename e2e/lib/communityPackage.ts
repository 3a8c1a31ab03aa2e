/**
 * The project as users get it: `npm pack`, then installed the way n8n's own
 * Settings › Community nodes installs a package (n8n 2.x `CommunityPackagesService.downloadPackage`):
 * the tarball is unpacked into `<N8N_USER_FOLDER>/.n8n/nodes/node_modules/<name>`, its dev, peer and
 * optional dependencies are dropped from its package.json, `npm install` fetches the remaining
 * runtime dependencies (none here), and `.n8n/nodes/package.json` lists the package.
 * n8n discovers it there at start-up (`scanDirectoryForPackages` globs `n8n-nodes-*` and scoped `@scope/n8n-nodes-*` folders).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { runChecked } from './proc';
import type { NodeRuntime } from './runtime';
import { runNpm, runtimeEnv } from './runtime';

export interface PackedProject {
	name: string;
	version: string;
	tarball: string;
	files: string[];
}

interface PackEntry {
	name: string;
	version: string;
	filename: string;
	files: { path: string }[];
}

function isPackEntry(value: unknown): value is PackEntry {
	return (
		typeof value === 'object' &&
		value !== null &&
		'filename' in value &&
		'name' in value &&
		'version' in value &&
		'files' in value &&
		Array.isArray(value.files)
	);
}

export async function packProject(
	projectRoot: string,
	destination: string,
	logFile: string,
): Promise<PackedProject> {
	mkdirSync(destination, { recursive: true });
	const { stdout } = await runNpm(
		undefined,
		['pack', '--json', '--pack-destination', destination],
		projectRoot,
		logFile,
	);
	const parsed: unknown = JSON.parse(stdout.slice(stdout.indexOf('[')));
	const entry = Array.isArray(parsed) ? parsed[0] : undefined;
	if (!isPackEntry(entry)) throw new Error(`Unexpected npm pack output: ${stdout.slice(0, 500)}`);
	return {
		name: entry.name,
		version: entry.version,
		tarball: join(destination, entry.filename),
		files: entry.files.map((file) => file.path),
	};
}

type Manifest = Record<string, unknown>;

function readManifest(file: string): Manifest {
	const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
	if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
		throw new Error(`${file} is not an object`);
	return { ...parsed };
}

function writeManifest(file: string, manifest: Manifest): void {
	writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Drops what n8n drops before installing a community package's dependencies. */
function stripInstallOnlyFields(manifest: Manifest): Manifest {
	const kept = { ...manifest };
	delete kept.devDependencies;
	delete kept.peerDependencies;
	delete kept.optionalDependencies;
	return kept;
}

export async function installCommunityPackage(
	nodesDir: string,
	packed: PackedProject,
	runtime: NodeRuntime,
	logFile: string,
): Promise<string> {
	const packageDir = join(nodesDir, 'node_modules', packed.name);
	mkdirSync(packageDir, { recursive: true });
	await runChecked('tar', ['-xzf', packed.tarball, '-C', packageDir, '--strip-components=1'], {
		env: runtimeEnv(runtime),
		logFile,
	});
	const manifestFile = join(packageDir, 'package.json');
	writeManifest(manifestFile, stripInstallOnlyFields(readManifest(manifestFile)));
	await runNpm(
		runtime,
		[
			'install',
			'--audit=false',
			'--fund=false',
			'--bin-links=false',
			'--install-strategy=shallow',
			'--ignore-scripts=true',
			'--package-lock=false',
		],
		packageDir,
		logFile,
	);
	writeManifest(join(nodesDir, 'package.json'), {
		name: 'installed-nodes',
		private: true,
		dependencies: { [packed.name]: packed.version },
	});
	return packageDir;
}
