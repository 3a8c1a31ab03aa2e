// Validates GitHub Actions workflow files against the GitHub workflow JSON schema (SchemaStore's,
// compiled into @action-validator/core), offline. A misspelt key, a wrong permission value or a
// step with both `uses` and `run` fails here rather than on GitHub after a push.
//
//   node scripts/check-workflows.mjs [workflow.yml ...]   (default: every file in .github/workflows)
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { validateWorkflow } from '@action-validator/core';

const repository = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const workflowFolder = join(repository, '.github', 'workflows');

function defaultWorkflows() {
	return readdirSync(workflowFolder)
		.filter((file) => /\.ya?ml$/.test(file))
		.map((file) => join(workflowFolder, file));
}

/** The innermost errors of a schema result: where one-of branches nest, their leaves. */
function leafErrors(errors) {
	return errors.flatMap((error) =>
		error.states ? error.states.flatMap((state) => leafErrors(state.errors)) : [error],
	);
}

function describe(error) {
	const where = error.path ?? (error.location ? `line ${error.location.line}` : '');
	return `${where} ${error.title}${error.detail ? `: ${error.detail}` : ''}`.trim();
}

const files =
	process.argv.length > 2 ? process.argv.slice(2).map((file) => resolve(file)) : defaultWorkflows();
if (files.length === 0) {
	console.error('No workflow files found');
	process.exitCode = 1;
}
for (const file of files) {
	const { errors } = validateWorkflow(readFileSync(file, 'utf8'));
	const name = relative(repository, file);
	if (errors.length === 0) {
		console.log(`workflow schema: ${name} valid`);
		continue;
	}
	process.exitCode = 1;
	console.log(`workflow schema: ${name} INVALID`);
	for (const message of new Set(leafErrors(errors).map(describe))) console.log(`  ${message}`);
}
