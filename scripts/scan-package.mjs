// The static checks of n8n's verification scanner (@n8n/scan-community-package), run offline.
// n8n runs them on every submission, in two legs: the source at the published commit
// (package.json, nodes/, credentials/) and the npm tarball (compiled .js and package.json). Its
// provenance check and downloads need the published package; everything else runs here, with the
// scanner's own `analyzePackage` and rule set.
//
//   node scripts/scan-package.mjs [package folder]   (default: this repository; dist/ must be built)
//
// Exit code 1 when either leg has a finding. Warnings count too: the scanner's verdict ignores
// them, but each one is something a reviewer reads.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repository = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const packageFolder = resolve(process.argv[2] ?? repository);
const TARBALL_FILE_PATTERNS = ['**/*.js', 'package.json'];

// The scanner makes its download folder when it is loaded; keep it inside a folder removed below.
const workFolder = mkdtempSync(join(tmpdir(), 'n8n-scan-'));
process.env.TMPDIR = workFolder;
const scanner = await import('@n8n/scan-community-package/scanner/scanner.mjs');
const { ESLint } = await import('eslint');

/** Every message the scanner's rules give, warnings included, as `file:line rule message`. */
async function findingsIn(folder, patterns) {
	const eslint = new ESLint({
		cwd: folder,
		allowInlineConfig: false,
		overrideConfigFile: true,
		overrideConfig: await scanner.buildScanConfig(),
	});
	const fastGlob = (await import('fast-glob')).default;
	const files = fastGlob.sync(patterns, {
		cwd: folder,
		absolute: true,
		ignore: ['node_modules/**', '**/package-lock.json'],
	});
	const results = await eslint.lintFiles(files);
	return results.flatMap((result) =>
		result.messages.map(
			(message) =>
				`${relative(folder, result.filePath)}:${message.line} ${message.severity === 2 ? 'error' : 'warning'} ${message.ruleId ?? 'parser'} ${message.message}`,
		),
	);
}

async function scanLeg(name, folder, patterns) {
	const verdict = await scanner.analyzePackage(folder, patterns);
	const findings = await findingsIn(folder, patterns);
	const passed = verdict.passed && findings.length === 0;
	console.log(`scanner, ${name}: ${passed ? 'passed, no findings' : 'FAILED'}`);
	if (verdict.message) console.log(`  analyzePackage: ${verdict.message}`);
	for (const finding of findings) console.log(`  ${finding}`);
	return passed;
}

function packTarball() {
	const packed = join(workFolder, 'packed');
	const unpacked = join(workFolder, 'tarball');
	mkdirSync(packed);
	mkdirSync(unpacked);
	execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', packed], {
		cwd: packageFolder,
		stdio: ['ignore', 'ignore', 'inherit'],
	});
	const [tarball] = readdirSync(packed).filter((file) => file.endsWith('.tgz'));
	execFileSync('tar', ['-xzf', join(packed, tarball), '-C', unpacked, '--strip-components=1']);
	return { tarball, unpacked };
}

try {
	const sourcePassed = await scanLeg(
		`source (${scanner.SOURCE_FILE_PATTERNS.join(', ')})`,
		packageFolder,
		scanner.SOURCE_FILE_PATTERNS,
	);
	const { tarball, unpacked } = packTarball();
	const tarballPassed = await scanLeg(
		`npm pack tarball ${tarball} (${TARBALL_FILE_PATTERNS.join(', ')})`,
		unpacked,
		TARBALL_FILE_PATTERNS,
	);
	if (!sourcePassed || !tarballPassed) process.exitCode = 1;
} finally {
	rmSync(workFolder, { recursive: true, force: true });
}
