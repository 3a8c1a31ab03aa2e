// Refuses a release while something only the publisher can supply is missing, listing all of it:
// the author's email, the repository URL (and what is built from it: homepage, bugs), a CHANGELOG
// entry, and a release tag that matches package.json's version. The documentation links (README,
// codex file, credential) need no publisher: they point at npm and jsDelivr by the package's name
// (scripts/check-links.mjs); the placeholder is still refused wherever it shows up again. Runs in
// publish.yml before `npm publish`, and again inside it as prepublishOnly.
//
//   node scripts/release-check.mjs [--tag v1.2.3] [--dir package folder]
//
// Without --tag, the tag is the one GitHub Actions is building (GITHUB_REF_TYPE=tag).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** The token package.json and the documentation links carry until the publisher sets them. */
const PLACEHOLDER = 'REPLACE_WITH_OWNER';
const PLACEHOLDER_EMAIL_DOMAINS = /@(example\.(com|org|net)|.+\.invalid)$/i;
/** A public GitHub repository, as npm and n8n's verification check it against the provenance. */
const GITHUB_REPOSITORY =
	/^(?:git\+)?https:\/\/github\.com\/([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9_.-]+?)(?:\.git)?$/;
const FILES_WITH_LINKS = ['package.json', 'README.md', 'credentials', 'nodes'];

const { values } = parseArgs({
	options: { tag: { type: 'string' }, dir: { type: 'string' } },
});
const packageFolder = resolve(values.dir ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
const manifest = JSON.parse(readFileSync(join(packageFolder, 'package.json'), 'utf8'));

function authorEmailProblems() {
	const email = typeof manifest.author === 'object' ? manifest.author?.email : undefined;
	if (typeof email !== 'string' || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
		return ['package.json author.email: missing; set the email npm and n8n show for the author'];
	}
	if (PLACEHOLDER_EMAIL_DOMAINS.test(email) || /replace/i.test(email)) {
		return [`package.json author.email: "${email}" is a placeholder; set the author's real email`];
	}
	return [];
}

function repositoryProblems() {
	const url =
		typeof manifest.repository === 'object' ? manifest.repository?.url : manifest.repository;
	if (typeof url !== 'string' || url === '') {
		return ['package.json repository.url: missing; set the public GitHub repository'];
	}
	if (url.includes(PLACEHOLDER)) {
		return [
			`package.json repository.url: "${url}" is a placeholder; set the public GitHub repository`,
		];
	}
	const match = GITHUB_REPOSITORY.exec(url);
	if (!match) {
		return [`package.json repository.url: "${url}" is not https://github.com/<owner>/<repository>`];
	}
	const base = `https://github.com/${match[1]}/${match[2]}`;
	const homepage = String(manifest.homepage ?? '');
	return homepage.startsWith(base)
		? []
		: [`package.json homepage: "${homepage}" does not point into ${base}`];
}

function filesUnder(path) {
	if (!existsSync(path)) return [];
	if (!statSync(path).isDirectory()) return [path];
	return readdirSync(path).flatMap((entry) => filesUnder(join(path, entry)));
}

function placeholderProblems() {
	return FILES_WITH_LINKS.flatMap((entry) => filesUnder(join(packageFolder, entry)))
		.filter((file) => /\.(ts|json|md)$/.test(file))
		.filter((file) => readFileSync(file, 'utf8').includes(PLACEHOLDER))
		.map(
			(file) =>
				`${relative(packageFolder, file)}: still says ${PLACEHOLDER}; replace it with the repository's owner`,
		);
}

function tagProblems() {
	const tag =
		values.tag ?? (process.env.GITHUB_REF_TYPE === 'tag' ? process.env.GITHUB_REF_NAME : undefined);
	if (!tag) {
		return [
			`release tag: none; releases are cut by pushing the tag v${manifest.version} (or pass --tag)`,
		];
	}
	return tag === `v${manifest.version}`
		? []
		: [
				`release tag: "${tag}" does not match package.json's version ${manifest.version} (expected v${manifest.version})`,
			];
}

function changelogProblems() {
	const changelog = join(packageFolder, 'CHANGELOG.md');
	const text = existsSync(changelog) ? readFileSync(changelog, 'utf8') : '';
	const heading = new RegExp(`^## \\[?${manifest.version.replace(/\./g, '\\.')}\\]?(\\s|$)`, 'm');
	return heading.test(text) ? [] : [`CHANGELOG.md: no "## ${manifest.version}" section`];
}

const problems = [
	...authorEmailProblems(),
	...repositoryProblems(),
	...placeholderProblems(),
	...changelogProblems(),
	...tagProblems(),
];
if (problems.length > 0) {
	console.error(`release:check refuses to publish ${manifest.name}@${manifest.version}:`);
	for (const problem of problems) console.error(`  - ${problem}`);
	process.exitCode = 1;
} else {
	console.log(`release:check: ${manifest.name}@${manifest.version} is ready to publish`);
}
