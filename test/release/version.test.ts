/** One version for the server, the image and the chart, and a CHANGELOG entry for it. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

const packageVersion = (JSON.parse(read('package.json')) as { version: string }).version;
const chart = parseYaml(read('charts/dapr-guard/Chart.yaml')) as { version: unknown; appVersion: unknown };
const changelog = read('CHANGELOG.md');

/** `## [x.y.z] - YYYY-MM-DD` headings, newest first. */
const releases = [...changelog.matchAll(/^## \[(\d+\.\d+\.\d+(?:-[0-9A-Z.-]+)?)\] - (\d{4}-\d{2}-\d{2})$/gim)].map(
  (match) => ({ version: match[1] ?? '', date: match[2] ?? '' }),
);

describe('release version', () => {
  it('package.json has a semantic version', () => {
    assert.match(packageVersion, /^\d+\.\d+\.\d+(?:-[0-9A-Z.-]+)?$/i);
  });

  it('Chart.yaml appVersion and version are the package version (a string, as helm wants)', () => {
    assert.equal(chart.appVersion, packageVersion);
    assert.equal(chart.version, packageVersion);
  });

  it('CHANGELOG.md opens with Unreleased, then a section for the package version', () => {
    const headings = [...changelog.matchAll(/^## .*$/gm)].map((match) => match[0]);
    assert.ok(headings.length >= 2);
    assert.equal(headings[0], '## [Unreleased]');
    assert.ok(releases.length > 0, 'at least one released version');
    assert.equal(releases[0]?.version, packageVersion, 'the newest release section is the package version');
  });

  it('CHANGELOG.md links every version it names', () => {
    const names = ['Unreleased', ...releases.map((release) => release.version)];
    assert.equal(names.length, releases.length + 1);
    for (const name of names)
      assert.match(changelog, new RegExp(`^\\[${name.replace(/\./g, '\\.')}\\]: https://`, 'm'), name);
  });

  it('release dates do not go backwards', () => {
    const dates = releases.map((release) => release.date);
    assert.deepEqual([...dates].sort().reverse(), dates);
  });
});

describe('README: release procedure and supported versions', () => {
  const readme = read('README.md');
  const releaseSection = readme.slice(readme.indexOf('\n## Release\n'));

  it('has a Release section with every step a platform engineer needs', () => {
    assert.ok(readme.includes('\n## Release\n'));
    const steps = [
      'npm version',
      'appVersion',
      'docker build',
      'docker push',
      'kind load docker-image',
      'helm package',
      'helm repo index',
      '--set image.repository=',
    ];
    assert.equal(steps.length, 8);
    for (const step of steps) assert.ok(releaseSection.includes(step), step);
  });

  it('says plainly that the default image cannot be pulled yet', () => {
    const repository = (parseYaml(read('charts/dapr-guard/values.yaml')) as { image: { repository: string } }).image
      .repository;
    assert.ok(releaseSection.includes(`\`${repository}:<appVersion>\`, is not published yet: it\ncannot be pulled`));
  });

  it('names the supported Dapr versions', () => {
    assert.match(readme, /\*\*Dapr 1\.15, 1\.16, 1\.17 and 1\.18\.\*\*/);
  });
});
