// Proves the package's links work for everyone who installs it, before a publisher knows the
// repository's address (docs/development.md, "Links that work for everyone who installs the
// package"):
//
// - every link and image of README.md is absolute (`https://`): npm renders the README alone;
// - a link into the README (from the README, docs/*.md, the node's codex file or the credential's
//   documentationUrl) is https://www.npmjs.com/package/<name>, and its anchor, when it has one, is
//   `user-content-` and the slug of one of the README's headings, the id npm gives that heading;
// - a link to a file of the package (https://cdn.jsdelivr.net/npm/<name>/<path>) names a file
//   `npm pack` ships, and has no anchor (jsDelivr serves Markdown as text);
// - no link leads to the placeholder repository (REPLACE_WITH_OWNER);
// - in docs/*.md, a relative link names a file of the repository and its anchor a heading there.
//
//   node scripts/check-links.mjs [package folder]   (default: this repository)
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repository = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const packageFolder = resolve(process.argv[2] ?? repository);
const manifest = JSON.parse(readFileSync(join(packageFolder, 'package.json'), 'utf8'));
const README_URL = `https://www.npmjs.com/package/${manifest.name}`;
const FILE_URL = `https://cdn.jsdelivr.net/npm/${manifest.name}/`;
const PLACEHOLDER = 'REPLACE_WITH_OWNER';

/** A Markdown text without its fenced code blocks and inline code, which hold no links. */
function withoutCode(markdown) {
	return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** Link and image targets: [text](target), ![alt](target), <https://…> and HTML href/src. */
function linkTargets(markdown) {
	const text = withoutCode(markdown);
	return [
		...[...text.matchAll(/!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map(
			(match) => match[1],
		),
		...[...text.matchAll(/<(https?:\/\/[^>\s]+)>/g)].map((match) => match[1]),
		...[...text.matchAll(/\b(?:href|src)\s*=\s*["']([^"']+)["']/gi)].map((match) => match[1]),
	];
}

/** The ids GitHub and npm give a Markdown file's headings (without npm's `user-content-`). */
function headingSlugs(markdown) {
	const slugs = new Set();
	const seen = new Map();
	const body = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
	for (const [, heading] of body.matchAll(/^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$/gm)) {
		const text = heading
			.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
			.replace(/<[^>]+>/g, '')
			.replace(/[`*]/g, '');
		const base = text
			.toLowerCase()
			.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
			.replace(/ /g, '-');
		const count = seen.get(base) ?? 0;
		seen.set(base, count + 1);
		slugs.add(count === 0 ? base : `${base}-${count}`);
	}
	return slugs;
}

/** The files `npm pack` would ship, as paths inside the package. */
function shippedFiles() {
	const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
		cwd: packageFolder,
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	return new Set(JSON.parse(output)[0].files.map((file) => file.path));
}

const readme = readFileSync(join(packageFolder, 'README.md'), 'utf8');
const readmeSlugs = headingSlugs(readme);
let shipped;
const problems = [];

/** What is wrong with a link to the README on npm or to a file jsDelivr serves; null if fine. */
function packageLinkProblem(target) {
	if (target.includes(PLACEHOLDER)) {
		return `leads to the placeholder repository ${PLACEHOLDER}, a 404 for every user`;
	}
	const [address, anchor] = target.split('#', 2);
	if (address === README_URL || address === `${README_URL}/`) {
		if (anchor === undefined || anchor === 'readme') return null;
		if (!anchor.startsWith('user-content-')) {
			return `anchor #${anchor}: npm's id for a heading is #user-content-<slug>`;
		}
		const slug = anchor.slice('user-content-'.length);
		return readmeSlugs.has(slug)
			? null
			: `anchor #${anchor}: no README heading has the slug ${slug}`;
	}
	if (address.startsWith(FILE_URL)) {
		if (anchor !== undefined) return `anchor #${anchor}: jsDelivr serves the file as text`;
		const path = address.slice(FILE_URL.length);
		shipped ??= shippedFiles();
		return shipped.has(path)
			? null
			: `${path} is not in the package (\`npm pack\` ships no such file)`;
	}
	if (
		address.startsWith('https://www.npmjs.com/package/') ||
		address.startsWith(FILE_URL.slice(0, -1))
	) {
		return `not ${README_URL} or ${FILE_URL}<file>`;
	}
	return null;
}

for (const target of linkTargets(readme)) {
	const problem = /^https:\/\//.test(target)
		? packageLinkProblem(target)
		: /^mailto:/.test(target)
			? null
			: 'not absolute: npm shows the README without the repository around it';
	if (problem) problems.push(`README.md: ${target}: ${problem}`);
}
if (/<img\s/i.test(withoutCode(readme))) {
	problems.push('README.md: an HTML <img>: use Markdown images with absolute addresses');
}

const docsFolder = join(packageFolder, 'docs');
const docs = existsSync(docsFolder)
	? readdirSync(docsFolder).filter((file) => file.endsWith('.md'))
	: [];
for (const file of docs) {
	const path = join(docsFolder, file);
	for (const target of linkTargets(readFileSync(path, 'utf8'))) {
		let problem = null;
		if (/^https?:\/\//.test(target)) {
			problem = packageLinkProblem(target);
		} else if (!/^mailto:/.test(target)) {
			const [address, anchor] = target.split('#', 2);
			const linked = address === '' ? path : normalize(join(docsFolder, address));
			if (!existsSync(linked)) {
				problem = `${relative(packageFolder, linked)} does not exist`;
			} else if (anchor !== undefined && linked.endsWith('.md')) {
				if (!headingSlugs(readFileSync(linked, 'utf8')).has(anchor)) {
					problem = `anchor #${anchor}: no heading of ${relative(packageFolder, linked)} has that slug`;
				}
			}
		}
		if (problem) problems.push(`docs/${file}: ${target}: ${problem}`);
	}
}

const codexFile = join(packageFolder, 'nodes', 'Twin24', 'Twin24.node.json');
const codex = JSON.parse(readFileSync(codexFile, 'utf8'));
const codexLinks = Object.values(codex.resources ?? {}).flatMap((links) =>
	links.map((link) => link.url),
);
const credentialFile = join(packageFolder, 'credentials', 'Twin24Api.credentials.ts');
const credentialLinks = [
	...readFileSync(credentialFile, 'utf8').matchAll(/documentationUrl\s*=\s*'([^']+)'/g),
].map((match) => match[1]);
if (credentialLinks.length === 0) {
	problems.push('credentials/Twin24Api.credentials.ts: no documentationUrl');
}
for (const [file, links] of [
	['nodes/Twin24/Twin24.node.json', codexLinks],
	['credentials/Twin24Api.credentials.ts', credentialLinks],
]) {
	for (const target of links) {
		const problem = target.startsWith(README_URL)
			? packageLinkProblem(target)
			: `not ${README_URL}#user-content-<heading>, the README every user of the package can open`;
		if (problem) problems.push(`${file}: ${target}: ${problem}`);
	}
}

if (problems.length > 0) {
	console.error('check:links: links that do not work for everyone who installs the package:');
	for (const problem of problems) console.error(`  - ${problem}`);
	process.exitCode = 1;
} else {
	console.log(
		`check:links: README.md, ${docs.length} docs pages, the codex file and the credential: every link resolves`,
	);
}
