const path = require('path');
const { src, dest } = require('gulp');

/** tsc builds the code into dist/; n8n also needs the icons and the codex file (*.node.json) beside it. */
function buildIcons() {
	return src(['nodes/**/*.{png,svg,json}', 'credentials/**/*.{png,svg}'], {
		base: '.',
		encoding: false,
	}).pipe(dest(path.resolve('dist')));
}

exports['build:icons'] = buildIcons;
