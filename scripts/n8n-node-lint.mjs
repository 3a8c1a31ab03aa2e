// Runs n8n's own `n8n-node lint`, unmodified and in strict mode, on what this package ships: the
// same files n8n's scanner lints at the published commit (package.json, nodes/, credentials/), with
// the default eslint.config.mjs. It runs in a copy of those files because `n8n-node lint` lints
// every .ts file under the folder it runs in with n8n's sandbox rules, and the tests, simulator and
// scripts here are Node.js programs that need what those rules forbid (node:http, setTimeout,
// process). They are linted by eslint.dev.config.mjs instead.
//
//   node scripts/n8n-node-lint.mjs [package folder]   (default: this repository)
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';

const repository = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const source = resolve(process.argv[2] ?? repository);
const SHIPPED = ['package.json', 'eslint.config.mjs', 'tsconfig.json', 'nodes', 'credentials'];

const stage = mkdtempSync(join(tmpdir(), 'n8n-node-lint-'));
try {
	for (const entry of SHIPPED) {
		if (existsSync(join(source, entry))) {
			cpSync(join(source, entry), join(stage, entry), { recursive: true });
		}
	}
	symlinkSync(join(repository, 'node_modules'), join(stage, 'node_modules'), 'dir');
	const cli = join(repository, 'node_modules', '@n8n', 'node-cli', 'bin', 'n8n-node.mjs');
	const result = spawnSync(process.execPath, [cli, 'lint'], {
		cwd: stage,
		encoding: 'utf8',
	});
	// n8n-node lint forces colours on eslint's output; a log reads better without them.
	const output = stripVTControlCharacters(`${result.stdout}${result.stderr}`)
		.split(stage)
		.join('<package>');
	process.stdout.write(output);
	if (result.status !== 0) {
		console.error(`n8n-node lint failed (exit ${result.status ?? result.signal})`);
		process.exitCode = 1;
	} else {
		console.log('n8n-node lint (strict, default eslint.config.mjs): no findings');
	}
} finally {
	rmSync(stage, { recursive: true, force: true });
}
